-- 0019 invitation lifecycle
--
-- An invitation is used once. Until this migration the UPDATE policy only checked that the
-- caller was an admin of the workspace, so an admin could set their own accepted invitation
-- back to `pending` with a far `expires_at` and, after being removed, accept it again; any
-- admin could also reopen an owner's admin-role invitation (issue 14, item 1). Now:
--
--   - `accepted`, `revoked` and `expired` are final, for every role: status, expiry, role,
--     address and workspace of such an invitation never change again (42501);
--   - signed-in users (admins and owners, through the policies) may only revoke a pending
--     invitation or bring its expiry forward (42501 for anything else); accepting is
--     accept_workspace_invitation's alone (0018);
--   - an invitation leaving `pending` loses its token (set to null), so a link that was used or
--     revoked names nothing; rows already accepted, revoked or expired lose theirs now;
--   - only owners update or delete admin-role invitations (admins see them, as before);
--   - an invitation sent through the API expires at most 30 days after it is sent (22023), and
--     nobody sends one to their own address (22023): no spare invitation to come back with.
--
-- The checks on old and new values are a trigger (policies cannot compare them), like the role
-- guard on user_profiles (0003).

alter table public.workspace_invitations alter column token drop not null;

-- SECURITY INVOKER, so current_user tells a request made as `authenticated` from the
-- invitation RPC (SECURITY DEFINER) and from maintenance work done as the table owner.
create or replace function private.guard_workspace_invitation() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  api_caller boolean := current_user = 'authenticated';
begin
  if tg_op = 'INSERT' then
    if new.status <> 'pending' then
      new.token := null;
    end if;
    if api_caller and new.expires_at > now() + interval '30 days' then
      raise exception 'an invitation expires at most 30 days after it is sent'
        using errcode = '22023', hint = 'Leave expires_at out for the default of 7 days.';
    end if;
    if api_caller and exists (
      select 1 from public.user_profiles p
      where p.id = new.invited_by and lower(p.email) = lower(new.email)
    ) then
      raise exception 'you cannot invite yourself' using errcode = '22023';
    end if;
    return new;
  end if;

  if old.status <> 'pending' then
    if new.status is distinct from old.status
       or new.expires_at is distinct from old.expires_at
       or new.role is distinct from old.role
       or lower(new.email) is distinct from lower(old.email)
       or new.workspace_id is distinct from old.workspace_id
       or new.accepted_at is distinct from old.accepted_at
       or new.token is not null then
      raise exception 'this invitation is % and can no longer change', old.status
        using errcode = '42501', hint = 'Send a new invitation instead.';
    end if;
    return new;
  end if;

  if api_caller then
    if new.status not in ('pending', 'revoked') then
      raise exception 'a pending invitation can only be revoked; the invitee accepts it'
        using errcode = '42501';
    end if;
    if new.expires_at > old.expires_at then
      raise exception 'an invitation''s expiry can only be brought forward'
        using errcode = '42501', hint = 'Send a new invitation to give more time.';
    end if;
  end if;
  if new.status <> 'pending' then
    new.token := null;
  end if;
  return new;
end
$$;

revoke execute on function private.guard_workspace_invitation() from public, anon, authenticated;

create or replace trigger workspace_invitations_guard_lifecycle
  before insert or update on public.workspace_invitations
  for each row execute function private.guard_workspace_invitation();

update public.workspace_invitations set token = null where status <> 'pending' and token is not null;

-- Admins manage member and viewer invitations; admin-role ones are the owners'.
drop policy if exists "Admins can revoke invitations" on public.workspace_invitations;
create policy "Admins can revoke invitations" on public.workspace_invitations
  for update to authenticated
  using (
    (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
    or (select public.is_workspace_member(workspace_id, 'owner'))
  )
  with check (
    (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
    or (select public.is_workspace_member(workspace_id, 'owner'))
  );

drop policy if exists "Admins can delete invitations" on public.workspace_invitations;
create policy "Admins can delete invitations" on public.workspace_invitations
  for delete to authenticated
  using (
    (role < 'admin' and (select public.is_workspace_member(workspace_id, 'admin')))
    or (select public.is_workspace_member(workspace_id, 'owner'))
  );
