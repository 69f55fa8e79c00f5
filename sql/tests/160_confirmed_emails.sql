-- Only a confirmed email address proves who someone is. The attack: with
-- email confirmation off, through an OAuth provider that does not verify addresses or with a
-- third-party issuer, Mallory registers carol@example.com, an address that is not hers, and
-- uses the token's `email` claim to see and accept Carol's invitation or to take the address
-- for her own profile. Confirmation is what Supabase Auth records in auth.users
-- (email_confirmed_at); a third-party issuer's top-level `email_verified` claim counts only for
-- users auth.users does not know; user_metadata (written by users themselves) never counts;
-- anonymous users never qualify. Profile emails are unique whatever their case.
\ir support/people.psql
begin;
select * from no_plan();
\set mallory_id 'ffff0000-0000-4000-8000-000000000001'
\set carol_id 'ffff0000-0000-4000-8000-000000000002'
\set ghost_id 'ffff0000-0000-4000-8000-000000000003'
\set outsider_id 'ffff0000-0000-4000-8000-000000000004'
\set mallory '{"sub": "ffff0000-0000-4000-8000-000000000001", "role": "authenticated", "email": "carol@example.com", "user_metadata": {"email_verified": true}}'
\set carol '{"sub": "ffff0000-0000-4000-8000-000000000002", "role": "authenticated", "email": "carol@example.com"}'
\set anonymous '{"sub": "ffff0000-0000-4000-8000-000000000005", "role": "authenticated", "email": "carol@example.com", "is_anonymous": true}'
\set third_party '{"sub": "ffff0000-0000-4000-8000-000000000006", "role": "authenticated", "email": "carol@example.com", "email_verified": true}'
\set third_party_unverified '{"sub": "ffff0000-0000-4000-8000-000000000006", "role": "authenticated", "email": "carol@example.com", "email_verified": "true"}'
\set third_party_anonymous '{"sub": "ffff0000-0000-4000-8000-000000000006", "role": "authenticated", "email": "carol@example.com", "email_verified": true, "is_anonymous": true}'
\set stale '{"sub": "ffff0000-0000-4000-8000-000000000004", "role": "authenticated", "email": "carol@example.com"}'
\set squatter '{"sub": "ffff0000-0000-4000-8000-000000000003", "role": "authenticated", "email": "ceo@victim.example"}'
\set shouter '{"sub": "ffff0000-0000-4000-8000-000000000004", "role": "authenticated", "email": "ALICE@Example.com"}'

-- Mallory's account: the address was never confirmed (she cannot read Carol's mail).
insert into auth.users (id, email) values (:'mallory_id', 'carol@example.com'), (:'ghost_id', 'ceo@victim.example');
set local role authenticated;
set local request.jwt.claims = :'alice';
insert into workspace_invitations (workspace_id, email, role, invited_by) values (:'alice_ws', 'carol@example.com', 'member', :'alice_id');
reset role;
select token as carol_token from workspace_invitations where email = 'carol@example.com' \gset

-- the attack ---------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'mallory';
select is((select count(*)::int from workspace_invitations), 0,
  'Mallory, with carol@example.com unconfirmed, does not see the invitation sent to Carol');
select throws_ok(format('select accept_workspace_invitation(%L)', :'carol_token'), '22023', null,
  'Mallory cannot accept Carol''s invitation with an unconfirmed copy of her address');
select is((select count(*)::int from workspace_members where user_id = :'mallory_id'), 0, 'Mallory joined nothing');
set local request.jwt.claims = :'squatter';
select throws_ok('select create_profile_on_signup()', '28000', null,
  'Someone who registered ceo@victim.example without confirming it cannot create a profile with it (403)');
reset role;
select is((select count(*)::int from user_profiles where lower(email) = 'ceo@victim.example'), 0, 'The victim''s address is still free');

-- the people the checks let through, and the ones they do not ---------------------------------------
update auth.users set email_confirmed_at = now() where id = :'ghost_id';
insert into auth.users (id, email, email_confirmed_at) values
  (:'carol_id', 'Carol@Example.com', now()),
  (:'outsider_id', 'dave@example.com', now());
insert into user_profiles (id, email) values (:'carol_id', 'Carol@Example.com');
insert into auth.users (id, email, email_confirmed_at, is_anonymous) values
  ('ffff0000-0000-4000-8000-000000000005', 'carol@example.com', now(), true);
set local role authenticated;
set local request.jwt.claims = :'anonymous';
select is((select count(*)::int from workspace_invitations), 0, 'An anonymous user never qualifies, whatever auth.users says about the address');
select throws_ok(format('select accept_workspace_invitation(%L)', :'carol_token'), '22023', null, 'An anonymous user cannot accept Carol''s invitation');
set local request.jwt.claims = :'stale';
select is((select count(*)::int from workspace_invitations), 0,
  'A token whose email is not the address auth.users has confirmed for that user does not qualify');
set local request.jwt.claims = :'third_party_unverified';
select is((select count(*)::int from workspace_invitations), 0, 'A third-party token qualifies only with email_verified exactly true');
set local request.jwt.claims = :'third_party_anonymous';
select is((select count(*)::int from workspace_invitations), 0, 'An anonymous third-party token never qualifies');
set local request.jwt.claims = :'third_party';
select is((select count(*)::int from workspace_invitations), 1,
  'A third-party issuer''s user, unknown to auth.users, qualifies with email_verified true');
set local request.jwt.claims = :'carol';
select is((select email from workspace_invitations), 'carol@example.com', 'Carol, confirmed (whatever the case), sees her invitation');
select is((select (accept_workspace_invitation(:'carol_token')).role::text), 'member', 'Carol accepts it and joins as a member');
set local request.jwt.claims = :'squatter';
select is((select create_profile_on_signup() -> 'profile' ->> 'email'), 'ceo@victim.example', 'Once confirmed, the address makes a profile');

-- profile emails are unique whatever their case --------------------------------------------------
reset role;
update auth.users set email = 'ALICE@Example.com' where id = :'outsider_id';
set local role authenticated;
set local request.jwt.claims = :'shouter';
select throws_ok('select create_profile_on_signup()', '23505', null,
  'A second account confirmed as ALICE@Example.com cannot take Alice''s address (409)');
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select throws_ok(format('update user_profiles set email = %L where id = %L', 'Alice@Example.COM', :'bob_id'), '23505', null,
  'Not even the service role gives two profiles one address in different cases');

select * from finish();
rollback;
