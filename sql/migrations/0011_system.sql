-- 0011 system
--
-- Platform infrastructure. Every table here is closed to anon and authenticated; each is open
-- only to the narrow role whose job needs it (and to service_role):
--   system_rate_limits          rate_limiter reads (limits per endpoint and plan)
--   system_rate_limit_counters  nobody directly: check_rate_limit (0013) owns it
--   system_scheduled_deletions  maintenance reads; request_account_deletion (0015) writes
--   system_deletion_audits      maintenance reads; written by the erasure only
--   system_logs                 maintenance reads; write_system_log (below) writes
--   system_logs_settings        maintenance reads (retention per level)
--   system_settings             maintenance reads
--   system_feature_flags        service_role only

-- system_rate_limits ---------------------------------------------------------------------------

create table if not exists public.system_rate_limits (
  id uuid primary key default gen_random_uuid(),
  endpoint text not null,
  -- 'default' applies to any plan without a row of its own.
  plan text not null default 'default',
  max_requests integer not null,
  window_seconds integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_rate_limits_endpoint_plan_key unique (endpoint, plan),
  constraint system_rate_limits_max_requests_check check (max_requests > 0),
  constraint system_rate_limits_window_seconds_check check (window_seconds between 1 and 2678400)
);

create or replace trigger system_rate_limits_set_updated_at
  before update on public.system_rate_limits
  for each row execute function private.set_updated_at();

alter table public.system_rate_limits enable row level security;

drop policy if exists "The rate limiter can read limits" on public.system_rate_limits;
create policy "The rate limiter can read limits" on public.system_rate_limits
  for select to rate_limiter
  using (true);

revoke all on public.system_rate_limits from anon, authenticated, rate_limiter;
grant select on public.system_rate_limits to rate_limiter;
grant all on public.system_rate_limits to service_role;

-- system_rate_limit_counters -------------------------------------------------------------------

-- GCRA state: one theoretical arrival time per (identifier, endpoint). See check_rate_limit.
create table if not exists public.system_rate_limit_counters (
  identifier text not null,
  endpoint text not null,
  theoretical_arrival_at timestamptz not null,
  updated_at timestamptz not null default now(),
  primary key (identifier, endpoint)
);

-- Counters whose arrival time has passed hold no state worth keeping; cleanup deletes them.
create index if not exists idx_system_rate_limit_counters_tat
  on public.system_rate_limit_counters (theoretical_arrival_at);

alter table public.system_rate_limit_counters enable row level security;

drop policy if exists "Only the service role reads counters directly" on public.system_rate_limit_counters;
create policy "Only the service role reads counters directly" on public.system_rate_limit_counters
  for all to service_role
  using (true)
  with check (true);

revoke all on public.system_rate_limit_counters from anon, authenticated, rate_limiter;
grant all on public.system_rate_limit_counters to service_role;

-- system_scheduled_deletions -------------------------------------------------------------------

create table if not exists public.system_scheduled_deletions (
  id uuid primary key default gen_random_uuid(),
  -- Cleared when the erasure completes: the row then says only that an erasure happened.
  user_id uuid,
  requested_by uuid,
  reason text,
  scheduled_for timestamptz not null default (now() + interval '30 days'),
  status public.scheduled_deletion_status not null default 'pending',
  attempts integer not null default 0,
  last_error text,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_scheduled_deletions_pending_has_user check (status = 'completed' or user_id is not null)
);

create index if not exists idx_system_scheduled_deletions_due
  on public.system_scheduled_deletions (scheduled_for) where status = 'pending';
create unique index if not exists idx_system_scheduled_deletions_pending_user
  on public.system_scheduled_deletions (user_id) where status = 'pending';

create or replace trigger system_scheduled_deletions_set_updated_at
  before update on public.system_scheduled_deletions
  for each row execute function private.set_updated_at();

alter table public.system_scheduled_deletions enable row level security;

drop policy if exists "Maintenance can read scheduled deletions" on public.system_scheduled_deletions;
create policy "Maintenance can read scheduled deletions" on public.system_scheduled_deletions
  for select to maintenance
  using (true);

revoke all on public.system_scheduled_deletions from anon, authenticated, maintenance;
grant select on public.system_scheduled_deletions to maintenance;
grant all on public.system_scheduled_deletions to service_role;

-- system_deletion_audits -----------------------------------------------------------------------

-- Outlives the erased data and holds none of it: a hash of the user id (so a later request about
-- the same id can be answered), when, which categories and how many rows.
create table if not exists public.system_deletion_audits (
  id uuid primary key default gen_random_uuid(),
  deletion_id uuid not null,
  subject_hash text not null,
  erased_at timestamptz not null default now(),
  categories text[] not null,
  row_counts jsonb not null,
  created_at timestamptz not null default now()
);

create index if not exists idx_system_deletion_audits_subject_hash on public.system_deletion_audits (subject_hash);

alter table public.system_deletion_audits enable row level security;

drop policy if exists "Maintenance can read deletion audits" on public.system_deletion_audits;
create policy "Maintenance can read deletion audits" on public.system_deletion_audits
  for select to maintenance
  using (true);

revoke all on public.system_deletion_audits from anon, authenticated, maintenance;
grant select on public.system_deletion_audits to maintenance;
grant all on public.system_deletion_audits to service_role;

-- system_logs ----------------------------------------------------------------------------------

create table if not exists public.system_logs (
  id uuid primary key default gen_random_uuid(),
  level public.log_level not null,
  source text not null,
  message text not null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create index if not exists idx_system_logs_level on public.system_logs (level);
create index if not exists idx_system_logs_created_at on public.system_logs (created_at desc);
-- Retention deletes per level, oldest first. (Seed 001's partial index on `now() - 7 days` is
-- not possible: index predicates must be immutable.)
create index if not exists idx_system_logs_level_created on public.system_logs (level, created_at);

alter table public.system_logs enable row level security;

drop policy if exists "Maintenance can read logs" on public.system_logs;
create policy "Maintenance can read logs" on public.system_logs
  for select to maintenance
  using (true);

revoke all on public.system_logs from anon, authenticated, maintenance;
grant select on public.system_logs to maintenance;
grant all on public.system_logs to service_role;

-- system_logs_settings -------------------------------------------------------------------------

create table if not exists public.system_logs_settings (
  level public.log_level primary key,
  retention_days integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_logs_settings_retention_days_check check (retention_days between 1 and 3650)
);

create or replace trigger system_logs_settings_set_updated_at
  before update on public.system_logs_settings
  for each row execute function private.set_updated_at();

-- Defaults only; an operator's changes survive re-running this file.
insert into public.system_logs_settings (level, retention_days) values
  ('debug', 7), ('info', 30), ('warning', 90), ('error', 180), ('critical', 365)
on conflict (level) do nothing;

alter table public.system_logs_settings enable row level security;

drop policy if exists "Maintenance can read log settings" on public.system_logs_settings;
create policy "Maintenance can read log settings" on public.system_logs_settings
  for select to maintenance
  using (true);

revoke all on public.system_logs_settings from anon, authenticated, maintenance;
grant select on public.system_logs_settings to maintenance;
grant all on public.system_logs_settings to service_role;

-- system_settings ------------------------------------------------------------------------------

create table if not exists public.system_settings (
  key text primary key,
  value jsonb not null,
  description text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_settings_key_format check (key ~ '^[a-z0-9][a-z0-9_.-]{0,99}$')
);

create or replace trigger system_settings_set_updated_at
  before update on public.system_settings
  for each row execute function private.set_updated_at();

alter table public.system_settings enable row level security;

drop policy if exists "Maintenance can read settings" on public.system_settings;
create policy "Maintenance can read settings" on public.system_settings
  for select to maintenance
  using (true);

revoke all on public.system_settings from anon, authenticated, maintenance;
grant select on public.system_settings to maintenance;
grant all on public.system_settings to service_role;

-- system_feature_flags -------------------------------------------------------------------------

create table if not exists public.system_feature_flags (
  id uuid primary key default gen_random_uuid(),
  key text not null,
  enabled boolean not null default false,
  rollout_percentage integer not null default 100,
  description text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_feature_flags_key_key unique (key),
  constraint system_feature_flags_rollout_check check (rollout_percentage between 0 and 100)
);

create or replace trigger system_feature_flags_set_updated_at
  before update on public.system_feature_flags
  for each row execute function private.set_updated_at();

alter table public.system_feature_flags enable row level security;

drop policy if exists "Only the service role manages feature flags" on public.system_feature_flags;
create policy "Only the service role manages feature flags" on public.system_feature_flags
  for all to service_role
  using (true)
  with check (true);

revoke all on public.system_feature_flags from anon, authenticated;
grant all on public.system_feature_flags to service_role;

-- write_system_log(level text, source text, message text, details jsonb default '{}')
--   returns uuid (the new system_logs id)
--   For the narrow roles that report what they did (maintenance run summaries, webhook intake)
--   without any other access to system_logs. Errors: 22P02 (400) for an unknown level, 22023
--   (400) for a blank source or message.
create or replace function public.write_system_log(
  level text,
  source text,
  message text,
  details jsonb default '{}'::jsonb
) returns uuid
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  log_id uuid;
begin
  if coalesce(btrim(write_system_log.source), '') = '' or coalesce(btrim(write_system_log.message), '') = '' then
    raise exception 'source and message are required' using errcode = '22023';
  end if;
  insert into public.system_logs (level, source, message, details)
  values (
    write_system_log.level::public.log_level,
    left(write_system_log.source, 200),
    left(write_system_log.message, 2000),
    coalesce(write_system_log.details, '{}'::jsonb)
  )
  returning id into log_id;
  return log_id;
end
$$;

revoke execute on function public.write_system_log(text, text, text, jsonb) from public, anon, authenticated;
grant execute on function public.write_system_log(text, text, text, jsonb)
  to maintenance, webhook_ingest, service_role;
