-- 0008 billing
--
-- The Stripe side of billing: which Stripe customer is which user, and a ledger of invoice and
-- subscription events. Written only by the webhook intake (receive_webhook_event, 0014, as
-- SECURITY DEFINER) and service_role; users read their own rows, platform admins read all.

-- billing_stripe_customers ---------------------------------------------------------------------

create table if not exists public.billing_stripe_customers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  workspace_id uuid references public.workspaces (id) on delete set null,
  stripe_customer_id text not null,
  email text,
  -- Provider time of the newest webhook event applied here; older events change nothing.
  last_event_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint billing_stripe_customers_stripe_customer_id_key unique (stripe_customer_id),
  constraint billing_stripe_customers_user_id_key unique (user_id)
);

create or replace trigger billing_stripe_customers_set_updated_at
  before update on public.billing_stripe_customers
  for each row execute function private.set_updated_at();

alter table public.billing_stripe_customers enable row level security;

drop policy if exists "Users can view their own Stripe customer" on public.billing_stripe_customers;
create policy "Users can view their own Stripe customer" on public.billing_stripe_customers
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all Stripe customers" on public.billing_stripe_customers;
create policy "Admins can view all Stripe customers" on public.billing_stripe_customers
  for select to authenticated
  using ((select public.is_admin()));

revoke all on public.billing_stripe_customers from anon, authenticated;
grant select on public.billing_stripe_customers to authenticated;
grant all on public.billing_stripe_customers to service_role;

-- billing_subscription_events ------------------------------------------------------------------

create table if not exists public.billing_subscription_events (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.user_profiles (id) on delete cascade,
  stripe_event_id text not null,
  event_type text not null,
  stripe_customer_id text,
  stripe_subscription_id text,
  stripe_invoice_id text,
  amount_cents bigint,
  currency text,
  status text,
  -- The provider's event time (Stripe `created`).
  occurred_at timestamptz not null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint billing_subscription_events_stripe_event_id_key unique (stripe_event_id)
);

create index if not exists idx_billing_subscription_events_user_occurred
  on public.billing_subscription_events (user_id, occurred_at desc);
create index if not exists idx_billing_subscription_events_invoice
  on public.billing_subscription_events (stripe_invoice_id, occurred_at desc) where stripe_invoice_id is not null;
create index if not exists idx_billing_subscription_events_subscription
  on public.billing_subscription_events (stripe_subscription_id) where stripe_subscription_id is not null;

alter table public.billing_subscription_events enable row level security;

drop policy if exists "Users can view their own billing events" on public.billing_subscription_events;
create policy "Users can view their own billing events" on public.billing_subscription_events
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all billing events" on public.billing_subscription_events;
create policy "Admins can view all billing events" on public.billing_subscription_events
  for select to authenticated
  using ((select public.is_admin()));

revoke all on public.billing_subscription_events from anon, authenticated;
grant select on public.billing_subscription_events to authenticated;
grant all on public.billing_subscription_events to service_role;
