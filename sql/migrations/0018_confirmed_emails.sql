-- 0018 confirmed emails
--
-- Only a confirmed email address says who someone is. Until this migration, seeing and accepting
-- a workspace invitation, and the profile's unique email at sign-up, trusted the access token's
-- `email` claim. Supabase Auth puts an address there before anyone has proven they read its
-- mail (email confirmation off, OAuth providers that do not verify addresses, third-party
-- issuers), so someone could register ceo@victim.com and accept that address's invitations or
-- take the address for their own profile (issue 14, item 2).
--
-- public.caller_confirmed_email() returns text
--   The caller's email address, lower-cased, when it is confirmed; null otherwise. Confirmed:
--   the token is not anonymous (`is_anonymous` is not true) and
--     - its `sub` is a row of auth.users that is not anonymous, not deleted, has
--       `email_confirmed_at` set (what Supabase Auth records once the address is confirmed) and
--       holds the token's `email` (any case): a token from before an email change, still
--       carrying the old address, no longer qualifies; or
--     - its `sub` is not in auth.users at all (a third-party issuer's user) and the token has the
--       OpenID Connect claim `email_verified` set to JSON true.
--   `user_metadata.email_verified` never counts: users write user_metadata themselves
--   (supabase.auth.updateUser({ data })). SECURITY DEFINER to read auth.users, which the API
--   roles cannot. Note: with Supabase Auth's email confirmation switched off (autoconfirm),
--   every address is marked confirmed at sign-up and this check cannot tell; keep confirmation
--   on where invitations by address matter.
--
-- What uses it:
--   workspace_invitations  invitees see only invitations to their confirmed address
--   accept_workspace_invitation(token)  accepts only those (22023 otherwise, as before)
--   create_profile_on_signup(...)  refuses an unconfirmed address with 28000 (403)
-- and profile emails are unique whatever their case (lower(email)), as the Resend intake
-- (0014) already assumes when it matches a recipient to a profile.
--
-- On plain PostgreSQL the auth.users stand-in (0001) gains Supabase's `email_confirmed_at`
-- column; Supabase's own table has it and is never altered.

do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_attribute a
    where a.attrelid = 'auth.users'::regclass and a.attname = 'email_confirmed_at' and not a.attisdropped
  ) then
    alter table auth.users add column email_confirmed_at timestamptz;
  end if;
end
$$;

create or replace function public.caller_confirmed_email() returns text
language sql stable security definer
set search_path = ''
as $$
  with token as (
    select coalesce(auth.jwt(), '{}'::jsonb) as claims, auth.uid() as sub
  )
  select lower(btrim(t.claims ->> 'email'))
  from token t
  where nullif(btrim(t.claims ->> 'email'), '') is not null
    and coalesce(t.claims -> 'is_anonymous', 'false'::jsonb) <> 'true'::jsonb
    and case
      when exists (select 1 from auth.users u where u.id = t.sub) then exists (
        select 1 from auth.users u
        where u.id = t.sub
          and u.email_confirmed_at is not null
          and u.deleted_at is null
          and not coalesce(u.is_anonymous, false)
          and lower(u.email) = lower(btrim(t.claims ->> 'email'))
      )
      else t.sub is not null and t.claims -> 'email_verified' = 'true'::jsonb
    end
$$;

revoke execute on function public.caller_confirmed_email() from public, anon;
grant execute on function public.caller_confirmed_email() to authenticated, service_role;

-- profile emails, unique whatever their case --------------------------------------------------

do $$
declare
  clashes integer;
begin
  select count(*) into clashes from (
    select 1 from public.user_profiles p group by lower(p.email) having count(*) > 1
  ) c;
  if clashes > 0 then
    raise exception '% email address(es) belong to more than one profile when case is ignored', clashes
      using hint = 'Find them with: select lower(email), array_agg(id) from public.user_profiles group by 1 having count(*) > 1; '
                   'resolve them, then run the migrations again.';
  end if;
end
$$;

create unique index if not exists idx_user_profiles_email_lower_unique on public.user_profiles (lower(email));
alter table public.user_profiles drop constraint if exists user_profiles_email_key;

-- invitations ----------------------------------------------------------------------------------

drop policy if exists "Admins and invitees can view invitations" on public.workspace_invitations;
create policy "Admins and invitees can view invitations" on public.workspace_invitations
  for select to authenticated
  using (
    (select public.is_workspace_member(workspace_id, 'admin'))
    or lower(email) = (select public.caller_confirmed_email())
  );

-- accept_workspace_invitation(invitation_token text) returns public.workspace_members
--   As in 0004, except that the invitation must be addressed to the caller's confirmed email.
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
     or lower(invitation.email) is distinct from public.caller_confirmed_email() then
    raise exception 'no valid invitation for this token'
      using errcode = '22023',
            hint = 'Ask for a new invitation sent to your own address, and confirm that address first.';
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

-- sign-up --------------------------------------------------------------------------------------

-- create_profile_on_signup(...) returns jsonb
--   As in 0012, with one more refusal: 28000 (403) when the token's email is not confirmed
--   (see caller_confirmed_email above; anonymous users never have a confirmed one). The
--   stored address keeps the case the token gives; a second profile with the same address in
--   any case is a 23505 (409).
create or replace function public.create_profile_on_signup(
  full_name text default null,
  avatar_url text default null,
  workspace_name text default null,
  timezone text default null,
  marketing_opt_in boolean default null
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  caller uuid := auth.uid();
  claims jsonb := coalesce(auth.jwt(), '{}'::jsonb);
  caller_email text := nullif(btrim(claims ->> 'email'), '');
  profile_name text;
  personal_workspace_name text;
  profile public.user_profiles;
  workspace public.workspaces;
  created boolean := false;
begin
  if caller is null then
    raise exception 'the token has no subject'
      using errcode = '28000', hint = 'Call this with a signed-in user''s access token.';
  end if;
  if caller_email is null then
    raise exception 'the token has no email'
      using errcode = '28000', hint = 'Anonymous or phone-only users cannot create a profile.';
  end if;
  if not exists (select 1 from auth.users u where u.id = caller) then
    raise exception 'user % does not exist in auth.users', caller
      using errcode = '28000', hint = 'The token issuer must create the auth.users row first.';
  end if;
  if public.caller_confirmed_email() is null then
    raise exception 'the token''s email address is not confirmed'
      using errcode = '28000',
            hint = 'Confirm the address (follow the link Supabase Auth sent), sign in again and retry.';
  end if;

  profile_name := nullif(btrim(coalesce(
    full_name,
    claims -> 'user_metadata' ->> 'full_name',
    claims -> 'user_metadata' ->> 'name'
  )), '');
  if profile_name is not null
     and (char_length(profile_name) > 120 or profile_name ~ '[[:cntrl:]]') then
    raise exception 'full_name must be 1 to 120 characters without control characters'
      using errcode = '22023';
  end if;
  if avatar_url is not null and avatar_url !~ '^https://' then
    raise exception 'avatar_url must be an https URL' using errcode = '22023';
  end if;
  if timezone is not null and not exists (select 1 from pg_catalog.pg_timezone_names t where t.name = timezone) then
    raise exception 'timezone % is not a known IANA time zone', timezone using errcode = '22023';
  end if;
  personal_workspace_name := nullif(btrim(workspace_name), '');
  if personal_workspace_name is not null
     and (char_length(personal_workspace_name) > 120 or personal_workspace_name ~ '[[:cntrl:]]') then
    raise exception 'workspace_name must be 1 to 120 characters without control characters'
      using errcode = '22023';
  end if;
  personal_workspace_name := coalesce(
    personal_workspace_name,
    left(coalesce(profile_name, split_part(caller_email, '@', 1)), 108) || '''s workspace'
  );

  -- Racing first calls for one user queue here, one transaction at a time. ON CONFLICT alone is
  -- not enough: it only arbitrates the primary key, and a racing insert can trip the unique
  -- email index first and fail with 23505 instead of finding the existing profile.
  perform pg_advisory_xact_lock(hashtextextended('create_profile_on_signup:' || caller::text, 0));

  insert into public.user_profiles (id, email, full_name, avatar_url, timezone, role)
  values (caller, caller_email, profile_name, avatar_url, timezone, 'user')
  on conflict (id) do nothing
  returning * into profile;
  created := profile.id is not null;

  if not created then
    select * into profile from public.user_profiles p where p.id = caller;
  end if;

  insert into public.workspaces (name, owner_id, is_personal)
  values (personal_workspace_name, caller, true)
  on conflict (owner_id) where is_personal do nothing
  returning * into workspace;

  if workspace.id is null then
    select * into workspace from public.workspaces w where w.owner_id = caller and w.is_personal;
  end if;

  -- The workspaces trigger adds the owner row; this covers personal workspaces made before it.
  insert into public.workspace_members (workspace_id, user_id, role)
  values (workspace.id, caller, 'owner')
  on conflict (workspace_id, user_id) do nothing;

  insert into public.user_email_preferences (user_id, marketing_emails)
  values (caller, coalesce(marketing_opt_in, false))
  on conflict (user_id) do nothing;

  insert into public.user_onboarding_status (user_id)
  values (caller)
  on conflict (user_id) do nothing;

  return jsonb_build_object(
    'created', created,
    'profile', to_jsonb(profile),
    'workspace', to_jsonb(workspace)
  );
end
$$;

revoke execute on function public.create_profile_on_signup(text, text, text, text, boolean)
  from public, anon, authenticated;
grant execute on function public.create_profile_on_signup(text, text, text, text, boolean)
  to authenticated;
