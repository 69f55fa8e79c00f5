-- 0010 webhook inbox
--
-- Every verified Stripe and Resend delivery, stored once per (provider, event_id) before the
-- edge answers 2xx, with what became of it. Written only by receive_webhook_event and
-- retry_webhook_event (0014, SECURITY DEFINER). Closed to anon and authenticated; the narrow
-- roles that work with it read it: webhook_ingest (intake) and maintenance (retries, retention).

create table if not exists public.system_webhook_events (
  id uuid primary key default gen_random_uuid(),
  provider public.webhook_provider not null,
  event_id text not null,
  event_type text not null,
  payload jsonb not null,
  status public.webhook_event_status not null default 'pending',
  attempts integer not null default 0,
  next_attempt_at timestamptz,
  last_error text,
  -- The provider's own event time (Stripe `created`, Resend `created_at`); orders deliveries.
  event_created_at timestamptz,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  constraint system_webhook_events_provider_event_id_key unique (provider, event_id),
  constraint system_webhook_events_event_id_not_blank check (char_length(event_id) between 1 and 255),
  constraint system_webhook_events_attempts_check check (attempts >= 0)
);

create index if not exists idx_system_webhook_events_retry
  on public.system_webhook_events (next_attempt_at) where status = 'failed';
create index if not exists idx_system_webhook_events_done
  on public.system_webhook_events (processed_at) where status in ('processed', 'ignored');
create index if not exists idx_system_webhook_events_type on public.system_webhook_events (provider, event_type);

alter table public.system_webhook_events enable row level security;

drop policy if exists "Webhook intake can read the inbox" on public.system_webhook_events;
create policy "Webhook intake can read the inbox" on public.system_webhook_events
  for select to webhook_ingest
  using (true);

drop policy if exists "Maintenance can read the inbox" on public.system_webhook_events;
create policy "Maintenance can read the inbox" on public.system_webhook_events
  for select to maintenance
  using (true);

revoke all on public.system_webhook_events from anon, authenticated, webhook_ingest, maintenance;
grant select on public.system_webhook_events to webhook_ingest, maintenance;
grant all on public.system_webhook_events to service_role;
