-- 0033 Stripe reconcile
--
-- Stripe retries a failed delivery for three days, then gives up. The reconcile job (the
-- webhooks function: cron, and POST /functions/v1/webhooks/reconcile/stripe for an operator)
-- pulls the events Stripe could not deliver (GET /v1/events?delivery_success=false, created
-- since the last run, every page) and feeds each through the same intake as a delivery,
-- receive_webhook_event (0014): an event already delivered is a duplicate and changes nothing.
--
-- system_webhook_reconcile_runs: one row per run (provider, trigger, the window's start, counts,
-- the error that stopped it). RLS on; service_role reads it; written only by the RPCs below.
--
-- start_webhook_reconcile_run(provider text, run_trigger text, actor jsonb default null)
--   returns jsonb {"run": uuid, "since": unix seconds}: maintenance. The window starts an hour
--   before the last run that finished without error started (deliveries that failed just
--   before it), or 30 days ago (how long Stripe lists events) on the first run, and never
--   earlier than that. With an actor (an operator's call), the run is also audited in
--   system_webhook_operator_actions (0032).
-- finish_webhook_reconcile_run(run uuid, counts jsonb, error text default null) returns void:
--   maintenance. counts: {"pages", "pulled", "stored", "duplicates", "failed"}.
-- receive_webhook_events(provider text, events jsonb) returns jsonb: webhook_ingest,
--   service_role. events: [{"event_id", "event_type", "payload"}], at most 100 (one page);
--   each goes through receive_webhook_event on its own, so one bad event does not stop the
--   others: [{"event_id", "status", "error"}], status as receive_webhook_event's, or
--   "refused" (its error says why) for an event it refused.

create table if not exists public.system_webhook_reconcile_runs (
  id uuid primary key default gen_random_uuid(),
  provider public.webhook_provider not null,
  run_trigger text not null,
  window_start timestamptz not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  counts jsonb not null default '{}'::jsonb,
  error text,
  constraint system_webhook_reconcile_runs_trigger_check check (run_trigger in ('cron', 'request'))
);

create index if not exists idx_system_webhook_reconcile_runs_last
  on public.system_webhook_reconcile_runs (provider, started_at desc) where finished_at is not null and error is null;

alter table public.system_webhook_reconcile_runs enable row level security;
revoke all on public.system_webhook_reconcile_runs from anon, authenticated, webhook_ingest, maintenance, rate_limiter;
grant select on public.system_webhook_reconcile_runs to service_role;

drop policy if exists "The service role reads reconcile runs" on public.system_webhook_reconcile_runs;
create policy "The service role reads reconcile runs" on public.system_webhook_reconcile_runs
  for select to service_role
  using (true);

create or replace function public.start_webhook_reconcile_run(provider text, run_trigger text, actor jsonb default null)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  known_provider public.webhook_provider;
  oldest timestamptz := now() - interval '30 days';
  since timestamptz;
  run uuid;
begin
  if start_webhook_reconcile_run.provider is distinct from 'stripe' then
    raise exception 'reconcile knows only stripe' using errcode = '22023';
  end if;
  known_provider := start_webhook_reconcile_run.provider::public.webhook_provider;
  if run_trigger is null or run_trigger not in ('cron', 'request') then
    raise exception 'run_trigger must be cron or request' using errcode = '22023';
  end if;
  select r.started_at - interval '1 hour' into since
  from public.system_webhook_reconcile_runs r
  where r.provider = known_provider and r.finished_at is not null and r.error is null
  order by r.started_at desc
  limit 1;
  since := greatest(coalesce(since, oldest), oldest);
  insert into public.system_webhook_reconcile_runs (provider, run_trigger, window_start)
  values (known_provider, run_trigger, since)
  returning id into run;
  if actor is not null then
    perform private.record_webhook_operator_action(
      'reconcile', actor, jsonb_build_object('provider', provider), '{}',
      jsonb_build_object('run', run, 'since', since));
  end if;
  return jsonb_build_object('run', run, 'since', floor(extract(epoch from since))::bigint);
end
$$;

create or replace function public.finish_webhook_reconcile_run(run uuid, counts jsonb, error text default null)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update public.system_webhook_reconcile_runs r
  set finished_at = now(), counts = coalesce(finish_webhook_reconcile_run.counts, '{}'),
      error = left(finish_webhook_reconcile_run.error, 2000)
  where r.id = finish_webhook_reconcile_run.run and r.finished_at is null;
  if not found then
    raise exception 'no unfinished reconcile run %', run using errcode = '22023';
  end if;
end
$$;

create or replace function public.receive_webhook_events(provider text, events jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  item jsonb;
  result jsonb;
  results jsonb := '[]';
begin
  if events is null or jsonb_typeof(events) <> 'array' or jsonb_array_length(events) > 100 then
    raise exception 'events must be an array of at most 100 events' using errcode = '22023';
  end if;
  for item in select value from jsonb_array_elements(events) loop
    begin
      result := public.receive_webhook_event(provider, item ->> 'event_id', item ->> 'event_type', item -> 'payload');
      results := results || jsonb_build_array(jsonb_build_object(
        'event_id', item ->> 'event_id', 'status', result ->> 'status', 'error', result ->> 'error'));
    exception when others then
      results := results || jsonb_build_array(jsonb_build_object(
        'event_id', item ->> 'event_id', 'status', 'refused', 'error', sqlerrm));
    end;
  end loop;
  return results;
end
$$;

revoke execute on function public.start_webhook_reconcile_run(text, text, jsonb) from public, anon, authenticated;
revoke execute on function public.finish_webhook_reconcile_run(uuid, jsonb, text) from public, anon, authenticated;
revoke execute on function public.receive_webhook_events(text, jsonb) from public, anon, authenticated;
grant execute on function public.start_webhook_reconcile_run(text, text, jsonb) to maintenance, service_role;
grant execute on function public.finish_webhook_reconcile_run(uuid, jsonb, text) to maintenance, service_role;
grant execute on function public.receive_webhook_events(text, jsonb) to webhook_ingest, service_role;
