-- Test-only setup, applied by tools/scripts/test-sql.sh after the migrations and the seed.
-- Never part of the product: pgTAP, dblink (parallel sessions for the concurrency tests) and
-- the `tests` helper schema.

create schema if not exists extensions;
create extension if not exists pgtap schema extensions;
create extension if not exists dblink schema extensions;
grant usage on schema extensions
  to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;

alter database :"DBNAME" set search_path = public, extensions;
-- Where the concurrency tests' dblink sessions connect (this same database).
alter database :"DBNAME" set rls_edge.test_conninfo = :'conninfo';

create schema if not exists tests;
grant usage on schema tests
  to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;

-- A signed-up user whose address is confirmed (as Supabase Auth records it): auth.users row,
-- profile, email preferences and onboarding status.
create or replace function tests.create_user(
  user_id uuid,
  email text,
  full_name text default null,
  platform_role public.user_role default 'user'
) returns uuid
language plpgsql
as $$
begin
  insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
  values (user_id, email, now(), jsonb_build_object('full_name', full_name));
  insert into public.user_profiles (id, email, full_name, role)
  values (user_id, email, full_name, platform_role);
  insert into public.user_email_preferences (user_id, marketing_emails) values (user_id, true);
  insert into public.user_onboarding_status (user_id) values (user_id);
  return user_id;
end
$$;

-- The people every test file talks about, beside the seed's alice (owner of Alice Realty) and
-- bob (owner of Bob Homes, the outsider): wanda (admin), mike (member) and vera (viewer) of
-- Alice Realty, and pat, a platform admin who belongs to no workspace.
create or replace function tests.create_cast() returns void
language plpgsql
as $$
begin
  perform tests.create_user('aaaa0000-0000-4000-8000-000000000003', 'wanda@example.com', 'Wanda Admin');
  perform tests.create_user('aaaa0000-0000-4000-8000-000000000004', 'mike@example.com', 'Mike Member');
  perform tests.create_user('aaaa0000-0000-4000-8000-000000000005', 'vera@example.com', 'Vera Viewer');
  perform tests.create_user('aaaa0000-0000-4000-8000-000000000006', 'pat@example.com', 'Pat Platform', 'admin');
  insert into public.workspace_members (workspace_id, user_id, role) values
    ('a11ce000-0000-4000-8000-0000000000aa', 'aaaa0000-0000-4000-8000-000000000003', 'admin'),
    ('a11ce000-0000-4000-8000-0000000000aa', 'aaaa0000-0000-4000-8000-000000000004', 'member'),
    ('a11ce000-0000-4000-8000-0000000000aa', 'aaaa0000-0000-4000-8000-000000000005', 'viewer');
end
$$;
