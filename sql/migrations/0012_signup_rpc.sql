-- 0012 signup RPC
--
-- create_profile_on_signup(
--   full_name text default null, avatar_url text default null, workspace_name text default null,
--   timezone text default null, marketing_opt_in boolean default null
-- ) returns jsonb
--   -> {"created": bool, "profile": <user_profiles row>, "workspace": <workspaces row>}
--
-- Called by `authenticated` only (POST /rest/v1/rpc/create_profile_on_signup). Identity comes
-- only from the token: id = auth.uid(), email = auth.jwt()->>'email'; the name falls back to
-- user_metadata.full_name, then user_metadata.name. In one transaction it makes sure the caller
-- has: a profile (role 'user'), a personal workspace they own (owner row in workspace_members),
-- default user_email_preferences (marketing off unless marketing_opt_in) and
-- user_onboarding_status. Calls for one user are serialised by a transaction-scoped advisory
-- lock and every insert is ON CONFLICT DO NOTHING on a unique key, so a repeat call (or ten
-- racing first calls) ends with exactly one of each; `created` is true only for the call that
-- inserted the profile. A repeat call never overwrites what is stored.
--
-- Errors (SQLSTATE -> PostgREST status):
--   28000 -> 403  no `sub` in the token; no email in the token; the sub is not in auth.users
--                 (on plain PostgreSQL the token issuer must insert auth.users first)
--   22023 -> 400  a malformed argument (the message names it)
--   23505 -> 409  another profile already uses the token's email
--
-- SECURITY DEFINER because it writes workspaces/workspace_members rows the caller could not yet
-- write under RLS (they are not a member of anything before this call).

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
