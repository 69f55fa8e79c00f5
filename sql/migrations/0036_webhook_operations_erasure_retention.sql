-- 0036 webhook operations: erasure and retention of what the operator tables hold
--
-- 0030-0034 added places where a person can be named outside a payload: an operator's free-text
-- resolution reason (on the event and in the audit), the last error a user-named source function
-- raised (on the event, and copied into its alert's details), and events an operator resolved
-- by hand, which 0021's erasure neither deletes nor anonymises. And three tables grew without
-- bound. Now:
--
-- private.erase_webhook_operations_data(erased_user uuid) returns jsonb
--   Run by cleanup_due_erasures just before private.erase_user_data (which deletes the auth row
--   the address is read from). With 0021's whole-address / whole-uuid pattern:
--     resolved events whose payload names the user      deleted, like processed ones
--     events' resolution and last_error naming the user  replaced by '[erased]'
--     alerts' details naming the user, or about an event whose payload does
--                                                        strings redacted, last_error dropped
--     operator audit reasons / filters naming the user   replaced by '[erased]' / redacted
--   Counts go into the deletion audit next to 0021's (webhook_events_resolved_deleted,
--   webhook_operations_anonymised).
-- cleanup_webhook_events(batch_size, retention_days) returns {"deleted": n, "by_table": {...}}
--   0035's event retention, plus, each at most batch_size rows a call: sent and failed alerts
--   and reconcile runs older than retention_days (the newest successful run of each provider
--   stays: the next run's window starts from it), and operator audit rows older than 365 days.
--   `deleted` is their sum, so the cleanup job calls again while any table had more.

create or replace function private.erase_webhook_operations_data(erased_user uuid) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  erased_email text;
  email_in_json text;
  mention text;
  sieve text[];
  n integer;
  counts jsonb := '{}'::jsonb;
begin
  select coalesce(p.email, u.email) into erased_email
  from auth.users u full join public.user_profiles p on p.id = u.id
  where coalesce(u.id, p.id) = erased_user;
  email_in_json := lower(substr(to_jsonb(erased_email)::text, 2, char_length(to_jsonb(erased_email)::text) - 2));
  mention := private.mention_pattern(erased_email, erased_user);
  sieve := array[erased_user::text, email_in_json];

  -- Alerts first: deleting an event sets its alerts' event to null, and the link is how an alert
  -- about one of the user's events is found.
  with touched as (
    update public.system_webhook_alerts a
    set details = private.json_redact(a.details, mention) - 'last_error'
    where private.json_mentions(a.details, sieve, mention)
       or exists (select 1 from public.system_webhook_events e
                  where e.id = a.event and private.json_mentions(e.payload, sieve, mention))
    returning 1
  ) select count(*) into n from touched;

  with touched as (
    update public.system_webhook_events e
    set resolution = case when e.resolution ~* mention then '[erased]' else e.resolution end,
        last_error = case when e.last_error ~* mention then '[erased]' else e.last_error end
    where e.resolution ~* mention or e.last_error ~* mention
    returning 1
  ) select n + count(*) into n from touched;

  with touched as (
    update public.system_webhook_operator_actions o
    set reason = case when o.reason ~* mention then '[erased]' else o.reason end,
        filter = private.json_redact(o.filter, mention)
    where o.reason ~* mention or private.json_mentions(o.filter, sieve, mention)
    returning 1
  ) select n + count(*) into n from touched;
  counts := counts || jsonb_build_object('webhook_operations_anonymised', n);

  with gone as (
    delete from public.system_webhook_events e
    where e.status = 'resolved' and private.json_mentions(e.payload, sieve, mention)
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('webhook_events_resolved_deleted', n);

  return counts;
end
$$;

revoke execute on function private.erase_webhook_operations_data(uuid) from public, anon, authenticated;

-- 0015's cleanup_due_erasures, with the step above before private.erase_user_data.
create or replace function public.cleanup_due_erasures(batch_size integer default 10) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  due public.system_scheduled_deletions;
  operations_counts jsonb;
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
      operations_counts := private.erase_webhook_operations_data(due.user_id);
      row_counts := private.erase_user_data(due.user_id) || operations_counts;

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

create or replace function public.cleanup_webhook_events(
  batch_size integer default 1000,
  retention_days integer default 30
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  events_deleted integer;
  alerts_deleted integer;
  runs_deleted integer;
  audit_deleted integer;
  cutoff timestamptz;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;
  if retention_days is null or retention_days < 1 then
    raise exception 'retention_days must be at least 1' using errcode = '22023';
  end if;
  cutoff := now() - make_interval(days => retention_days);

  with gone as (
    delete from public.system_webhook_events e
    where e.id in (
      select x.id from public.system_webhook_events x
      where (x.status in ('processed', 'ignored') and x.processed_at < cutoff)
         or (x.status = 'resolved' and x.resolved_at < cutoff)
      order by coalesce(x.processed_at, x.resolved_at)
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into events_deleted from gone;

  with gone as (
    delete from public.system_webhook_alerts a
    where a.id in (
      select x.id from public.system_webhook_alerts x
      where x.status in ('sent', 'failed') and x.created_at < cutoff
      order by x.created_at
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into alerts_deleted from gone;

  with newest_good as (
    select distinct on (r.provider) r.id
    from public.system_webhook_reconcile_runs r
    where r.finished_at is not null and r.error is null
    order by r.provider, r.started_at desc
  ), gone as (
    delete from public.system_webhook_reconcile_runs r
    where r.id in (
      select x.id from public.system_webhook_reconcile_runs x
      where x.started_at < cutoff and x.id not in (select id from newest_good)
      order by x.started_at
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into runs_deleted from gone;

  with gone as (
    delete from public.system_webhook_operator_actions o
    where o.id in (
      select x.id from public.system_webhook_operator_actions x
      where x.created_at < now() - interval '365 days'
      order by x.created_at
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into audit_deleted from gone;

  return jsonb_build_object(
    'deleted', events_deleted + alerts_deleted + runs_deleted + audit_deleted,
    'by_table', jsonb_build_object(
      'system_webhook_events', events_deleted,
      'system_webhook_alerts', alerts_deleted,
      'system_webhook_reconcile_runs', runs_deleted,
      'system_webhook_operator_actions', audit_deleted));
end
$$;

revoke execute on function public.cleanup_webhook_events(integer, integer) from public, anon, authenticated;
grant execute on function public.cleanup_webhook_events(integer, integer) to maintenance, service_role;
