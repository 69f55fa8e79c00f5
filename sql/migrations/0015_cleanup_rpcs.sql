-- 0015 cleanup RPCs
--
-- The cron jobs' database half. Each job is one call, bounded by batch_size, idempotent (a
-- second run finds nothing left to do) and safe next to another run (FOR UPDATE SKIP LOCKED).
-- All executable by maintenance (and service_role) only, returning counts as jsonb; the edge
-- writes one run summary with write_system_log (0011).
--
--   cleanup_due_erasures(batch_size int default 10) returns jsonb {"erased", "failed"}
--     GDPR erasure of users whose system_scheduled_deletions row is due. Each user in its own
--     sub-transaction: all of their data goes or none of it (a failure leaves the row pending
--     with attempts + 1 and last_error, retried on the next run). See erase_user_data.
--   cleanup_expired_tokens(batch_size int default 1000) returns jsonb {"reset_tokens", "invitations"}
--     Reset tokens expired or used; invitations pending past expires_at, revoked or expired.
--   cleanup_system_logs(batch_size int default 5000) returns jsonb {"deleted", "by_level": {...}}
--     system_logs older than their level's retention_days in system_logs_settings.
--   cleanup_rate_limit_counters(batch_size int default 5000) returns jsonb {"deleted"}
--     Counters whose theoretical arrival time has passed (the same state as no row).
--   cleanup_webhook_events(batch_size int default 1000, retention_days int default 30)
--     returns jsonb {"deleted"}: processed and ignored inbox rows past the retention.
--   list_leads_due_for_rescoring(batch_size int default 500, older_than_days int default 7)
--     returns setof jsonb: non-deleted leads never scored or scored before now - N days,
--     stalest first, each the crm_leads row plus "notes_count"; the edge scores them and writes
--     the result with apply_lead_scores (0016), which maintenance may call.
--   (Webhook retries: retry_due_webhook_events / list_webhook_events_due_for_retry, 0014.
--    API-key rotation: maintenance selects and updates security_api_keys' key columns directly.)
--
-- For users:
--   request_account_deletion(reason text default null, delay_days int default 30)
--     returns system_scheduled_deletions: authenticated; schedules (or reschedules) the caller's
--     own erasure. cancel_account_deletion() returns boolean: cancels a pending one.

-- erasure ------------------------------------------------------------------------------------

-- Deletes or anonymises everything that is `erased_user`'s, and returns row counts per category.
-- Shared workspaces survive: ownership passes to the longest-standing member with the highest
-- role, and the erased user's leads and contacts there are reassigned to the (new) owner; workspaces
-- nobody else belongs to are deleted with all their data. Internal: no API role may call it.
create or replace function private.erase_user_data(erased_user uuid) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  erased_email text;
  owned record;
  successor uuid;
  counts jsonb := '{"workspaces_transferred": 0}'::jsonb;
  n integer;
begin
  select coalesce(p.email, u.email) into erased_email
  from auth.users u full join public.user_profiles p on p.id = u.id
  where coalesce(u.id, p.id) = erased_user;

  -- Workspaces the erased_user owns: hand over or delete.
  n := 0;
  for owned in select w.id from public.workspaces w where w.owner_id = erased_user for update loop
    select m.user_id into successor
    from public.workspace_members m
    where m.workspace_id = owned.id and m.user_id <> erased_user
    order by m.role desc, m.created_at, m.user_id
    limit 1;

    if successor is null then
      delete from public.workspaces w where w.id = owned.id;
      n := n + 1;
    else
      update public.workspaces w set owner_id = successor, is_personal = false where w.id = owned.id;
      update public.workspace_members m set role = 'owner'
      where m.workspace_id = owned.id and m.user_id = successor;
      counts := counts || jsonb_build_object('workspaces_transferred', (counts ->> 'workspaces_transferred')::integer + 1);
    end if;
  end loop;
  counts := counts || jsonb_build_object('workspaces_deleted', n);

  -- What they created in workspaces that live on now belongs to each workspace's owner.
  with moved as (
    update public.crm_leads l set user_id = w.owner_id
    from public.workspaces w
    where l.workspace_id = w.id and l.user_id = erased_user
    returning 1
  ) select count(*) into n from moved;
  counts := counts || jsonb_build_object('crm_leads_reassigned', n);

  with moved as (
    update public.crm_contacts c set user_id = w.owner_id
    from public.workspaces w
    where c.workspace_id = w.id and c.user_id = erased_user
    returning 1
  ) select count(*) into n from moved;
  counts := counts || jsonb_build_object('crm_contacts_reassigned', n);

  with gone as (delete from public.crm_lead_notes t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('crm_lead_notes', n);

  with gone as (delete from public.deals t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('deals', n);

  with gone as (delete from public.re_documents t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('re_documents', n);

  with gone as (delete from public.re_properties t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('re_properties', n);

  with gone as (delete from public.security_api_keys t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('security_api_keys', n);

  with gone as (delete from public.security_event_logs t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('security_event_logs', n);

  with gone as (delete from public.security_reset_tokens t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('security_reset_tokens', n);

  with gone as (delete from public.billing_subscription_events t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('billing_subscription_events', n);

  with gone as (delete from public.billing_stripe_customers t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('billing_stripe_customers', n);

  with gone as (delete from public.user_subscriptions t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('user_subscriptions', n);

  with gone as (delete from public.user_plans t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('user_plans', n);

  with gone as (
    delete from public.comms_email_logs t
    where t.user_id = erased_user or (erased_email is not null and lower(t.to_email) = lower(erased_email))
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('comms_email_logs', n);

  with gone as (
    delete from public.workspace_invitations t
    where erased_email is not null and lower(t.email) = lower(erased_email)
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('workspace_invitations', n);

  with gone as (delete from public.workspace_members t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('workspace_members', n);

  -- Webhook payloads and limiter keys can carry the id or address.
  with gone as (
    delete from public.system_webhook_events t
    where strpos(t.payload::text, erased_user::text) > 0
       or (erased_email is not null and strpos(lower(t.payload::text), lower(erased_email)) > 0)
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('system_webhook_events', n);

  with gone as (
    delete from public.system_rate_limit_counters t
    where strpos(t.identifier, erased_user::text) > 0
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('system_rate_limit_counters', n);

  -- Earlier, cancelled requests name the user too; the pending one is closed by the caller.
  with gone as (
    delete from public.system_scheduled_deletions t
    where t.user_id = erased_user and t.status = 'cancelled'
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('system_scheduled_deletions', n);
  update public.system_scheduled_deletions t set requested_by = null where t.requested_by = erased_user;

  with gone as (delete from public.user_email_preferences t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('user_email_preferences', n);

  with gone as (delete from public.user_onboarding_status t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('user_onboarding_status', n);

  with gone as (delete from public.user_profiles t where t.id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('user_profiles', n);

  -- On Supabase the function owner (postgres) may delete from auth.users; GoTrue's other auth.*
  -- rows (identities, sessions...) cascade from it.
  with gone as (delete from auth.users t where t.id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('auth_users', n);

  return counts;
end
$$;

revoke execute on function private.erase_user_data(uuid) from public, anon, authenticated;

create or replace function public.cleanup_due_erasures(batch_size integer default 10) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  due public.system_scheduled_deletions;
  row_counts jsonb;
  erased integer := 0;
  failed integer := 0;
  error_text text;
begin
  if batch_size is null or batch_size < 1 or batch_size > 1000 then
    raise exception 'batch_size must be between 1 and 1000' using errcode = '22023';
  end if;

  for due in
    select * from public.system_scheduled_deletions d
    where d.status = 'pending' and d.scheduled_for <= now()
    order by d.scheduled_for
    limit batch_size
    for update skip locked
  loop
    begin
      row_counts := private.erase_user_data(due.user_id);

      insert into public.system_deletion_audits (deletion_id, subject_hash, erased_at, categories, row_counts)
      values (
        due.id,
        encode(sha256(convert_to(due.user_id::text, 'UTF8')), 'hex'),
        now(),
        array(select key from jsonb_each_text(row_counts) where value::integer > 0 order by key),
        row_counts
      );

      update public.system_scheduled_deletions d
      set status = 'completed', completed_at = now(), user_id = null, requested_by = null,
          reason = null, last_error = null, attempts = d.attempts + 1
      where d.id = due.id;
      erased := erased + 1;
    exception when others then
      get stacked diagnostics error_text = message_text;
      update public.system_scheduled_deletions d
      set attempts = d.attempts + 1, last_error = left(error_text, 2000)
      where d.id = due.id;
      failed := failed + 1;
    end;
  end loop;

  return jsonb_build_object('erased', erased, 'failed', failed);
end
$$;

revoke execute on function public.cleanup_due_erasures(integer) from public, anon, authenticated;
grant execute on function public.cleanup_due_erasures(integer) to maintenance, service_role;

-- tokens and invitations ---------------------------------------------------------------------

create or replace function public.cleanup_expired_tokens(batch_size integer default 1000) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  tokens integer;
  invitations integer;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;

  with gone as (
    delete from public.security_reset_tokens t
    where t.id in (
      select r.id from public.security_reset_tokens r
      where r.expires_at <= now() or r.used_at is not null
      order by r.expires_at
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into tokens from gone;

  with gone as (
    delete from public.workspace_invitations t
    where t.id in (
      select i.id from public.workspace_invitations i
      where (i.status = 'pending' and i.expires_at <= now()) or i.status in ('revoked', 'expired')
      order by i.expires_at
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into invitations from gone;

  return jsonb_build_object('reset_tokens', tokens, 'invitations', invitations);
end
$$;

revoke execute on function public.cleanup_expired_tokens(integer) from public, anon, authenticated;
grant execute on function public.cleanup_expired_tokens(integer) to maintenance, service_role;

-- logs ---------------------------------------------------------------------------------------

create or replace function public.cleanup_system_logs(batch_size integer default 5000) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  setting public.system_logs_settings;
  budget integer := batch_size;
  n integer;
  by_level jsonb := '{}'::jsonb;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;

  for setting in select * from public.system_logs_settings s order by s.level loop
    exit when budget <= 0;
    with gone as (
      delete from public.system_logs l
      where l.id in (
        select x.id from public.system_logs x
        where x.level = setting.level
          and x.created_at < now() - make_interval(days => setting.retention_days)
        order by x.created_at
        limit budget
        for update skip locked
      )
      returning 1
    ) select count(*) into n from gone;
    budget := budget - n;
    by_level := by_level || jsonb_build_object(setting.level::text, n);
  end loop;

  return jsonb_build_object('deleted', batch_size - budget, 'by_level', by_level);
end
$$;

revoke execute on function public.cleanup_system_logs(integer) from public, anon, authenticated;
grant execute on function public.cleanup_system_logs(integer) to maintenance, service_role;

-- rate-limit counters ------------------------------------------------------------------------

create or replace function public.cleanup_rate_limit_counters(batch_size integer default 5000) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;

  -- A passed arrival time means a full budget, exactly what a missing row means. The row lock
  -- (skip locked) keeps this away from a counter check_rate_limit is updating right now.
  with gone as (
    delete from public.system_rate_limit_counters c
    where (c.identifier, c.endpoint) in (
      select x.identifier, x.endpoint from public.system_rate_limit_counters x
      where x.theoretical_arrival_at < now()
      order by x.theoretical_arrival_at
      limit batch_size
      for update skip locked
    )
    and c.theoretical_arrival_at < now()
    returning 1
  ) select count(*) into n from gone;

  return jsonb_build_object('deleted', n);
end
$$;

revoke execute on function public.cleanup_rate_limit_counters(integer) from public, anon, authenticated;
grant execute on function public.cleanup_rate_limit_counters(integer) to maintenance, service_role;

-- webhook inbox retention --------------------------------------------------------------------

create or replace function public.cleanup_webhook_events(
  batch_size integer default 1000,
  retention_days integer default 30
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;
  if retention_days is null or retention_days < 1 then
    raise exception 'retention_days must be at least 1' using errcode = '22023';
  end if;

  with gone as (
    delete from public.system_webhook_events e
    where e.id in (
      select x.id from public.system_webhook_events x
      where x.status in ('processed', 'ignored')
        and x.processed_at < now() - make_interval(days => retention_days)
      order by x.processed_at
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into n from gone;

  return jsonb_build_object('deleted', n);
end
$$;

revoke execute on function public.cleanup_webhook_events(integer, integer) from public, anon, authenticated;
grant execute on function public.cleanup_webhook_events(integer, integer) to maintenance, service_role;

-- lead re-scoring ----------------------------------------------------------------------------

create or replace function public.list_leads_due_for_rescoring(
  batch_size integer default 500,
  older_than_days integer default 7
) returns setof jsonb
language plpgsql stable security definer
set search_path = ''
as $$
begin
  if batch_size is null or batch_size < 1 or batch_size > 10000 then
    raise exception 'batch_size must be between 1 and 10000' using errcode = '22023';
  end if;
  if older_than_days is null or older_than_days < 0 then
    raise exception 'older_than_days must be 0 or more' using errcode = '22023';
  end if;

  return query
  select to_jsonb(l) || jsonb_build_object(
           'notes_count', (select count(*) from public.crm_lead_notes n where n.lead_id = l.id)
         )
  from public.crm_leads l
  where l.is_deleted = false
    and (l.scored_at is null or l.scored_at < now() - make_interval(days => older_than_days))
  order by l.scored_at nulls first, l.id
  limit batch_size;
end
$$;

revoke execute on function public.list_leads_due_for_rescoring(integer, integer) from public, anon, authenticated;
grant execute on function public.list_leads_due_for_rescoring(integer, integer) to maintenance, service_role;

-- account deletion requests ------------------------------------------------------------------

create or replace function public.request_account_deletion(
  reason text default null,
  delay_days integer default 30
) returns public.system_scheduled_deletions
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  scheduled public.system_scheduled_deletions;
begin
  if auth.uid() is null then
    raise exception 'the token has no subject' using errcode = '28000';
  end if;
  if delay_days is null or delay_days < 0 or delay_days > 365 then
    raise exception 'delay_days must be between 0 and 365' using errcode = '22023';
  end if;

  insert into public.system_scheduled_deletions as d (user_id, requested_by, reason, scheduled_for)
  values (auth.uid(), auth.uid(), left(request_account_deletion.reason, 500), now() + make_interval(days => delay_days))
  on conflict (user_id) where status = 'pending' do update
    set scheduled_for = excluded.scheduled_for, reason = excluded.reason
  returning * into scheduled;
  return scheduled;
end
$$;

revoke execute on function public.request_account_deletion(text, integer) from public, anon, authenticated;
grant execute on function public.request_account_deletion(text, integer) to authenticated, service_role;

create or replace function public.cancel_account_deletion() returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  update public.system_scheduled_deletions d
  set status = 'cancelled'
  where d.user_id = auth.uid() and d.status = 'pending';
  get diagnostics n = row_count;
  return n > 0;
end
$$;

revoke execute on function public.cancel_account_deletion() from public, anon, authenticated;
grant execute on function public.cancel_account_deletion() to authenticated, service_role;
