-- 0004 workspaces
--
-- Tenancy: workspaces, who belongs to them (owner > admin > member > viewer) and invitations.
-- Rules: members see their workspace and its roster; admins and owners manage members and
-- invitations, but only owners grant `admin`; nobody changes their own role; the owner row is
-- created by a trigger when the workspace is created and cannot be changed or removed through
-- the API (erasure transfers ownership, see 0015).

-- workspaces -----------------------------------------------------------------------------------

create table if not exists public.workspaces (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  -- RESTRICT: a user's erasure must hand shared workspaces over before their profile goes.
  owner_id uuid not null references public.user_profiles (id) on delete restrict,
  is_personal boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint workspaces_name_length check (char_length(btrim(name)) between 1 and 120)
);

create index if not exists idx_workspaces_owner_id on public.workspaces (owner_id);
-- One personal workspace per user; create_profile_on_signup relies on it to stay idempotent.
create unique index if not exists idx_workspaces_personal_owner_unique
  on public.workspaces (owner_id) where is_personal;

create or replace trigger workspaces_set_updated_at
  before update on public.workspaces
  for each row execute function private.set_updated_at();

-- workspace_members ----------------------------------------------------------------------------

create table if not exists public.workspace_members (
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  role public.workspace_role not null default 'member',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, user_id)
);

create index if not exists idx_workspace_members_user_id on public.workspace_members (user_id);

create or replace trigger workspace_members_set_updated_at
  before update on public.workspace_members
  for each row execute function private.set_updated_at();

-- True when the caller belongs to `workspace` with at least `minimum_role`. SECURITY DEFINER so
-- policies on workspace_members (and everything workspace-scoped) can use it without recursion.
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
$$;

revoke execute on function public.is_workspace_member(uuid, public.workspace_role) from public, anon;
grant execute on function public.is_workspace_member(uuid, public.workspace_role)
  to authenticated, service_role;

-- The creator of a workspace becomes its owner member in the same statement.
create or replace function private.add_workspace_owner_membership() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into public.workspace_members (workspace_id, user_id, role)
  values (new.id, new.owner_id, 'owner')
  on conflict (workspace_id, user_id) do update set role = 'owner';
  return new;
end
$$;

revoke execute on function private.add_workspace_owner_membership() from public, anon, authenticated;

create or replace trigger workspaces_add_owner_membership
  after insert on public.workspaces
  for each row execute function private.add_workspace_owner_membership();

alter table public.workspaces enable row level security;

drop policy if exists "Members can view their workspaces" on public.workspaces;
create policy "Members can view their workspaces" on public.workspaces
  for select to authenticated
  using (
    owner_id = (select auth.uid())
    or (select public.is_workspace_member(id))
    or (select public.is_admin())
  );

drop policy if exists "Users can create workspaces they own" on public.workspaces;
create policy "Users can create workspaces they own" on public.workspaces
  for insert to authenticated
  with check (owner_id = (select auth.uid()));

drop policy if exists "Admins of a workspace can rename it" on public.workspaces;
create policy "Admins of a workspace can rename it" on public.workspaces
  for update to authenticated
  using ((select public.is_workspace_member(id, 'admin')))
  with check ((select public.is_workspace_member(id, 'admin')));

drop policy if exists "Owners can delete their shared workspaces" on public.workspaces;
create policy "Owners can delete their shared workspaces" on public.workspaces
  for delete to authenticated
  using ((select public.is_workspace_member(id, 'owner')) and not is_personal);

revoke all on public.workspaces from anon, authenticated;
grant select, delete on public.workspaces to authenticated;
grant insert (id, name, owner_id) on public.workspaces to authenticated;
grant update (name) on public.workspaces to authenticated;
grant all on public.workspaces to service_role;

alter table public.workspace_members enable row level security;

drop policy if exists "Members can view their workspace's members" on public.workspace_members;
create policy "Members can view their workspace's members" on public.workspace_members
  for select to authenticated
  using (
    user_id = (select auth.uid())
    or (select public.is_workspace_member(workspace_id))
    or (select public.is_admin())
  );

-- Admins add members and viewers; only owners add admins; nobody adds an owner.
drop policy if exists "Admins can add members" on public.workspace_members;
create policy "Admins can add members" on public.workspace_members
  for insert to authenticated
  with check (
    (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
    or (role = 'admin' and (select public.is_workspace_member(workspace_id, 'owner')))
  );

drop policy if exists "Admins can change other members' roles" on public.workspace_members;
create policy "Admins can change other members' roles" on public.workspace_members
  for update to authenticated
  using (
    user_id <> (select auth.uid())
    and role <> 'owner'
    and (
      (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
      or (select public.is_workspace_member(workspace_id, 'owner'))
    )
  )
  with check (
    user_id <> (select auth.uid())
    and (
      (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
      or (role = 'admin' and (select public.is_workspace_member(workspace_id, 'owner')))
    )
  );

drop policy if exists "Members can leave and admins can remove members" on public.workspace_members;
create policy "Members can leave and admins can remove members" on public.workspace_members
  for delete to authenticated
  using (
    role <> 'owner'
    and (
      user_id = (select auth.uid())
      or (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
      or (select public.is_workspace_member(workspace_id, 'owner'))
    )
  );

revoke all on public.workspace_members from anon, authenticated;
grant select, delete on public.workspace_members to authenticated;
grant insert (workspace_id, user_id, role) on public.workspace_members to authenticated;
grant update (role) on public.workspace_members to authenticated;
grant all on public.workspace_members to service_role;

-- workspace_invitations ------------------------------------------------------------------------

create table if not exists public.workspace_invitations (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  email text not null,
  role public.workspace_role not null default 'member',
  -- 244 random bits from two v4 uuids; core PostgreSQL, no pgcrypto needed.
  token text not null default (replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '')),
  status public.invitation_status not null default 'pending',
  invited_by uuid references public.user_profiles (id) on delete set null,
  expires_at timestamptz not null default (now() + interval '7 days'),
  accepted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint workspace_invitations_token_key unique (token),
  constraint workspace_invitations_email_format check (email ~ '^[^@\s]+@[^@\s]+$'),
  constraint workspace_invitations_role_not_owner check (role <> 'owner')
);

create index if not exists idx_workspace_invitations_workspace_id on public.workspace_invitations (workspace_id);
create index if not exists idx_workspace_invitations_email on public.workspace_invitations (lower(email));
create index if not exists idx_workspace_invitations_status on public.workspace_invitations (status);
create index if not exists idx_workspace_invitations_expires_at on public.workspace_invitations (expires_at);
create unique index if not exists idx_workspace_invitations_pending_unique
  on public.workspace_invitations (workspace_id, lower(email)) where status = 'pending';

create or replace trigger workspace_invitations_set_updated_at
  before update on public.workspace_invitations
  for each row execute function private.set_updated_at();

alter table public.workspace_invitations enable row level security;

drop policy if exists "Admins and invitees can view invitations" on public.workspace_invitations;
create policy "Admins and invitees can view invitations" on public.workspace_invitations
  for select to authenticated
  using (
    (select public.is_workspace_member(workspace_id, 'admin'))
    or lower(email) = lower((select auth.email()))
  );

drop policy if exists "Admins can invite" on public.workspace_invitations;
create policy "Admins can invite" on public.workspace_invitations
  for insert to authenticated
  with check (
    invited_by = (select auth.uid())
    and (
      (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
      or (role = 'admin' and (select public.is_workspace_member(workspace_id, 'owner')))
    )
  );

drop policy if exists "Admins can revoke invitations" on public.workspace_invitations;
create policy "Admins can revoke invitations" on public.workspace_invitations
  for update to authenticated
  using ((select public.is_workspace_member(workspace_id, 'admin')))
  with check ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Admins can delete invitations" on public.workspace_invitations;
create policy "Admins can delete invitations" on public.workspace_invitations
  for delete to authenticated
  using ((select public.is_workspace_member(workspace_id, 'admin')));

revoke all on public.workspace_invitations from anon, authenticated;
grant select, delete on public.workspace_invitations to authenticated;
grant insert (workspace_id, email, role, invited_by, expires_at)
  on public.workspace_invitations to authenticated;
grant update (status, expires_at) on public.workspace_invitations to authenticated;
grant all on public.workspace_invitations to service_role;

-- accept_workspace_invitation(invitation_token text) returns public.workspace_members
--   Called by `authenticated`. Joins the caller to the invitation's workspace with its role when
--   the invitation is pending, unexpired and addressed to the caller's token email. SECURITY
--   DEFINER because the invitee is not a member yet and may not insert memberships themselves.
--   Errors: 22023 (no such pending invitation / expired / other address).
create or replace function public.accept_workspace_invitation(invitation_token text)
returns public.workspace_members
language plpgsql security definer
set search_path = ''
as $$
declare
  invitation public.workspace_invitations;
  membership public.workspace_members;
begin
  select * into invitation
  from public.workspace_invitations
  where token = invitation_token and status = 'pending'
  for update;

  if invitation.id is null
     or invitation.expires_at <= now()
     or lower(invitation.email) is distinct from lower(auth.email()) then
    raise exception 'no valid invitation for this token'
      using errcode = '22023', hint = 'Ask for a new invitation sent to your own address.';
  end if;

  insert into public.workspace_members (workspace_id, user_id, role)
  values (invitation.workspace_id, auth.uid(), invitation.role)
  on conflict (workspace_id, user_id) do update set role = excluded.role
    where public.workspace_members.role < excluded.role
  returning * into membership;

  if membership.user_id is null then
    select * into membership from public.workspace_members
    where workspace_id = invitation.workspace_id and user_id = auth.uid();
  end if;

  update public.workspace_invitations
  set status = 'accepted', accepted_at = now()
  where id = invitation.id;

  return membership;
end
$$;

revoke execute on function public.accept_workspace_invitation(text) from public, anon;
grant execute on function public.accept_workspace_invitation(text) to authenticated, service_role;
