-- user_* tables: each person reaches only their own rows; platform admins read everything and
-- manage plans and roles; nobody changes their own role or their token-given email.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
insert into user_subscriptions (user_id, stripe_subscription_id, stripe_customer_id, status, last_event_at) values
  (:'alice_id', 'sub_alice', 'cus_alice', 'active', now()),
  (:'bob_id', 'sub_bob', 'cus_bob', 'active', now());

-- user_profiles --------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select count(*)::int from user_profiles), 1, 'Alice sees exactly one profile');
select is((select email from user_profiles), 'alice@example.com', 'The profile Alice sees is her own');
select is((select count(*)::int from user_profiles where id = :'bob_id'), 0, 'Alice cannot see Bob''s profile');
with changed as (update user_profiles set full_name = 'Alice A.' where id = :'alice_id' returning 1)
select is(count(*)::int, 1, 'Alice can rename herself') from changed;
with changed as (update user_profiles set full_name = 'Hacked' where id = :'bob_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot rename Bob') from changed;
select throws_ok(format('update user_profiles set role = %L where id = %L', 'admin', :'alice_id'),
  '42501', null, 'Alice cannot make herself an admin');
select throws_ok(format('update user_profiles set email = %L where id = %L', 'other@example.com', :'alice_id'),
  '42501', null, 'Alice cannot change the email her token gives her');
select throws_ok(format('insert into user_profiles (id, email) values (%L, %L)', gen_random_uuid(), 'x@example.com'),
  '42501', null, 'Alice cannot create profiles directly');
select throws_ok(format('delete from user_profiles where id = %L', :'alice_id'),
  '42501', null, 'Alice cannot delete her profile directly (erasure does)');

set local request.jwt.claims = :'pat';
select ok((select count(*)::int from user_profiles) >= 6, 'Pat, a platform admin, sees every profile');
with changed as (update user_profiles set role = 'support' where id = :'bob_id' returning 1)
select is(count(*)::int, 1, 'Pat can change Bob''s role') from changed;
select throws_ok(format('update user_profiles set role = %L where id = %L', 'user', :'pat_id'),
  '42501', null, 'Pat cannot change his own role');

set local request.jwt.claims = :'mike';
select throws_ok(format('update user_profiles set role = %L where id = %L', 'admin', :'mike_id'),
  '42501', null, 'Mike cannot change his own role either');
with changed as (update user_profiles set role = 'admin' where id = :'vera_id' returning 1)
select is(count(*)::int, 0, 'Mike, not an admin, cannot change Vera''s role') from changed;

-- user_email_preferences -----------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select is((select count(*)::int from user_email_preferences), 1, 'Alice sees only her own email preferences');
with changed as (update user_email_preferences set marketing_emails = false where user_id = :'alice_id' returning 1)
select is(count(*)::int, 1, 'Alice can turn marketing mail off') from changed;
with changed as (update user_email_preferences set marketing_emails = true where user_id = :'bob_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot change Bob''s email preferences') from changed;
select throws_ok(format('update user_email_preferences set suppressed_at = null where user_id = %L', :'alice_id'),
  '42501', null, 'Alice cannot lift a bounce/complaint suppression herself');
select throws_ok(format('insert into user_email_preferences (user_id) values (%L)', :'mike_id'),
  '42501', null, 'Alice cannot create email preferences for Mike');
select throws_ok(format('delete from user_email_preferences where user_id = %L', :'alice_id'),
  '42501', null, 'Alice cannot delete her email preferences');
reset role;
delete from user_email_preferences where user_id = :'mike_id';
set local role authenticated;
set local request.jwt.claims = :'mike';
select lives_ok(format('insert into user_email_preferences (user_id, marketing_emails) values (%L, false)', :'mike_id'),
  'Mike can create his own missing email preferences');

-- user_onboarding_status -----------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select is((select count(*)::int from user_onboarding_status), 1, 'Alice sees only her own onboarding status');
with changed as (update user_onboarding_status set current_step = 'billing' where user_id = :'alice_id' returning 1)
select is(count(*)::int, 1, 'Alice can move her onboarding on') from changed;
with changed as (update user_onboarding_status set current_step = 'billing' where user_id = :'bob_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot move Bob''s onboarding') from changed;
select throws_ok(format('insert into user_onboarding_status (user_id) values (%L)', :'bob_id'),
  '42501', null, 'Alice cannot create Bob''s onboarding status');
select throws_ok(format('delete from user_onboarding_status where user_id = %L', :'alice_id'),
  '42501', null, 'Alice cannot delete her onboarding status');
reset role;
delete from user_onboarding_status where user_id = :'mike_id';
set local role authenticated;
set local request.jwt.claims = :'mike';
select lives_ok(format('insert into user_onboarding_status (user_id) values (%L)', :'mike_id'),
  'Mike can create his own missing onboarding status');

-- user_plans -----------------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select is((select plan_name from user_plans), 'pro', 'Alice sees her own plan');
select is((select count(*)::int from user_plans where user_id = :'bob_id'), 0, 'Alice cannot see Bob''s plan');
with changed as (update user_plans set plan_name = 'enterprise' where user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot upgrade her own plan') from changed;
select throws_ok(format('insert into user_plans (user_id, plan_name) values (%L, %L)', :'mike_id', 'pro'),
  '42501', null, 'Alice cannot create plans');
select throws_ok(format('delete from user_plans where user_id = %L', :'alice_id'),
  '42501', null, 'Alice cannot delete her plan');

set local request.jwt.claims = :'pat';
select is((select count(*)::int from user_plans), 2, 'Pat, a platform admin, sees every plan');
with changed as (update user_plans set plan_name = 'pro' where user_id = :'bob_id' returning 1)
select is(count(*)::int, 1, 'Pat can change Bob''s plan') from changed;

-- user_subscriptions ---------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select is((select stripe_subscription_id from user_subscriptions), 'sub_alice', 'Alice sees her own subscription only');
select throws_ok(format('update user_subscriptions set status = %L where user_id = %L', 'canceled', :'alice_id'),
  '42501', null, 'Alice cannot edit her subscription (Stripe does)');
select throws_ok(format('insert into user_subscriptions (user_id, stripe_subscription_id, stripe_customer_id, status, last_event_at) values (%L, %L, %L, %L, now())', :'alice_id', 'sub_x', 'cus_x', 'active'),
  '42501', null, 'Alice cannot invent a subscription');
select throws_ok(format('delete from user_subscriptions where user_id = %L', :'alice_id'),
  '42501', null, 'Alice cannot delete her subscription');
set local request.jwt.claims = :'bob';
select is((select stripe_subscription_id from user_subscriptions), 'sub_bob', 'Bob sees his own subscription, not Alice''s');
set local request.jwt.claims = :'pat';
select is((select count(*)::int from user_subscriptions), 2, 'Pat, a platform admin, sees every subscription');

select * from finish();
rollback;
