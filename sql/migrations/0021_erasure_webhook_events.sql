-- 0021 erasure: webhook events by whole address
--
-- Erasure matched the erased address as a substring of each webhook payload's text, so erasing
-- al@x.io also deleted hal@x.io's events, and it deleted failed events still due for a retry
-- (issue 14, item 4). Now an event names the erased user when one of its JSON strings (at any
-- depth: customer_email, customer_details.email, to, metadata.user_id, a subject line...) holds
-- their address as a whole address, in any case and with or without a display name around it,
-- or their id as a whole uuid; hal@x.io, al@x.io.example or bob+al@x.io do not name al@x.io.
--   processed / ignored events that name them  deleted, as before
--   pending / failed events that name them      kept for their retry, every string that names
--                                               them (a display name next to the address goes
--                                               too) replaced by '[erased]'; the audit counts them
--                                               as system_webhook_events_anonymised
-- The rest of private.erase_user_data is 0015's, plus the user's comms_notifications (0020).
-- Object keys and last_error are not rewritten: the intake never puts an address or id there.

-- A case-insensitive regular expression that finds `address` as a whole address (not preceded
-- or followed by characters that would make it part of a longer one) or `person` as a whole
-- uuid; the address part is left out when there is none.
create or replace function private.mention_pattern(address text, person uuid) returns text
language sql immutable
set search_path = ''
as $$
  select concat_ws('|',
    '(?<![^[:space:]<>()\[\],;:"''/=])'
      || regexp_replace(address, '([^A-Za-z0-9\u0080-\U0010ffff])', '\\\1', 'g')
      || '(?![^[:space:]<>()\[\],;:"''/?#&.]|\.[^[:space:]<>()\[\],;:"''/?#&.])',
    '(?<![0-9A-Fa-f-])' || person::text || '(?![0-9A-Fa-f-])'
  )
$$;

-- Whether any string in `document`, at any depth, matches `pattern` (case-insensitively). The
-- document's text must first contain one of `sieve` (lower-case; null entries match nothing): a
-- cheap test that spares the walk for the documents that cannot match.
create or replace function private.json_mentions(document jsonb, sieve text[], pattern text) returns boolean
language sql immutable
set search_path = ''
as $$
  select exists (select 1 from unnest(sieve) as s(needle) where strpos(lower(document::text), s.needle) > 0)
     and exists (
       select 1 from jsonb_path_query(document, 'strict $.**') as v(item)
       where jsonb_typeof(v.item) = 'string' and (v.item #>> '{}') ~* pattern
     )
$$;

-- `document` with every string that matches `pattern` replaced by '[erased]'.
create or replace function private.json_redact(document jsonb, pattern text) returns jsonb
language sql immutable
set search_path = ''
as $$
  select case jsonb_typeof(document)
    when 'string' then case when (document #>> '{}') ~* pattern then '"[erased]"'::jsonb else document end
    when 'object' then coalesce(
      (select jsonb_object_agg(e.key, private.json_redact(e.value, pattern)) from jsonb_each(document) e),
      '{}'::jsonb)
    when 'array' then coalesce(
      (select jsonb_agg(private.json_redact(e.value, pattern) order by e.position)
       from jsonb_array_elements(document) with ordinality as e(value, position)),
      '[]'::jsonb)
    else document
  end
$$;

revoke execute on function private.mention_pattern(text, uuid) from public, anon, authenticated;
revoke execute on function private.json_mentions(jsonb, text[], text) from public, anon, authenticated;
revoke execute on function private.json_redact(jsonb, text) from public, anon, authenticated;

create or replace function private.erase_user_data(erased_user uuid) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  erased_email text;
  email_in_json text;
  mention text;
  owned record;
  successor uuid;
  counts jsonb := '{"workspaces_transferred": 0}'::jsonb;
  n integer;
begin
  select coalesce(p.email, u.email) into erased_email
  from auth.users u full join public.user_profiles p on p.id = u.id
  where coalesce(u.id, p.id) = erased_user;
  -- The address as it appears inside JSON text (quotes and backslashes escaped), lower-case, for
  -- the sieve; null (matching nothing) when there is no address.
  email_in_json := lower(substr(to_jsonb(erased_email)::text, 2, char_length(to_jsonb(erased_email)::text) - 2));

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

  -- Webhook payloads name people by address and id. Only events with a string naming this user
  -- as a whole count: finished ones go, unfinished ones stay for their retry with those strings
  -- replaced.
  mention := private.mention_pattern(erased_email, erased_user);
  with gone as (
    delete from public.system_webhook_events t
    where t.status in ('processed', 'ignored')
      and private.json_mentions(t.payload, array[erased_user::text, email_in_json], mention)
    returning 1
  ) select count(*) into n from gone;
  counts := counts || jsonb_build_object('system_webhook_events', n);

  with kept as (
    update public.system_webhook_events t
    set payload = private.json_redact(t.payload, mention)
    where t.status in ('pending', 'failed')
      and private.json_mentions(t.payload, array[erased_user::text, email_in_json], mention)
    returning 1
  ) select count(*) into n from kept;
  counts := counts || jsonb_build_object('system_webhook_events_anonymised', n);

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

  with gone as (delete from public.comms_notifications t where t.user_id = erased_user returning 1)
  select count(*) into n from gone;
  counts := counts || jsonb_build_object('comms_notifications', n);

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
