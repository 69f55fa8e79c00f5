-- 0003 users
--
-- A person's own state: profile, email preferences, onboarding, plan and subscriptions.
-- Rule: a user sees (and where it makes sense, changes) only their own rows; platform admins
-- (user_profiles.role = 'admin') read all profiles and plans; nobody changes their own role.
-- Profiles are created by create_profile_on_signup (0012), plans and subscriptions by the
-- webhook intake (0014); neither is inserted directly by users.
--
-- user_profiles.id references auth.users(id): on plain PostgreSQL whoever issues tokens (dev
-- stack, seed, tests) must insert the auth.users row first; on Supabase GoTrue does.

-- user_profiles --------------------------------------------------------------------------------

create table if not exists public.user_profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null,
  full_name text,
  role public.user_role not null default 'user',
  avatar_url text,
  timezone text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_profiles_email_key unique (email),
  constraint user_profiles_full_name_length check (full_name is null or char_length(full_name) between 1 and 120),
  constraint user_profiles_avatar_url_https check (avatar_url is null or avatar_url ~ '^https://')
);

create or replace trigger user_profiles_set_updated_at
  before update on public.user_profiles
  for each row execute function private.set_updated_at();

-- Platform admin check used by policies across the schema. SECURITY DEFINER so that policies on
-- user_profiles can call it without recursing into their own RLS.
create or replace function public.is_admin() returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.user_profiles
    where id = auth.uid() and role = 'admin'
  )
$$;

revoke execute on function public.is_admin() from public, anon;
grant execute on function public.is_admin() to authenticated, service_role;

-- Nobody changes their own role, and only admins change anyone's. Policies cannot compare old
-- and new values, so a trigger does; it only restrains requests made as `authenticated`.
create or replace function private.guard_user_profile_role() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.role is distinct from old.role and current_user = 'authenticated' then
    if new.id = auth.uid() then
      raise exception 'you cannot change your own role'
        using errcode = '42501', hint = 'Ask another admin.';
    end if;
    if not public.is_admin() then
      raise exception 'only admins can change roles' using errcode = '42501';
    end if;
  end if;
  return new;
end
$$;

revoke execute on function private.guard_user_profile_role() from public, anon, authenticated;

create or replace trigger user_profiles_guard_role
  before update on public.user_profiles
  for each row execute function private.guard_user_profile_role();

alter table public.user_profiles enable row level security;

drop policy if exists "Users can view their own profile" on public.user_profiles;
create policy "Users can view their own profile" on public.user_profiles
  for select to authenticated
  using (id = (select auth.uid()));

drop policy if exists "Admins can view all profiles" on public.user_profiles;
create policy "Admins can view all profiles" on public.user_profiles
  for select to authenticated
  using ((select public.is_admin()));

drop policy if exists "Users can update their own profile" on public.user_profiles;
create policy "Users can update their own profile" on public.user_profiles
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

drop policy if exists "Admins can update all profiles" on public.user_profiles;
create policy "Admins can update all profiles" on public.user_profiles
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));

revoke all on public.user_profiles from anon, authenticated;
grant select on public.user_profiles to authenticated;
grant update (full_name, avatar_url, timezone, role) on public.user_profiles to authenticated;
grant all on public.user_profiles to service_role;

-- user_email_preferences -----------------------------------------------------------------------

create table if not exists public.user_email_preferences (
  user_id uuid primary key references public.user_profiles (id) on delete cascade,
  marketing_emails boolean not null default false,
  product_updates boolean not null default true,
  security_alerts boolean not null default true,
  -- Set by the webhook intake on a hard bounce or complaint; users cannot clear it themselves.
  suppressed_at timestamptz,
  suppressed_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace trigger user_email_preferences_set_updated_at
  before update on public.user_email_preferences
  for each row execute function private.set_updated_at();

alter table public.user_email_preferences enable row level security;

drop policy if exists "Users can view their own email preferences" on public.user_email_preferences;
create policy "Users can view their own email preferences" on public.user_email_preferences
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Users can create their own email preferences" on public.user_email_preferences;
create policy "Users can create their own email preferences" on public.user_email_preferences
  for insert to authenticated
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can update their own email preferences" on public.user_email_preferences;
create policy "Users can update their own email preferences" on public.user_email_preferences
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

revoke all on public.user_email_preferences from anon, authenticated;
grant select on public.user_email_preferences to authenticated;
grant insert (user_id, marketing_emails, product_updates, security_alerts)
  on public.user_email_preferences to authenticated;
grant update (marketing_emails, product_updates, security_alerts)
  on public.user_email_preferences to authenticated;
grant all on public.user_email_preferences to service_role;

-- user_onboarding_status -----------------------------------------------------------------------

create table if not exists public.user_onboarding_status (
  user_id uuid primary key references public.user_profiles (id) on delete cascade,
  current_step text not null default 'welcome',
  completed_steps text[] not null default '{}',
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace trigger user_onboarding_status_set_updated_at
  before update on public.user_onboarding_status
  for each row execute function private.set_updated_at();

alter table public.user_onboarding_status enable row level security;

drop policy if exists "Users can view their own onboarding status" on public.user_onboarding_status;
create policy "Users can view their own onboarding status" on public.user_onboarding_status
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Users can create their own onboarding status" on public.user_onboarding_status;
create policy "Users can create their own onboarding status" on public.user_onboarding_status
  for insert to authenticated
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can update their own onboarding status" on public.user_onboarding_status;
create policy "Users can update their own onboarding status" on public.user_onboarding_status
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

revoke all on public.user_onboarding_status from anon, authenticated;
grant select, insert, update on public.user_onboarding_status to authenticated;
grant all on public.user_onboarding_status to service_role;

-- user_plans -----------------------------------------------------------------------------------

create table if not exists public.user_plans (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  plan_name text not null default 'free',
  status public.subscription_status,
  stripe_customer_id text,
  stripe_subscription_id text,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  -- Provider time of the newest webhook event applied here; older events change nothing.
  last_event_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_plans_user_id_key unique (user_id),
  constraint user_plans_plan_name_not_blank check (char_length(plan_name) between 1 and 64)
);

create or replace trigger user_plans_set_updated_at
  before update on public.user_plans
  for each row execute function private.set_updated_at();

alter table public.user_plans enable row level security;

drop policy if exists "Users can view their own plan" on public.user_plans;
create policy "Users can view their own plan" on public.user_plans
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all plans" on public.user_plans;
create policy "Admins can view all plans" on public.user_plans
  for select to authenticated
  using ((select public.is_admin()));

drop policy if exists "Admins can update plans" on public.user_plans;
create policy "Admins can update plans" on public.user_plans
  for update to authenticated
  using ((select public.is_admin()))
  with check ((select public.is_admin()));

revoke all on public.user_plans from anon, authenticated;
grant select on public.user_plans to authenticated;
grant update (plan_name, status, current_period_end, cancel_at_period_end)
  on public.user_plans to authenticated;
grant all on public.user_plans to service_role;

-- user_subscriptions ---------------------------------------------------------------------------

create table if not exists public.user_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  stripe_subscription_id text not null,
  stripe_customer_id text not null,
  stripe_price_id text,
  plan_name text,
  status public.subscription_status not null,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  canceled_at timestamptz,
  last_event_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_subscriptions_stripe_subscription_id_key unique (stripe_subscription_id)
);

create index if not exists idx_user_subscriptions_user_id on public.user_subscriptions (user_id);
create index if not exists idx_user_subscriptions_customer on public.user_subscriptions (stripe_customer_id);

create or replace trigger user_subscriptions_set_updated_at
  before update on public.user_subscriptions
  for each row execute function private.set_updated_at();

alter table public.user_subscriptions enable row level security;

drop policy if exists "Users can view their own subscriptions" on public.user_subscriptions;
create policy "Users can view their own subscriptions" on public.user_subscriptions
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all subscriptions" on public.user_subscriptions;
create policy "Admins can view all subscriptions" on public.user_subscriptions
  for select to authenticated
  using ((select public.is_admin()));

revoke all on public.user_subscriptions from anon, authenticated;
grant select on public.user_subscriptions to authenticated;
grant all on public.user_subscriptions to service_role;
