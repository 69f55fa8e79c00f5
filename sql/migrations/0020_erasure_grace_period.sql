-- 0020 erasure grace period
--
-- Erasing an account is the one thing an access token can do that nobody can undo. Until this
-- migration request_account_deletion accepted delay_days = 0, so a stolen one-hour token could
-- have everything deleted by the next cleanup run, at most 15 minutes later (issue 14, item 5).
-- Now the erasure is scheduled at least `account_deletion.minimum_delay_days` (system_settings,
-- default 7) days out, unless the token proves its holder is really there:
--   - `aal` = 'aal2': the session passed a second factor; or
--   - a sign-in within `account_deletion.recent_sign_in_minutes` (default 5): the newest
--     `amr[].timestamp` (when Supabase Auth verified a password, OTP, OAuth, TOTP... for this
--     session). `iat` is no sign-in time: every token refresh issues a new one.
-- Every accepted request (also a reschedule) leaves a row in comms_notifications for the app to
-- send, so the account's owner hears about a request they did not make while it can still be
-- cancelled (cancel_account_deletion needs no proof: cancelling only ever keeps data).
--
-- comms_notifications: messages the app owes a user. Written by the database (SECURITY DEFINER
-- functions) only; the user reads their own; the app's sender (service_role) reads the unsent
-- ones (`sent_at is null`, oldest first), sends them and sets `sent_at`. Rows go with the user
-- (auth.users ON DELETE CASCADE), also at erasure.
--   kind 'account_deletion_scheduled', to_email: the profile's (else auth.users') address, payload:
--   {"deletion_id", "scheduled_for", "requested_at", "aal", "recent_sign_in"}

do $$
begin
  create type public.notification_kind as enum ('account_deletion_scheduled');
exception when duplicate_object then null;
end
$$;

create table if not exists public.comms_notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  kind public.notification_kind not null,
  to_email text,
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);

create index if not exists idx_comms_notifications_user_id on public.comms_notifications (user_id);
create index if not exists idx_comms_notifications_unsent on public.comms_notifications (created_at) where sent_at is null;

alter table public.comms_notifications enable row level security;

drop policy if exists "Users can view their own notifications" on public.comms_notifications;
create policy "Users can view their own notifications" on public.comms_notifications
  for select to authenticated
  using (user_id = (select auth.uid()));

revoke all on public.comms_notifications from anon, authenticated;
grant select on public.comms_notifications to authenticated;
grant all on public.comms_notifications to service_role;

-- Defaults only; an operator's values survive re-running this file.
insert into public.system_settings (key, value, description) values
  ('account_deletion.minimum_delay_days', '7',
   'An erasure a user requests is scheduled at least this many days out, unless the session has a second factor (aal2) or signed in within account_deletion.recent_sign_in_minutes.'),
  ('account_deletion.recent_sign_in_minutes', '5',
   'How recent a sign-in (the newest amr timestamp of the access token) must be to schedule an erasure sooner than account_deletion.minimum_delay_days.')
on conflict (key) do nothing;

-- A whole number from a system_settings row, or the fallback when the row is missing or holds
-- anything else.
create or replace function private.setting_integer(setting_key text, fallback integer) returns integer
language sql stable
set search_path = ''
as $$
  select coalesce(
    (select (s.value #>> '{}')::integer from public.system_settings s
     where s.key = setting_key and jsonb_typeof(s.value) = 'number' and (s.value #>> '{}') ~ '^[0-9]{1,6}$'),
    fallback
  )
$$;

revoke execute on function private.setting_integer(text, integer) from public, anon, authenticated;

-- request_account_deletion(reason text default null, delay_days int default 30)
--   returns system_scheduled_deletions
--   Schedules (or reschedules) the caller's own erasure `delay_days` from now. Errors: 28000
--   (403) without a subject; 22023 (400) for delay_days outside 0..365; 42501 (403) for a delay
--   under the minimum without aal2 or a recent sign-in.
create or replace function public.request_account_deletion(
  reason text default null,
  delay_days integer default 30
) returns public.system_scheduled_deletions
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  claims jsonb := coalesce(auth.jwt(), '{}'::jsonb);
  minimum_days integer := private.setting_integer('account_deletion.minimum_delay_days', 7);
  recent_minutes integer := private.setting_integer('account_deletion.recent_sign_in_minutes', 5);
  second_factor boolean := coalesce(claims ->> 'aal' = 'aal2', false);
  last_sign_in timestamptz;
  recent_sign_in boolean;
  scheduled public.system_scheduled_deletions;
begin
  if auth.uid() is null then
    raise exception 'the token has no subject' using errcode = '28000';
  end if;
  if delay_days is null or delay_days < 0 or delay_days > 365 then
    raise exception 'delay_days must be between 0 and 365' using errcode = '22023';
  end if;

  select to_timestamp(max((entry ->> 'timestamp')::double precision)) into last_sign_in
  from jsonb_array_elements(case when jsonb_typeof(claims -> 'amr') = 'array' then claims -> 'amr' else '[]'::jsonb end) entry
  where jsonb_typeof(entry) = 'object' and jsonb_typeof(entry -> 'timestamp') = 'number'
    and (entry ->> 'timestamp')::numeric between 0 and 1e11;
  recent_sign_in := coalesce(last_sign_in >= now() - make_interval(mins => recent_minutes), false);

  if delay_days < minimum_days and not second_factor and not recent_sign_in then
    raise exception 'an erasure sooner than % days out needs a sign-in within the last % minutes or a second factor',
      minimum_days, recent_minutes
      using errcode = '42501',
            hint = format('Sign in again and retry at once, or choose delay_days of at least %s.', minimum_days);
  end if;

  insert into public.system_scheduled_deletions as d (user_id, requested_by, reason, scheduled_for)
  values (auth.uid(), auth.uid(), left(request_account_deletion.reason, 500), now() + make_interval(days => delay_days))
  on conflict (user_id) where status = 'pending' do update
    set scheduled_for = excluded.scheduled_for, reason = excluded.reason
  returning * into scheduled;

  -- A third-party issuer's user has no auth.users row and no address here to write to.
  insert into public.comms_notifications (user_id, kind, to_email, payload)
  select u.id,
         'account_deletion_scheduled',
         coalesce((select p.email from public.user_profiles p where p.id = u.id), u.email),
         jsonb_build_object(
           'deletion_id', scheduled.id,
           'scheduled_for', scheduled.scheduled_for,
           'requested_at', now(),
           'aal', claims ->> 'aal',
           'recent_sign_in', recent_sign_in
         )
  from auth.users u
  where u.id = auth.uid();
  return scheduled;
end
$$;

revoke execute on function public.request_account_deletion(text, integer) from public, anon, authenticated;
grant execute on function public.request_account_deletion(text, integer) to authenticated, service_role;
