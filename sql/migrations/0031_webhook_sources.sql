-- 0031 Standard Webhooks sources
--
-- Any sender that signs the Standard Webhooks way (Clerk, Supabase Auth hooks, Svix-based
-- providers, an in-house service) becomes a source by configuration and one SQL function, not
-- by Rust code. The Worker verifies the delivery at POST /functions/v1/webhooks/<source> with
-- that source's secrets (README, "Standard Webhooks sources"); this file stores it and hands it
-- to the function registered for the source.
--
-- system_webhook_sources (name text primary key, handler regprocedure, created_at)
--   One row per source, written by the project owner (a migration, or the service role):
--     insert into public.system_webhook_sources (name, handler)
--     values ('clerk', 'public.apply_clerk_event(jsonb)');
--   The handler takes one jsonb, {"source", "event_id", "type", "payload"} (payload: the
--   delivery's JSON body as sent), and returns text: 'processed' (or null) when it applied the
--   event, any other word to record it as ignored with that word as the reason. Raising an
--   error keeps the event failed and retried with backoff, like a built-in effect; raising
--   SQLSTATE WR001 (HINT: the reason) refuses it for good (0025). It runs inside the same
--   transaction as the store, so the event and its effects commit together.
--   A handler must take exactly (jsonb), return text, and be executable by webhook_ingest (the
--   role the Worker's intake uses): the registry refuses any other function, so naming a
--   function in it cannot reach one the intake could not call. The handler runs, like the
--   built-in effects, inside the SECURITY DEFINER processing function (0014), i.e. with its
--   owner's rights unless the handler itself is declared otherwise.
--   Names: lowercase letters, digits, '-' and '_', starting with a letter, not stripe or resend
--   (built in), not reserved words of the webhooks function's routes.
--   RLS on: only service_role reads or writes it.
--
-- system_webhook_events gets `source` (the source name, for provider 'standard' only) and the
-- idempotency key becomes (provider, source, event_id): two sources may use the same ids.
--
-- receive_source_webhook_event(source text, event_id text, event_type text, payload jsonb)
--   returns jsonb, the same shape as receive_webhook_event (0014); webhook_ingest and
--   service_role. Errors: 22023 (400) for an unregistered source or a blank id / type.

alter table public.system_webhook_events add column if not exists source text;

alter table public.system_webhook_events drop constraint if exists system_webhook_events_source_check;
alter table public.system_webhook_events add constraint system_webhook_events_source_check
  check ((provider = 'standard') = (source is not null));

-- Same name as 0010's key, so receive_webhook_event's ON CONFLICT keeps working unchanged.
alter table public.system_webhook_events drop constraint if exists system_webhook_events_provider_event_id_key;
alter table public.system_webhook_events add constraint system_webhook_events_provider_event_id_key
  unique nulls not distinct (provider, source, event_id);

-- the registry --------------------------------------------------------------------------------

create table if not exists public.system_webhook_sources (
  name text primary key,
  handler regprocedure not null,
  created_at timestamptz not null default now(),
  constraint system_webhook_sources_name_check
    check (name ~ '^[a-z][a-z0-9_-]{0,62}$' and name not in ('stripe', 'resend', 'events', 'reconcile', 'alerts'))
);

alter table public.system_webhook_sources enable row level security;
revoke all on public.system_webhook_sources from anon, authenticated, webhook_ingest, maintenance, rate_limiter;
grant all on public.system_webhook_sources to service_role;

drop policy if exists "The service role manages webhook sources" on public.system_webhook_sources;
create policy "The service role manages webhook sources" on public.system_webhook_sources
  for all to service_role
  using (true)
  with check (true);

create or replace function private.check_webhook_source_handler() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (
    select 1 from pg_catalog.pg_proc p
    where p.oid = new.handler
      and p.prorettype = 'text'::regtype
      and p.pronargs = 1 and p.proargtypes[0] = 'jsonb'::regtype
  ) then
    raise exception 'the handler of webhook source % must take (jsonb) and return text', new.name
      using errcode = '22023';
  end if;
  if not pg_catalog.has_function_privilege('webhook_ingest', new.handler, 'execute') then
    raise exception 'the handler of webhook source % is not executable by webhook_ingest', new.name
      using errcode = '22023', hint = format('grant execute on function %s to webhook_ingest', new.handler);
  end if;
  return new;
end
$$;

revoke execute on function private.check_webhook_source_handler() from public, anon, authenticated;

drop trigger if exists check_handler on public.system_webhook_sources;
create trigger check_handler before insert or update on public.system_webhook_sources
  for each row execute function private.check_webhook_source_handler();

-- processing ----------------------------------------------------------------------------------

create or replace function private.webhook_event_time(provider public.webhook_provider, payload jsonb)
returns timestamptz
language plpgsql stable
set search_path = ''
as $$
begin
  if provider = 'stripe' then
    return to_timestamp((payload ->> 'created')::double precision);
  end if;
  if provider = 'standard' then
    return (payload ->> 'timestamp')::timestamptz;
  end if;
  return (payload ->> 'created_at')::timestamptz;
exception when others then
  return null;
end
$$;

revoke execute on function private.webhook_event_time(public.webhook_provider, jsonb) from public, anon, authenticated;

-- Hands a stored event of a configured source to the source's registered handler.
create or replace function private.apply_source_event(event public.system_webhook_events)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  handler regprocedure;
  outcome text;
begin
  select s.handler into handler from public.system_webhook_sources s where s.name = event.source;
  if handler is null then
    -- Not a refusal: the source may be registered again; retried with backoff.
    raise exception 'webhook source % has no registered handler', event.source;
  end if;
  execute format('select %s($1)', handler::oid::regproc)
    into outcome
    using jsonb_build_object('source', event.source, 'event_id', event.event_id,
                             'type', event.event_type, 'payload', event.payload);
  return coalesce(outcome, 'processed');
end
$$;

revoke execute on function private.apply_source_event(public.system_webhook_events) from public, anon, authenticated;

-- process_webhook_event: 0025's, with configured sources handed to their handler.
create or replace function private.process_webhook_event(event public.system_webhook_events)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  outcome text;
  error_text text;
  error_state text;
  refusal_reason text;
  refusal_detail text;
  refusal_event jsonb;
begin
  begin
    outcome := case event.provider
      when 'stripe' then private.apply_stripe_event(event)
      when 'resend' then private.apply_resend_event(event)
      when 'standard' then private.apply_source_event(event)
    end;

    update public.system_webhook_events e
    set status = case when outcome = 'processed' then 'processed' else 'ignored' end::public.webhook_event_status,
        attempts = e.attempts + 1,
        processed_at = now(),
        next_attempt_at = null,
        last_error = null
    where e.id = event.id;

    return jsonb_build_object(
      'status', case when outcome = 'processed' then 'processed' else 'ignored' end,
      'event', event.id,
      'error', null,
      'reason', case when outcome = 'processed' then null else outcome end
    );
  exception when others then
    get stacked diagnostics error_text = message_text, error_state = returned_sqlstate,
                            refusal_reason = pg_exception_hint, refusal_detail = pg_exception_detail;
  end;

  if error_state = 'WR001' then
    refusal_event := case when refusal_detail ~ '^\s*\{' then refusal_detail::jsonb end;
    update public.system_webhook_events e
    set status = 'failed',
        attempts = e.attempts + 1,
        last_error = left('refused (' || refusal_reason || '): ' || error_text, 2000),
        next_attempt_at = null,
        processed_at = null
    where e.id = event.id;
    if coalesce(refusal_event ? 'event_type', false) then
      perform private.record_security_event(
        refusal_event ->> 'event_type',
        (refusal_event ->> 'severity')::public.security_event_severity,
        (refusal_event ->> 'user_id')::uuid,
        coalesce(refusal_event -> 'details', '{}'::jsonb)
          || jsonb_build_object('webhook_event', event.id, 'provider', event.provider, 'provider_event_id', event.event_id)
      );
    end if;
    return jsonb_build_object('status', 'failed', 'event', event.id, 'error', error_text, 'reason', refusal_reason);
  end if;

  update public.system_webhook_events e
  set status = 'failed',
      attempts = e.attempts + 1,
      last_error = left(error_state || ': ' || error_text, 2000),
      next_attempt_at = now() + least(interval '1 minute' * power(2, e.attempts), interval '6 hours'),
      processed_at = null
  where e.id = event.id;

  return jsonb_build_object(
    'status', 'failed',
    'event', event.id,
    'error', error_state || ': ' || error_text,
    'reason', null
  );
end
$$;

revoke execute on function private.process_webhook_event(public.system_webhook_events) from public, anon, authenticated;

-- receive_source_webhook_event ----------------------------------------------------------------

create or replace function public.receive_source_webhook_event(
  source text,
  event_id text,
  event_type text,
  payload jsonb
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  stored public.system_webhook_events;
begin
  if not exists (select 1 from public.system_webhook_sources s where s.name = receive_source_webhook_event.source) then
    raise exception 'webhook source % is not registered', receive_source_webhook_event.source
      using errcode = '22023', hint = 'Insert it into system_webhook_sources with its handler function.';
  end if;
  if coalesce(btrim(receive_source_webhook_event.event_id), '') = '' or char_length(receive_source_webhook_event.event_id) > 255 then
    raise exception 'event_id must be 1 to 255 characters' using errcode = '22023';
  end if;
  if coalesce(btrim(receive_source_webhook_event.event_type), '') = '' then
    raise exception 'event_type is required' using errcode = '22023';
  end if;
  if receive_source_webhook_event.payload is null or jsonb_typeof(receive_source_webhook_event.payload) <> 'object' then
    raise exception 'payload must be a JSON object' using errcode = '22023';
  end if;

  insert into public.system_webhook_events (provider, source, event_id, event_type, payload, event_created_at)
  values (
    'standard',
    receive_source_webhook_event.source,
    receive_source_webhook_event.event_id,
    receive_source_webhook_event.event_type,
    receive_source_webhook_event.payload,
    private.webhook_event_time('standard', receive_source_webhook_event.payload)
  )
  on conflict on constraint system_webhook_events_provider_event_id_key do nothing
  returning * into stored;

  if stored.id is null then
    select * into stored from public.system_webhook_events e
    where e.provider = 'standard' and e.source = receive_source_webhook_event.source
      and e.event_id = receive_source_webhook_event.event_id;
    return jsonb_build_object('status', 'duplicate', 'event', stored.id, 'error', null, 'reason', null);
  end if;

  return private.process_webhook_event(stored);
end
$$;

revoke execute on function public.receive_source_webhook_event(text, text, text, jsonb) from public, anon, authenticated;
grant execute on function public.receive_source_webhook_event(text, text, text, jsonb) to webhook_ingest, service_role;
