-- 0040 personal API keys
--
-- Keys a user creates for scripts and integrations that act as them, under the same RLS
-- (functions/personal-keys). The secret (`rlse_pk_<43 base62 characters>`, about 256 random bits)
-- is made and shown once by the edge; the database keeps only its SHA-256 (hex) and the first
-- 16 characters for display. A plain hash is enough: the secret is random, not a password, so
-- there is nothing to guess from the hash that a slow hash would protect.
--
-- security_personal_api_keys
--   Users read their own keys' metadata (never key_hash: no column grant), under RLS. Nobody
--   writes the table directly: the RPCs below do, after their checks.
--   access      'read' (the edge lets the key use GET/HEAD only) or 'write'
--   tables, rpcs, functions
--               allow-lists of PostgREST tables, PostgREST RPCs and edge functions the key may
--               reach; null means every one, an empty array none
--   workspace_id
--               a workspace-scoped key acts only within that workspace: under its token a
--               restrictive policy on `workspaces` and on every table with a `workspace_id`
--               column hides and protects every other workspace's rows, and is_workspace_member()
--               answers false for them (below). The owner's personal tables stay reachable;
--               narrow them with `tables`.
--
-- create_personal_api_key(key_name, key_prefix, key_hash, access, tables, rpcs, functions,
--                         workspace_id, expires_at) returns jsonb
--   authenticated, with a session (not a token minted for a personal key: a key cannot make
--   keys). The row as JSON, without key_hash. 22023 (400) for malformed input or an expiry in
--   the past, 42501 (403) for another's workspace, 23505 (409) for a duplicate hash or prefix,
--   P0001 (400) past 50 active keys.
-- revoke_personal_api_key(key_id uuid) returns jsonb
--   authenticated, with a session; own keys only. Idempotent: a revoked key keeps its first
--   revoked_at. PT404 (PostgREST answers 404) for a key that is not the caller's.
-- resolve_personal_api_key(key_hash text) returns jsonb
--   personal_key_resolver only (the edge acts as it through a one-minute role token): the
--   owner and scopes of a live key (not revoked, not expired, owner's profile present, still a
--   member of its workspace), else null. Stamps last_used_at at most once a minute.
--
-- personal_key_resolver is a narrow role: it can execute the resolver and nothing else; it
-- cannot read the table, so it cannot list hashes either.

-- the role -----------------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'personal_key_resolver') then
    create role personal_key_resolver nologin noinherit;
  end if;
  if not exists (
    select 1 from pg_auth_members m
    where m.roleid = 'personal_key_resolver'::regrole and m.member = 'authenticator'::regrole
  ) then
    grant personal_key_resolver to authenticator;
  end if;
end
$$;

grant usage on schema public to personal_key_resolver;

-- the table ----------------------------------------------------------------------------------

create table if not exists public.security_personal_api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  workspace_id uuid references public.workspaces (id) on delete cascade,
  name text not null,
  key_prefix text not null,
  key_hash text not null,
  access text not null default 'read',
  tables text[],
  rpcs text[],
  functions text[],
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  constraint security_personal_api_keys_hash_key unique (key_hash),
  constraint security_personal_api_keys_prefix_key unique (key_prefix),
  constraint security_personal_api_keys_name_length check (char_length(btrim(name)) between 1 and 100),
  constraint security_personal_api_keys_prefix_shape check (key_prefix ~ '^rlse_pk_[A-Za-z0-9]{8}$'),
  constraint security_personal_api_keys_hash_shape check (key_hash ~ '^[0-9a-f]{64}$'),
  constraint security_personal_api_keys_access check (access in ('read', 'write')),
  constraint security_personal_api_keys_expiry check (expires_at is null or expires_at > created_at)
);

create index if not exists idx_security_personal_api_keys_user_id
  on public.security_personal_api_keys (user_id, created_at desc);

alter table public.security_personal_api_keys enable row level security;

revoke all on public.security_personal_api_keys from public, anon, authenticated;
grant select (id, user_id, workspace_id, name, key_prefix, access, tables, rpcs, functions,
              expires_at, last_used_at, revoked_at, created_at)
  on public.security_personal_api_keys to authenticated;
grant all on public.security_personal_api_keys to service_role;

drop policy if exists "Users read their own personal keys" on public.security_personal_api_keys;
create policy "Users read their own personal keys" on public.security_personal_api_keys
  for select to authenticated
  using (user_id = (select auth.uid()));

-- helpers ------------------------------------------------------------------------------------

-- Whether every name is a plain SQL identifier or a function name as the edge matches them
-- (letters, digits, _ and -; at most 63 characters), at most 100 of them.
create or replace function private.personal_key_names_valid(names text[]) returns boolean
language sql immutable
set search_path = ''
as $$
  select names is null or (
    cardinality(names) <= 100
    and not exists (
      select 1 from unnest(names) as n(name)
      where n.name is null or n.name !~ '^[A-Za-z_][A-Za-z0-9_-]{0,62}$'
    )
  )
$$;

-- The caller managing keys: a signed-in user, never a token the edge minted for a personal key
-- (a leaked key must not mint itself a successor). 42501 otherwise.
create or replace function private.key_managing_user(action text) returns uuid
language plpgsql stable
set search_path = ''
as $$
begin
  if auth.uid() is null then
    raise exception 'sign in to % a personal key', action using errcode = '42501';
  end if;
  if coalesce(auth.jwt() ? 'api_key_id', false) then
    raise exception 'a personal key cannot % keys; sign in', action using errcode = '42501';
  end if;
  return auth.uid();
end
$$;

-- the RPCs -----------------------------------------------------------------------------------

create or replace function public.create_personal_api_key(
  key_name text,
  key_prefix text,
  key_hash text,
  access text default 'read',
  tables text[] default null,
  rpcs text[] default null,
  functions text[] default null,
  workspace_id uuid default null,
  expires_at timestamptz default null
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  caller uuid := private.key_managing_user('create');
  created public.security_personal_api_keys;
begin
  if not exists (select 1 from public.user_profiles p where p.id = caller) then
    raise exception 'create your profile first' using errcode = '42501';
  end if;
  if coalesce(create_personal_api_key.access, '') not in ('read', 'write') then
    raise exception 'access must be read or write' using errcode = '22023';
  end if;
  if not private.personal_key_names_valid(create_personal_api_key.tables)
     or not private.personal_key_names_valid(create_personal_api_key.rpcs)
     or not private.personal_key_names_valid(create_personal_api_key.functions) then
    raise exception 'tables, rpcs and functions must be lists of at most 100 names' using errcode = '22023';
  end if;
  if create_personal_api_key.expires_at is not null and create_personal_api_key.expires_at <= now() then
    raise exception 'expires_at must be in the future' using errcode = '22023';
  end if;
  if create_personal_api_key.workspace_id is not null and not exists (
    select 1 from public.workspace_members m
    where m.workspace_id = create_personal_api_key.workspace_id and m.user_id = caller
  ) then
    raise exception 'not a member of that workspace' using errcode = '42501';
  end if;
  if (select count(*) from public.security_personal_api_keys k
      where k.user_id = caller and k.revoked_at is null
        and (k.expires_at is null or k.expires_at > now())) >= 50 then
    raise exception 'at most 50 active personal keys; revoke one first' using errcode = 'P0001';
  end if;

  begin
    insert into public.security_personal_api_keys
      (user_id, workspace_id, name, key_prefix, key_hash, access, tables, rpcs, functions, expires_at)
    values (caller, create_personal_api_key.workspace_id, btrim(key_name), create_personal_api_key.key_prefix,
            create_personal_api_key.key_hash, create_personal_api_key.access, create_personal_api_key.tables,
            create_personal_api_key.rpcs, create_personal_api_key.functions, create_personal_api_key.expires_at)
    returning * into created;
  exception when check_violation or not_null_violation then
    raise exception 'name (1 to 100 characters), key_prefix or key_hash is malformed' using errcode = '22023';
  end;
  return to_jsonb(created) - 'key_hash';
end
$$;

revoke execute on function public.create_personal_api_key(text, text, text, text, text[], text[], text[], uuid, timestamptz)
  from public, anon;
grant execute on function public.create_personal_api_key(text, text, text, text, text[], text[], text[], uuid, timestamptz)
  to authenticated, service_role;

create or replace function public.revoke_personal_api_key(key_id uuid) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  caller uuid := private.key_managing_user('revoke');
  revoked public.security_personal_api_keys;
begin
  update public.security_personal_api_keys k
  set revoked_at = coalesce(k.revoked_at, now())
  where k.id = key_id and k.user_id = caller
  returning * into revoked;
  if revoked.id is null then
    raise exception 'no such personal key' using errcode = 'PT404';
  end if;
  return to_jsonb(revoked) - 'key_hash';
end
$$;

revoke execute on function public.revoke_personal_api_key(uuid) from public, anon;
grant execute on function public.revoke_personal_api_key(uuid) to authenticated, service_role;

create or replace function public.resolve_personal_api_key(key_hash text) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  found public.security_personal_api_keys;
  owner_email text;
begin
  select k.* into found
  from public.security_personal_api_keys k
  where k.key_hash = resolve_personal_api_key.key_hash
    and k.revoked_at is null
    and (k.expires_at is null or k.expires_at > now());
  if found.id is null then
    return null;
  end if;
  select p.email into owner_email from public.user_profiles p where p.id = found.user_id;
  if owner_email is null then
    return null;
  end if;
  if found.workspace_id is not null and not exists (
    select 1 from public.workspace_members m
    where m.workspace_id = found.workspace_id and m.user_id = found.user_id
  ) then
    return null;
  end if;
  if found.last_used_at is null or found.last_used_at < now() - interval '1 minute' then
    update public.security_personal_api_keys set last_used_at = now() where id = found.id;
  end if;
  return jsonb_build_object(
    'id', found.id,
    'user_id', found.user_id,
    'email', owner_email,
    'workspace_id', found.workspace_id,
    'access', found.access,
    'tables', found.tables,
    'rpcs', found.rpcs,
    'functions', found.functions,
    'expires_at', found.expires_at
  );
end
$$;

revoke execute on function public.resolve_personal_api_key(text) from public, anon, authenticated;
grant execute on function public.resolve_personal_api_key(text) to personal_key_resolver;

-- workspace-scoped keys ------------------------------------------------------------------------

-- 0004's membership check, which every workspace-scoped policy uses, now also confines a token
-- minted for a workspace-scoped personal key (claim scopes.workspace_id) to that workspace.
create or replace function public.is_workspace_member(
  workspace uuid,
  minimum_role public.workspace_role default 'viewer'
) returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.workspace_members m
    where m.workspace_id = workspace
      and m.user_id = auth.uid()
      and m.role >= minimum_role
  )
  and coalesce((auth.jwt() -> 'scopes' ->> 'workspace_id')::uuid = workspace, true)
$$;

-- Whether the request may touch `workspace`: always, except under a workspace-scoped key's token
-- for another workspace (or for rows of no workspace). In public because policies call it as the
-- caller (private is closed to API roles); it only reads the caller's own claims.
create or replace function public.personal_key_allows_workspace(workspace uuid) returns boolean
language sql stable
set search_path = ''
as $$
  select (auth.jwt() -> 'scopes' ->> 'workspace_id') is null
      or coalesce((auth.jwt() -> 'scopes' ->> 'workspace_id')::uuid = workspace, false)
$$;

revoke all on function public.personal_key_allows_workspace(uuid) from public, anon;
grant execute on function public.personal_key_allows_workspace(uuid) to authenticated, service_role;

-- One restrictive policy per workspace-scoped table (every table of `public` with a
-- workspace_id column, and workspaces itself): permissive policies still decide what the user
-- may do; this only takes away other workspaces under a workspace-scoped key.
do $$
declare
  scoped record;
begin
  for scoped in
    select c.relname as table_name, case when c.relname = 'workspaces' then 'id' else 'workspace_id' end as column_name
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and (c.relname = 'workspaces' or exists (
        select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped))
      and c.relname <> 'security_personal_api_keys'
  loop
    execute format('drop policy if exists "Workspace-scoped personal keys stay in their workspace" on public.%I', scoped.table_name);
    execute format(
      'create policy "Workspace-scoped personal keys stay in their workspace" on public.%I as restrictive for all to authenticated '
      'using ((select public.personal_key_allows_workspace(%I))) with check ((select public.personal_key_allows_workspace(%I)))',
      scoped.table_name, scoped.column_name, scoped.column_name);
  end loop;
end
$$;
