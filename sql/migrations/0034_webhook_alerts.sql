-- 0034 webhook alerts
--
-- An operator must hear about an event nobody will retry any more, and about a failed backlog
-- that keeps growing. The webhooks function's alert run (cron, and POST
-- /functions/v1/webhooks/alerts/run for an operator) claims what is due here, posts one
-- Slack-compatible message per alert to WEBHOOK_ALERT_URL and records the result.
--
-- system_webhook_alerts: one row per alert. `given_up`: at most one per event, ever (unique
-- event); `backlog`: at most one an hour, when more events than the threshold are failed.
-- details: provider, event id and type, attempts, the last error (cut to 300 characters) or
-- the backlog size; never the payload. status: pending (claimed, not sent yet), sent, failed
-- (the post failed; claimed again by the next run). RLS on; service_role reads it; written
-- only by the RPCs below.
--
-- claim_webhook_alerts(backlog_threshold int, max_per_hour int) returns jsonb: maintenance.
--   Creates the alerts that are due, at most max_per_hour created in any hour (the rest wait
--   for a later run), then claims every unsent one not claimed in the last five minutes:
--   [{"id", "kind", "details", "created_at"}].
-- record_webhook_alert(alert uuid, sent boolean, error text default null) returns void:
--   maintenance.

create table if not exists public.system_webhook_alerts (
  id uuid primary key default gen_random_uuid(),
  kind text not null,
  event uuid references public.system_webhook_events (id) on delete set null,
  details jsonb not null default '{}'::jsonb,
  status text not null default 'pending',
  error text,
  created_at timestamptz not null default now(),
  claimed_at timestamptz,
  sent_at timestamptz,
  constraint system_webhook_alerts_kind_check check (kind in ('given_up', 'backlog')),
  constraint system_webhook_alerts_status_check check (status in ('pending', 'sent', 'failed')),
  constraint system_webhook_alerts_event_key unique (event)
);

create index if not exists idx_system_webhook_alerts_created on public.system_webhook_alerts (created_at desc);

alter table public.system_webhook_alerts enable row level security;
revoke all on public.system_webhook_alerts from anon, authenticated, webhook_ingest, maintenance, rate_limiter;
grant select on public.system_webhook_alerts to service_role;

drop policy if exists "The service role reads webhook alerts" on public.system_webhook_alerts;
create policy "The service role reads webhook alerts" on public.system_webhook_alerts
  for select to service_role
  using (true);

create or replace function public.claim_webhook_alerts(backlog_threshold integer, max_per_hour integer)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  budget integer;
  added integer;
  backlog integer;
  claimed jsonb;
begin
  if backlog_threshold is null or backlog_threshold < 1 or max_per_hour is null or max_per_hour < 1 then
    raise exception 'backlog_threshold and max_per_hour must be at least 1' using errcode = '22023';
  end if;
  -- One run at a time decides what is due.
  perform pg_advisory_xact_lock(hashtext('public.claim_webhook_alerts'));
  budget := max_per_hour - (select count(*) from public.system_webhook_alerts a where a.created_at > now() - interval '1 hour');

  insert into public.system_webhook_alerts (kind, event, details)
  select 'given_up', e.id, jsonb_build_object(
           'provider', coalesce(e.source, e.provider::text), 'event', e.id, 'event_id', e.event_id,
           'type', e.event_type, 'attempts', e.attempts, 'last_error', left(e.last_error, 300))
  from public.system_webhook_events e
  where e.status = 'failed' and e.next_attempt_at is null
    and not exists (select 1 from public.system_webhook_alerts a where a.event = e.id)
  order by e.received_at
  limit greatest(budget, 0)
  on conflict on constraint system_webhook_alerts_event_key do nothing;
  get diagnostics added = row_count;
  budget := budget - added;

  select count(*) into backlog from public.system_webhook_events e where e.status = 'failed';
  if budget > 0 and backlog > backlog_threshold
     and not exists (select 1 from public.system_webhook_alerts a
                     where a.kind = 'backlog' and a.created_at > now() - interval '1 hour') then
    insert into public.system_webhook_alerts (kind, details)
    values ('backlog', jsonb_build_object('failed', backlog, 'threshold', backlog_threshold));
  end if;

  with due as (
    update public.system_webhook_alerts a
    set claimed_at = now()
    where a.status in ('pending', 'failed')
      and (a.claimed_at is null or a.claimed_at < now() - interval '5 minutes')
    returning a.id, a.kind, a.details, a.created_at
  )
  select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'kind', d.kind, 'details', d.details, 'created_at', d.created_at)
                            order by d.created_at), '[]')
    into claimed
  from due d;
  return claimed;
end
$$;

create or replace function public.record_webhook_alert(alert uuid, sent boolean, error text default null)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update public.system_webhook_alerts a
  set status = case when sent then 'sent' else 'failed' end,
      sent_at = case when sent then now() end,
      error = case when sent then null else left(record_webhook_alert.error, 500) end,
      claimed_at = case when sent then a.claimed_at end
  where a.id = alert and a.status <> 'sent';
end
$$;

revoke execute on function public.claim_webhook_alerts(integer, integer) from public, anon, authenticated;
revoke execute on function public.record_webhook_alert(uuid, boolean, text) from public, anon, authenticated;
grant execute on function public.claim_webhook_alerts(integer, integer) to maintenance, service_role;
grant execute on function public.record_webhook_alert(uuid, boolean, text) to maintenance, service_role;
