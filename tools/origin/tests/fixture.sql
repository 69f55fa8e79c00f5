-- Fixture for the origin's integration tests: the roles Supabase's gateway maps API keys to, a
-- table under RLS and a function that says who the request runs as. Loaded into a fresh database
-- of a throwaway cluster (roles are cluster-wide, so they are created only when missing).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit; end if;
end $$;
grant anon, authenticated, service_role to authenticator;

create table public.notes (owner uuid not null, body text not null);
alter table public.notes enable row level security;
create policy "owners read their notes" on public.notes for select to authenticated
  using (owner = (current_setting('request.jwt.claims', true)::json ->> 'sub')::uuid);
grant select on public.notes to anon, authenticated, service_role;
insert into public.notes values
  ('11111111-1111-1111-1111-111111111111', 'alice''s note'),
  ('22222222-2222-2222-2222-222222222222', 'bob''s note');

-- Who the request runs as: the role PostgREST switched to and the claims it was given.
create function public.whoami() returns json language sql stable as $$
  select json_build_object('role', current_user, 'claims', current_setting('request.jwt.claims', true)::json)
$$;
grant execute on function public.whoami() to anon, authenticated, service_role;
