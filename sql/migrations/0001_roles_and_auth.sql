-- 0001 roles and auth
--
-- The database roles PostgREST switches between, the narrow roles the edge functions act as, and
-- a Supabase-compatible `auth` schema for plain PostgreSQL. On Supabase every role, the `auth`
-- schema, `auth.users` and the `auth.*()` helpers already exist and are left untouched: each is
-- created only when it is missing.
--
-- Roles:
--   anon            requests without a JWT
--   authenticated   requests with a user's JWT
--   service_role    trusted servers; BYPASSRLS
--   authenticator   the login PostgREST connects as (NOINHERIT, no password here: set it per
--                   deployment); may switch to every role below
--   webhook_ingest  Stripe/Resend intake: executes receive_webhook_event, reads the inbox
--   maintenance     cron jobs: cleanup functions, key rotation, lead re-scoring
--   rate_limiter    reads system_rate_limits, executes check_rate_limit

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'webhook_ingest') then
    create role webhook_ingest nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'maintenance') then
    create role maintenance nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'rate_limiter') then
    create role rate_limiter nologin noinherit;
  end if;
end
$$;

-- authenticator may switch to every API role. Only missing memberships are granted: on Supabase
-- the built-in ones exist already and belong to another admin.
do $$
declare
  api_role text;
begin
  foreach api_role in array array['anon', 'authenticated', 'service_role', 'webhook_ingest', 'maintenance', 'rate_limiter']
  loop
    if not exists (
      select 1 from pg_auth_members m
      where m.roleid = api_role::regrole and m.member = 'authenticator'::regrole
    ) then
      execute format('grant %I to authenticator', api_role);
    end if;
  end loop;
end
$$;

grant usage on schema public
  to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;

-- private schema ------------------------------------------------------------------------------

-- Internal functions (trigger functions, webhook effect helpers, the erasure itself) live in
-- `private`: a schema PostgREST does not expose and no API role may use.
do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'private') then
    create schema private;
  end if;
end
$$;

revoke all on schema private from public;

-- auth schema ---------------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'auth') then
    create schema auth;
  end if;
end
$$;

-- A minimal stand-in for Supabase's auth.users on plain PostgreSQL, with the columns Supabase
-- has under the same names. Whoever issues tokens (the dev stack, the seed, the tests) inserts
-- users here; on Supabase, GoTrue owns the real table.
do $$
begin
  if to_regclass('auth.users') is null then
    create table auth.users (
      id uuid primary key,
      aud varchar(255) default 'authenticated',
      role varchar(255) default 'authenticated',
      email varchar(255),
      raw_app_meta_data jsonb default '{}'::jsonb,
      raw_user_meta_data jsonb default '{}'::jsonb,
      is_anonymous boolean not null default false,
      created_at timestamptz default now(),
      updated_at timestamptz default now(),
      deleted_at timestamptz
    );
  end if;
end
$$;

-- The claims PostgREST sets for the request, as jsonb (empty object when there are none).
-- Same body as Supabase's, so code behaves the same on both.
do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
    language sql stable
    as $body$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $body$;
  end if;

  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
    language sql stable
    as $body$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $body$;
  end if;

  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
    language sql stable
    as $body$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $body$;
  end if;

  if to_regprocedure('auth.email()') is null then
    create function auth.email() returns text
    language sql stable
    as $body$
      select coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
      )::text
    $body$;
  end if;
end
$$;

-- On Supabase the auth schema belongs to supabase_auth_admin and the API roles can already use
-- it; a grant the migration role may not give is reported, not fatal.
do $$
begin
  grant usage on schema auth
    to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;
  grant execute on function auth.uid(), auth.role(), auth.jwt(), auth.email()
    to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;
exception when insufficient_privilege then
  raise notice 'auth schema grants left to its owner: %', sqlerrm;
end
$$;
