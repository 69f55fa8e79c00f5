-- Development seed: two users, each in their own workspace, with leads, scoring rules and
-- rate limits. Fixed ids so tests, docs and scripts can refer to them. Re-runnable: every row
-- is inserted ON CONFLICT DO NOTHING (or refreshed with DO UPDATE where the seed owns it).
--
--   alice@example.com  a11ce000-0000-4000-8000-000000000001  owner of "Alice Realty"
--                      workspace a11ce000-0000-4000-8000-0000000000aa
--   bob@example.com    b0b00000-0000-4000-8000-000000000002  owner of "Bob Homes"
--                      workspace b0b00000-0000-4000-8000-0000000000bb
-- The two share nothing: each is the other's "another user".

begin;

insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
values
  ('a11ce000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'alice@example.com',
   '{"provider": "email", "plan": "pro"}', '{"full_name": "Alice Example"}'),
  ('b0b00000-0000-4000-8000-000000000002', 'authenticated', 'authenticated', 'bob@example.com',
   '{"provider": "email", "plan": "free"}', '{"full_name": "Bob Example"}')
on conflict (id) do nothing;

-- Where the local Auth's schema is applied (tools/auth/migrations adds GoTrue's columns), alice
-- signs in with a password, like a user who signed up: alice@example.com / alice-demo-password
-- (bcrypt at cost 10, as Supabase Auth stores it), confirmed, with her email identity. A password
-- she has changed since is kept. Without those columns (sql/ alone) nothing happens.
do $$
begin
  if exists (select 1 from information_schema.columns
             where table_schema = 'auth' and table_name = 'users' and column_name = 'encrypted_password') then
    update auth.users
       set encrypted_password = '$2a$10$PL9YeJT6bZtdkAIunfApaupEPRrABPfXebJcyVOkUbhtMeQ1rY1La',
           email_confirmed_at = coalesce(email_confirmed_at, now())
     where id = 'a11ce000-0000-4000-8000-000000000001' and coalesce(encrypted_password, '') = '';
  end if;
  if to_regclass('auth.identities') is not null then
    insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
    values ('a11ce000-0000-4000-8000-000000000001', 'a11ce000-0000-4000-8000-000000000001',
            '{"sub": "a11ce000-0000-4000-8000-000000000001", "email": "alice@example.com", "email_verified": true, "phone_verified": false}',
            'email', now(), now(), now())
    on conflict (provider_id, provider) do nothing;
  end if;
end
$$;

-- Both addresses are confirmed, as Supabase Auth records it (invitations and sign-up trust only
-- confirmed addresses, migration 0018).
update auth.users set email_confirmed_at = coalesce(created_at, now())
where id in ('a11ce000-0000-4000-8000-000000000001', 'b0b00000-0000-4000-8000-000000000002')
  and email_confirmed_at is null;

insert into public.user_profiles (id, email, full_name, role, timezone)
values
  ('a11ce000-0000-4000-8000-000000000001', 'alice@example.com', 'Alice Example', 'user', 'Europe/Paris'),
  ('b0b00000-0000-4000-8000-000000000002', 'bob@example.com', 'Bob Example', 'user', 'America/New_York')
on conflict (id) do nothing;

-- The workspaces trigger adds each owner to workspace_members.
insert into public.workspaces (id, name, owner_id, is_personal)
values
  ('a11ce000-0000-4000-8000-0000000000aa', 'Alice Realty', 'a11ce000-0000-4000-8000-000000000001', true),
  ('b0b00000-0000-4000-8000-0000000000bb', 'Bob Homes', 'b0b00000-0000-4000-8000-000000000002', true)
on conflict (id) do nothing;

insert into public.workspace_members (workspace_id, user_id, role)
values
  ('a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001', 'owner'),
  ('b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002', 'owner')
on conflict (workspace_id, user_id) do nothing;

insert into public.user_email_preferences (user_id, marketing_emails)
values
  ('a11ce000-0000-4000-8000-000000000001', true),
  ('b0b00000-0000-4000-8000-000000000002', false)
on conflict (user_id) do nothing;

insert into public.user_onboarding_status (user_id, current_step, completed_steps)
values
  ('a11ce000-0000-4000-8000-000000000001', 'done', '{welcome,profile,workspace}'),
  ('b0b00000-0000-4000-8000-000000000002', 'profile', '{welcome}')
on conflict (user_id) do nothing;

insert into public.user_plans (user_id, plan_name, status)
values
  ('a11ce000-0000-4000-8000-000000000001', 'pro', 'active'),
  ('b0b00000-0000-4000-8000-000000000002', 'free', null)
on conflict (user_id) do nothing;

-- Leads: varied status, opt status, tags, contact details and ages, so scoring has something
-- to tell apart. Timestamps are relative to now() at first seeding.
insert into public.crm_leads
  (id, workspace_id, user_id, name, phone, email, company, source, status, tags, opt_status,
   is_deleted, last_contacted_at, created_at)
values
  ('a11ce000-0000-4000-8000-00000000100a', 'a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001',
   'Margaret Holloway', '+15551230001', 'margaret.holloway@example.net', null, 'direct_mail', 'active',
   '{probate,vacant}', 'opted_in', false, now() - interval '2 days', now() - interval '20 days'),
  ('a11ce000-0000-4000-8000-00000000100b', 'a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001',
   'Dennis Carver', '+15551230002', null, null, 'cold_call', 'new',
   '{"tax delinquent"}', 'pending', false, null, now() - interval '3 days'),
  ('a11ce000-0000-4000-8000-00000000100c', 'a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001',
   'Priya Raman', null, 'priya.raman@example.org', 'Raman Holdings LLC', 'referral', 'qualified',
   '{"tired landlord","high equity"}', 'opted_in', false, now() - interval '1 day', now() - interval '45 days'),
  ('a11ce000-0000-4000-8000-00000000100d', 'a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001',
   'Luis Ortega', '+15551230004', 'luis.ortega@example.com', null, 'website', 'active',
   '{pre-foreclosure}', 'opted_in', false, now() - interval '10 days', now() - interval '60 days'),
  ('a11ce000-0000-4000-8000-00000000100e', 'a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001',
   'Hannah Boyd', '+15551230005', 'hannah.boyd@example.com', null, 'website', 'unqualified',
   '{}', 'opted_out', false, null, now() - interval '90 days'),
  ('a11ce000-0000-4000-8000-00000000100f', 'a11ce000-0000-4000-8000-0000000000aa', 'a11ce000-0000-4000-8000-000000000001',
   'Old Duplicate Lead', '+15551230006', 'dup@example.com', null, 'import', 'closed',
   '{}', 'pending', true, null, now() - interval '400 days'),
  ('b0b00000-0000-4000-8000-00000000200a', 'b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002',
   'Grace Whitfield', '+15559870001', 'grace.whitfield@example.net', null, 'driving_for_dollars', 'new',
   '{divorce,"code violations"}', 'pending', false, null, now() - interval '5 days'),
  ('b0b00000-0000-4000-8000-00000000200b', 'b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002',
   'Samuel Okafor', '+15559870002', 'samuel.okafor@example.com', 'Okafor Rentals', 'referral', 'active',
   '{"tired landlord",eviction}', 'opted_in', false, now() - interval '4 days', now() - interval '30 days'),
  ('b0b00000-0000-4000-8000-00000000200c', 'b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002',
   'Evelyn Marsh', null, null, null, 'cold_call', 'new',
   '{vacant}', 'pending', false, null, now() - interval '1 day'),
  ('b0b00000-0000-4000-8000-00000000200d', 'b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002',
   'Trevor Lindqvist', '+15559870004', 'trevor@example.org', null, 'website', 'qualified',
   '{"free and clear",probate}', 'opted_in', false, now() - interval '15 days', now() - interval '75 days'),
  ('b0b00000-0000-4000-8000-00000000200e', 'b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002',
   'Nadia Petrova', '+15559870005', 'nadia.petrova@example.com', null, 'ppc', 'active',
   '{}', 'opted_in', false, now() - interval '40 days', now() - interval '120 days'),
  ('b0b00000-0000-4000-8000-00000000200f', 'b0b00000-0000-4000-8000-0000000000bb', 'b0b00000-0000-4000-8000-000000000002',
   'Frank Delgado', '+15559870006', null, 'Delgado Builders', 'import', 'closed',
   '{"back taxes"}', 'opted_out', false, null, now() - interval '200 days')
on conflict (id) do nothing;

insert into public.crm_lead_notes (id, lead_id, user_id, body)
values
  ('a11ce000-0000-4000-8000-00000000300a', 'a11ce000-0000-4000-8000-00000000100a', 'a11ce000-0000-4000-8000-000000000001',
   'Executor of her late brother''s estate; wants a quick sale before winter.'),
  ('a11ce000-0000-4000-8000-00000000300b', 'a11ce000-0000-4000-8000-00000000100d', 'a11ce000-0000-4000-8000-000000000001',
   'Auction date set for next month. Follow up Tuesday.'),
  ('b0b00000-0000-4000-8000-00000000400a', 'b0b00000-0000-4000-8000-00000000200b', 'b0b00000-0000-4000-8000-000000000002',
   'Owns four doors, two with problem tenants.')
on conflict (id) do nothing;

-- Scoring rules: each workspace tunes a few rules in the lead-scoring engine's condition language
-- ({"field", "op", "value"} leaves; "all"/"any"/"not" groups). The seed owns these rows.
insert into public.crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points, enabled, sort_order)
values
  ('a11ce000-0000-4000-8000-0000000000aa', 'motivation_probate', 'motivation',
   '{"field": "tags", "op": "contains_tag", "value": ["probate", "inherited", "estate sale"]}', 30, true, 100),
  ('a11ce000-0000-4000-8000-0000000000aa', 'motivation_pre_foreclosure', 'motivation',
   '{"field": "tags", "op": "contains_tag", "value": ["pre-foreclosure", "foreclosure"]}', 25, true, 110),
  ('a11ce000-0000-4000-8000-0000000000aa', 'motivation_tax_delinquent', 'motivation',
   '{"field": "tags", "op": "contains_tag", "value": ["tax delinquent", "back taxes"]}', 20, true, 120),
  ('a11ce000-0000-4000-8000-0000000000aa', 'fit_valid_phone', 'fit',
   '{"field": "phone_valid", "op": "equals", "value": true}', 10, true, 200),
  ('a11ce000-0000-4000-8000-0000000000aa', 'fit_valid_email', 'fit',
   '{"field": "email_valid", "op": "equals", "value": true}', 5, true, 210),
  ('a11ce000-0000-4000-8000-0000000000aa', 'engagement_qualified', 'engagement',
   '{"field": "status", "op": "in", "value": ["active", "qualified"]}', 15, true, 300),
  ('b0b00000-0000-4000-8000-0000000000bb', 'motivation_divorce', 'motivation',
   '{"field": "tags", "op": "contains_tag", "value": ["divorce", "divorcing"]}', 25, true, 100),
  ('b0b00000-0000-4000-8000-0000000000bb', 'motivation_tired_landlord', 'motivation',
   '{"field": "tags", "op": "contains_tag", "value": ["tired landlord", "eviction", "problem tenants"]}', 20, true, 110),
  ('b0b00000-0000-4000-8000-0000000000bb', 'fit_valid_phone', 'fit',
   '{"field": "phone_valid", "op": "equals", "value": true}', 10, true, 200),
  ('b0b00000-0000-4000-8000-0000000000bb', 'fit_company_on_record', 'fit',
   '{"field": "company", "op": "exists"}', 5, false, 210)
on conflict (workspace_id, rule_key) do update
  set rule_group = excluded.rule_group, condition = excluded.condition, points = excluded.points,
      enabled = excluded.enabled, sort_order = excluded.sort_order;

insert into public.crm_lead_scoring_settings (workspace_id, engagement_half_life_days)
values
  ('a11ce000-0000-4000-8000-0000000000aa', 14),
  ('b0b00000-0000-4000-8000-0000000000bb', null)
on conflict (workspace_id) do nothing;

-- Rate limits per endpoint and plan ('default' = any plan without a row of its own).
insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
values
  ('signup', 'default', 10, 60),
  ('api-keys', 'default', 30, 60),
  ('api-keys', 'pro', 120, 60),
  ('lead-scoring', 'default', 60, 60),
  ('lead-scoring', 'pro', 600, 60),
  ('webhooks', 'default', 600, 60),
  ('rate-limit', 'default', 1000, 60)
on conflict (endpoint, plan) do update
  set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds;

insert into public.system_settings (key, value, description)
values
  ('cleanup.webhook_retention_days', '30', 'Processed and ignored webhook events are kept this long.'),
  ('cleanup.webhook_max_attempts', '8', 'Failed webhook events are retried at most this many times.'),
  ('cleanup.rescore_after_days', '7', 'Leads are re-scored when their score is older than this.')
on conflict (key) do nothing;

commit;
