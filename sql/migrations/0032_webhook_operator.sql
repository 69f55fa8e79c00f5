-- 0032 webhook operator API
--
-- What an operator needs around the inbox (issue 19): see what failed, replay it, close it by
-- hand, with every action audited. Called by the webhooks function's operator endpoints
-- (GET/POST /functions/v1/webhooks/events...), which admit only privileged callers
-- (shared/src/privileged.rs) and then act as the maintenance role.
--
-- An event's operator status is its stored status, except that a failed event with no next
-- attempt (retries exhausted, or refused for good, 0025) is `given_up`:
--   pending, processed, ignored, failed (will be retried), given_up, resolved (closed by hand)
--
-- Filters (jsonb, every key optional): {"event": uuid, "provider": "stripe" | "resend" | a
-- source name, "status": one of the statuses above, "type": event type, "since": timestamptz,
-- "until": timestamptz (received_at, since inclusive, until exclusive), "limit": 1..500 (100)}.
-- Unknown keys or bad values: 22023 (400).
--
-- operator_list_webhook_events(filter jsonb, include_payload boolean, actor jsonb) returns jsonb
--   {"events": [{id, provider, event_id, type, status, attempts, last_error, received_at,
--   event_created_at, processed_at, next_attempt_at, resolved_at, resolution, payload?}]}
--   newest first; the payload only when include_payload.
-- operator_replay_webhook_events(filter jsonb, actor jsonb) returns jsonb
--   Re-applies the stored payload of each matching failed, given-up or ignored event through
--   the same processing as intake (process_webhook_event); a processed, resolved or pending
--   event is skipped, so replaying twice changes nothing the second time. A given-up event
--   that fails again stays given up. {"matched", "replayed", "processed", "ignored", "failed",
--   "skipped", "events": [{event, status, reason, error}]}
-- operator_resolve_webhook_event(event uuid, reason text, actor jsonb) returns jsonb
--   Closes a failed, given-up or ignored event: status resolved, resolved_at, resolution =
--   reason (1..500 characters), no further retries. A processed or resolved one: 22023.
-- actor: {"credential": the kind of credential that admitted the caller, "fingerprint": a
--   short hash of it (never the credential), "request_id"}.
--
-- Each call writes one row to system_webhook_operator_actions: who (credential kind and
-- fingerprint), when, what (action, filter, the inbox ids touched, counts, reason). No payload
-- and nothing from one. RLS on; only service_role reads it, nobody writes it but these
-- functions. All three functions: maintenance and service_role.

alter table public.system_webhook_events add column if not exists resolved_at timestamptz;
alter table public.system_webhook_events add column if not exists resolution text;

create index if not exists idx_system_webhook_events_received on public.system_webhook_events (received_at desc);

create table if not exists public.system_webhook_operator_actions (
  id uuid primary key default gen_random_uuid(),
  action text not null,
  credential text not null,
  fingerprint text,
  request_id text,
  filter jsonb not null default '{}'::jsonb,
  events uuid[] not null default '{}',
  outcome jsonb not null default '{}'::jsonb,
  reason text,
  created_at timestamptz not null default now(),
  constraint system_webhook_operator_actions_action_check check (action in ('list', 'replay', 'resolve', 'reconcile')),
  constraint system_webhook_operator_actions_credential_check check (char_length(credential) between 1 and 64),
  constraint system_webhook_operator_actions_reason_check check (reason is null or char_length(reason) between 1 and 500)
);

create index if not exists idx_system_webhook_operator_actions_created on public.system_webhook_operator_actions (created_at desc);

alter table public.system_webhook_operator_actions enable row level security;
revoke all on public.system_webhook_operator_actions from anon, authenticated, webhook_ingest, maintenance, rate_limiter;
grant select on public.system_webhook_operator_actions to service_role;

drop policy if exists "The service role reads the operator audit" on public.system_webhook_operator_actions;
create policy "The service role reads the operator audit" on public.system_webhook_operator_actions
  for select to service_role
  using (true);

-- helpers -------------------------------------------------------------------------------------

create or replace function private.webhook_operator_status(event public.system_webhook_events)
returns text
language sql immutable
set search_path = ''
as $$
  select case when event.status = 'failed' and event.next_attempt_at is null then 'given_up'
              else event.status::text end
$$;

-- The ids of the events a filter matches, newest first, at most its limit.
create or replace function private.webhook_events_matching(filter jsonb)
returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
declare
  unknown text;
  wanted_status text := filter ->> 'status';
  max_rows integer;
  since timestamptz;
  until timestamptz;
  single uuid;
begin
  if filter is null or jsonb_typeof(filter) <> 'object' then
    raise exception 'the filter must be a JSON object' using errcode = '22023';
  end if;
  select k into unknown from jsonb_object_keys(filter) k
  where k not in ('event', 'provider', 'status', 'type', 'since', 'until', 'limit') limit 1;
  if unknown is not null then
    raise exception 'unknown filter %; known: event, provider, status, type, since, until, limit', unknown
      using errcode = '22023';
  end if;
  if wanted_status is not null
     and wanted_status not in ('pending', 'processed', 'ignored', 'failed', 'given_up', 'resolved') then
    raise exception 'unknown status %; known: pending, processed, ignored, failed, given_up, resolved', wanted_status
      using errcode = '22023';
  end if;
  begin
    max_rows := coalesce((filter ->> 'limit')::integer, 100);
    since := (filter ->> 'since')::timestamptz;
    until := (filter ->> 'until')::timestamptz;
    single := (filter ->> 'event')::uuid;
  exception when others then
    raise exception 'the filter has a value of the wrong kind (limit: a number, since/until: timestamps, event: a uuid)'
      using errcode = '22023';
  end;
  if max_rows < 1 or max_rows > 500 then
    raise exception 'limit must be between 1 and 500' using errcode = '22023';
  end if;

  return array(
    select e.id from public.system_webhook_events e
    where (single is null or e.id = single)
      and (filter ->> 'provider' is null or coalesce(e.source, e.provider::text) = filter ->> 'provider')
      and (filter ->> 'type' is null or e.event_type = filter ->> 'type')
      and (wanted_status is null or private.webhook_operator_status(e) = wanted_status)
      and (since is null or e.received_at >= since)
      and (until is null or e.received_at < until)
    order by e.received_at desc, e.id
    limit max_rows
  );
end
$$;

create or replace function private.record_webhook_operator_action(
  action text, actor jsonb, filter jsonb, events uuid[], outcome jsonb, reason text default null
) returns void
language plpgsql security definer
set search_path = ''
as $$
begin
  if actor is null or coalesce(actor ->> 'credential', '') = '' then
    raise exception 'an operator action needs its actor (the credential kind that admitted the caller)'
      using errcode = '22023';
  end if;
  insert into public.system_webhook_operator_actions (action, credential, fingerprint, request_id, filter, events, outcome, reason)
  values (action, actor ->> 'credential', actor ->> 'fingerprint', actor ->> 'request_id',
          coalesce(filter, '{}'), coalesce(events, '{}'), coalesce(outcome, '{}'), reason);
end
$$;

revoke execute on function private.webhook_operator_status(public.system_webhook_events) from public, anon, authenticated;
revoke execute on function private.webhook_events_matching(jsonb) from public, anon, authenticated;
revoke execute on function private.record_webhook_operator_action(text, jsonb, jsonb, uuid[], jsonb, text) from public, anon, authenticated;

-- the operator's functions ---------------------------------------------------------------------

create or replace function public.operator_list_webhook_events(filter jsonb, include_payload boolean, actor jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  ids uuid[] := private.webhook_events_matching(filter);
  listed jsonb;
begin
  select coalesce(jsonb_agg(
           jsonb_build_object(
             'id', e.id, 'provider', coalesce(e.source, e.provider::text), 'event_id', e.event_id,
             'type', e.event_type, 'status', private.webhook_operator_status(e), 'attempts', e.attempts,
             'last_error', e.last_error, 'received_at', e.received_at, 'event_created_at', e.event_created_at,
             'processed_at', e.processed_at, 'next_attempt_at', e.next_attempt_at,
             'resolved_at', e.resolved_at, 'resolution', e.resolution)
           || case when coalesce(include_payload, false) then jsonb_build_object('payload', e.payload) else '{}' end
           order by e.received_at desc, e.id), '[]')
    into listed
  from public.system_webhook_events e
  where e.id = any(ids);
  perform private.record_webhook_operator_action(
    'list', actor, filter, '{}',
    jsonb_build_object('listed', jsonb_array_length(listed), 'payloads', coalesce(include_payload, false)));
  return jsonb_build_object('events', listed);
end
$$;

create or replace function public.operator_replay_webhook_events(filter jsonb, actor jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  ids uuid[] := private.webhook_events_matching(filter);
  stored public.system_webhook_events;
  was_given_up boolean;
  result jsonb;
  results jsonb := '[]';
  counts jsonb := '{"replayed": 0, "processed": 0, "ignored": 0, "failed": 0, "skipped": 0}';
begin
  for stored in
    select * from public.system_webhook_events e where e.id = any(ids)
    order by e.received_at, e.id
    for update
  loop
    if stored.status not in ('failed', 'ignored') then
      result := jsonb_build_object('event', stored.id, 'status', private.webhook_operator_status(stored),
                                   'reason', 'not_replayable', 'error', null);
      counts := counts || jsonb_build_object('skipped', (counts ->> 'skipped')::integer + 1);
    else
      was_given_up := private.webhook_operator_status(stored) = 'given_up';
      result := private.process_webhook_event(stored);
      if result ->> 'status' = 'failed' and was_given_up then
        update public.system_webhook_events e set next_attempt_at = null where e.id = stored.id;
      end if;
      counts := counts
        || jsonb_build_object('replayed', (counts ->> 'replayed')::integer + 1)
        || jsonb_build_object(result ->> 'status', (counts ->> (result ->> 'status'))::integer + 1);
    end if;
    results := results || jsonb_build_array(result);
  end loop;
  perform private.record_webhook_operator_action('replay', actor, filter, ids, counts);
  return counts || jsonb_build_object('matched', coalesce(array_length(ids, 1), 0), 'events', results);
end
$$;

create or replace function public.operator_resolve_webhook_event(event uuid, reason text, actor jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  stored public.system_webhook_events;
  previous text;
begin
  if reason is null or char_length(btrim(reason)) not between 1 and 500 then
    raise exception 'reason must be 1 to 500 characters' using errcode = '22023';
  end if;
  select * into stored from public.system_webhook_events e where e.id = operator_resolve_webhook_event.event for update;
  if stored.id is null then
    raise exception 'no webhook event %', operator_resolve_webhook_event.event using errcode = '22023';
  end if;
  if stored.status not in ('failed', 'ignored', 'pending') then
    raise exception 'webhook event % is %; only failed, given-up or ignored events are resolved by hand',
      stored.id, stored.status using errcode = '22023';
  end if;
  previous := private.webhook_operator_status(stored);
  update public.system_webhook_events e
  set status = 'resolved', resolved_at = now(), resolution = btrim(reason), next_attempt_at = null
  where e.id = stored.id
  returning * into stored;
  perform private.record_webhook_operator_action(
    'resolve', actor, jsonb_build_object('event', stored.id), array[stored.id],
    jsonb_build_object('previous_status', previous), btrim(reason));
  return jsonb_build_object('event', stored.id, 'status', 'resolved', 'resolved_at', stored.resolved_at,
                            'resolution', stored.resolution);
end
$$;

revoke execute on function public.operator_list_webhook_events(jsonb, boolean, jsonb) from public, anon, authenticated;
revoke execute on function public.operator_replay_webhook_events(jsonb, jsonb) from public, anon, authenticated;
revoke execute on function public.operator_resolve_webhook_event(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.operator_list_webhook_events(jsonb, boolean, jsonb) to maintenance, service_role;
grant execute on function public.operator_replay_webhook_events(jsonb, jsonb) to maintenance, service_role;
grant execute on function public.operator_resolve_webhook_event(uuid, text, jsonb) to maintenance, service_role;
