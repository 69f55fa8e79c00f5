-- 0005 security
--
-- Users' encrypted third-party API keys, the security event log and password-reset tokens.
-- security_api_keys: each user manages their own keys (one per service); platform admins read
--   them (ciphertext only ever reaches the database); `maintenance` may read and rewrite only the
--   columns master-key rotation needs (column-level grants).
-- security_event_logs: users read their own events, admins read all; written by trusted code
--   (service_role, SECURITY DEFINER functions), never by users.
-- security_reset_tokens: closed to every API role except service_role; expired ones are removed
--   by cleanup_expired_tokens (0015).

-- security_api_keys ----------------------------------------------------------------------------

create table if not exists public.security_api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  service text not null,
  key_ciphertext text not null,
  nonce text not null,
  salt text not null,
  key_version integer not null default 1,
  key_hint text,
  status public.api_key_status not null default 'active',
  status_reason text,
  last_checked timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint security_api_keys_service_format check (service ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  constraint security_api_keys_key_version_positive check (key_version > 0),
  constraint security_api_keys_key_hint_length check (key_hint is null or char_length(key_hint) <= 8)
);

create index if not exists idx_security_api_keys_user_id on public.security_api_keys (user_id);
create index if not exists idx_security_api_keys_service on public.security_api_keys (service);
-- One key per user and service; also the conflict target of the api-keys upsert.
create unique index if not exists idx_security_api_keys_user_service_unique
  on public.security_api_keys (user_id, service);
-- Rotation walks rows still on an old master key.
create index if not exists idx_security_api_keys_key_version on public.security_api_keys (key_version);

create or replace trigger security_api_keys_set_updated_at
  before update on public.security_api_keys
  for each row execute function private.set_updated_at();

alter table public.security_api_keys enable row level security;

drop policy if exists "Users can view their own API keys" on public.security_api_keys;
create policy "Users can view their own API keys" on public.security_api_keys
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all API keys" on public.security_api_keys;
create policy "Admins can view all API keys" on public.security_api_keys
  for select to authenticated
  using ((select public.is_admin()));

drop policy if exists "Users can add their own API keys" on public.security_api_keys;
create policy "Users can add their own API keys" on public.security_api_keys
  for insert to authenticated
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can update their own API keys" on public.security_api_keys;
create policy "Users can update their own API keys" on public.security_api_keys
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can delete their own API keys" on public.security_api_keys;
create policy "Users can delete their own API keys" on public.security_api_keys
  for delete to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Maintenance can read keys for rotation" on public.security_api_keys;
create policy "Maintenance can read keys for rotation" on public.security_api_keys
  for select to maintenance
  using (true);

drop policy if exists "Maintenance can re-encrypt keys" on public.security_api_keys;
create policy "Maintenance can re-encrypt keys" on public.security_api_keys
  for update to maintenance
  using (true)
  with check (true);

revoke all on public.security_api_keys from anon, authenticated, maintenance;
grant select, delete on public.security_api_keys to authenticated;
grant insert (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint, status, status_reason, last_checked)
  on public.security_api_keys to authenticated;
-- user_id and service too: a PostgREST upsert (on_conflict=user_id,service) sets every column
-- it sends, conflict target included; the policies still pin user_id to the caller.
grant update (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint, status, status_reason, last_checked)
  on public.security_api_keys to authenticated;
-- Rotation: decrypting needs the row's identity (user_id, service: the AAD) and key material.
grant select (id, user_id, service, key_ciphertext, nonce, salt, key_version)
  on public.security_api_keys to maintenance;
grant update (key_ciphertext, nonce, salt, key_version)
  on public.security_api_keys to maintenance;
grant all on public.security_api_keys to service_role;

-- security_event_logs --------------------------------------------------------------------------

create table if not exists public.security_event_logs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.user_profiles (id) on delete cascade,
  event_type text not null,
  severity public.security_event_severity not null default 'info',
  ip_address inet,
  user_agent text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create index if not exists idx_security_event_logs_user_created
  on public.security_event_logs (user_id, created_at desc);
create index if not exists idx_security_event_logs_event_type on public.security_event_logs (event_type);

alter table public.security_event_logs enable row level security;

drop policy if exists "Users can view their own security events" on public.security_event_logs;
create policy "Users can view their own security events" on public.security_event_logs
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all security events" on public.security_event_logs;
create policy "Admins can view all security events" on public.security_event_logs
  for select to authenticated
  using ((select public.is_admin()));

revoke all on public.security_event_logs from anon, authenticated;
grant select on public.security_event_logs to authenticated;
grant all on public.security_event_logs to service_role;

-- security_reset_tokens ------------------------------------------------------------------------

create table if not exists public.security_reset_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  -- Only a hash of the token is stored; the token itself goes out by mail.
  token_hash text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now(),
  constraint security_reset_tokens_token_hash_key unique (token_hash)
);

create index if not exists idx_security_reset_tokens_user_id on public.security_reset_tokens (user_id);
create index if not exists idx_security_reset_tokens_expires_at on public.security_reset_tokens (expires_at);

alter table public.security_reset_tokens enable row level security;

-- No policy for anon/authenticated on purpose: only service_role (BYPASSRLS) and SECURITY
-- DEFINER cleanup touch reset tokens. This one policy states that explicitly.
drop policy if exists "Only the service role manages reset tokens" on public.security_reset_tokens;
create policy "Only the service role manages reset tokens" on public.security_reset_tokens
  for all to service_role
  using (true)
  with check (true);

revoke all on public.security_reset_tokens from anon, authenticated;
grant all on public.security_reset_tokens to service_role;
