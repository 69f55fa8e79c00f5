-- create_profile_on_signup: identity only from the token; atomic; idempotent; ten racing first
-- calls make exactly one profile and one personal workspace.
\ir support/people.psql
begin;
select * from no_plan();
\set sam_id 'dddd0000-0000-4000-8000-000000000001'
\set sam '{"sub": "dddd0000-0000-4000-8000-000000000001", "role": "authenticated", "email": "sam@example.com", "user_metadata": {"full_name": "Sam Signup"}}'
\set nadia '{"sub": "dddd0000-0000-4000-8000-000000000002", "role": "authenticated", "email": "nadia@example.com", "user_metadata": {"name": "Nadia N"}}'
\set ghost '{"sub": "dddd0000-0000-4000-8000-0000000000ff", "role": "authenticated", "email": "ghost@example.com"}'
\set phoneonly '{"sub": "dddd0000-0000-4000-8000-000000000003", "role": "authenticated", "phone": "+15550001111"}'
\set impostor '{"sub": "dddd0000-0000-4000-8000-000000000004", "role": "authenticated", "email": "alice@example.com"}'
-- Confirmed addresses (as Supabase Auth records them); the impostor confirmed alice@example.com
-- through another account, so only the profile's unique email stops them.
insert into auth.users (id, email, email_confirmed_at) values
  (:'sam_id', 'sam@example.com', now()),
  ('dddd0000-0000-4000-8000-000000000002', 'nadia@example.com', now()),
  ('dddd0000-0000-4000-8000-000000000003', null, null),
  ('dddd0000-0000-4000-8000-000000000004', 'alice@example.com', now());

-- first call ---------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'sam';
create temporary table first_call on commit drop as select create_profile_on_signup() as result;
select is((select (result ->> 'created')::boolean from first_call), true, 'Sam''s first call creates his profile');
select is((select result -> 'profile' ->> 'email' from first_call), 'sam@example.com', 'Sam''s email comes from his token');
select is((select result -> 'profile' ->> 'full_name' from first_call), 'Sam Signup', 'Sam''s name falls back to user_metadata.full_name');
select is((select result -> 'profile' ->> 'role' from first_call), 'user', 'Sam starts as a plain user');
select is((select result -> 'workspace' ->> 'name' from first_call), 'Sam Signup''s workspace', 'Sam gets a personal workspace named after him');
select is((select result -> 'workspace' ->> 'owner_id' from first_call), :'sam_id', 'Sam owns his personal workspace');
select is((select role::text from workspace_members where user_id = :'sam_id'), 'owner', 'Sam is the owner member of his workspace');
select is((select marketing_emails from user_email_preferences), false, 'Sam gets marketing mail only if he opts in');
select is((select current_step from user_onboarding_status), 'welcome', 'Sam''s onboarding starts at welcome');

-- repeat call --------------------------------------------------------------------------------
create temporary table second_call on commit drop as
  select create_profile_on_signup(full_name => 'Someone Else', workspace_name => 'Another', marketing_opt_in => true) as result;
select is((select (result ->> 'created')::boolean from second_call), false, 'Sam''s second call creates nothing');
select is((select result -> 'profile' ->> 'full_name' from second_call), 'Sam Signup', 'Sam''s second call does not overwrite his name');
select is((select result -> 'workspace' ->> 'id' from second_call), (select result -> 'workspace' ->> 'id' from first_call),
  'Sam''s second call returns the same workspace');
select is((select count(*)::int from workspaces), 1, 'Sam still has exactly one workspace');
select is((select marketing_emails from user_email_preferences), false, 'Sam''s second call does not change his preferences');

-- arguments ----------------------------------------------------------------------------------
set local request.jwt.claims = :'nadia';
create temporary table nadia_call on commit drop as
  select create_profile_on_signup(workspace_name => '  Nadia Homes  ', timezone => 'Europe/Berlin', marketing_opt_in => true,
                                  avatar_url => 'https://cdn.example.com/n.png') as result;
select is((select result -> 'profile' ->> 'full_name' from nadia_call), 'Nadia N', 'Nadia''s name falls back to user_metadata.name');
select is((select result -> 'workspace' ->> 'name' from nadia_call), 'Nadia Homes', 'Nadia''s chosen workspace name is used, trimmed');
select is((select result -> 'profile' ->> 'timezone' from nadia_call), 'Europe/Berlin', 'Nadia''s time zone is stored');
select is((select marketing_emails from user_email_preferences), true, 'Nadia opted in to marketing mail');

-- refusals -----------------------------------------------------------------------------------
set local request.jwt.claims = :'ghost';
select throws_ok('select create_profile_on_signup()', '28000', null, 'A token whose user is not in auth.users is refused (403)');
set local request.jwt.claims = :'phoneonly';
select throws_ok('select create_profile_on_signup()', '28000', null, 'A token without an email is refused (403)');
set local request.jwt.claims = '{"role": "authenticated"}';
select throws_ok('select create_profile_on_signup()', '28000', null, 'A token without a subject is refused (403)');
set local request.jwt.claims = :'impostor';
select throws_ok('select create_profile_on_signup()', '23505', null, 'A second account with Alice''s email cannot take her address (409)');
select throws_ok($$select create_profile_on_signup(avatar_url => 'http://example.com/a.png')$$, '22023', null, 'An avatar must be https (400)');
select throws_ok($$select create_profile_on_signup(timezone => 'Mars/Olympus')$$, '22023', null, 'An unknown time zone is refused (400)');
select throws_ok(format('select create_profile_on_signup(full_name => %L)', repeat('x', 121)), '22023', null, 'A name over 120 characters is refused (400)');
select throws_ok(format('select create_profile_on_signup(full_name => %L)', E'bad\nname'), '22023', null, 'A name with control characters is refused (400)');
select throws_ok(format('select create_profile_on_signup(workspace_name => %L)', repeat('w', 121)), '22023', null, 'A workspace name over 120 characters is refused (400)');

set local request.jwt.claims = :'alice';
select is((select create_profile_on_signup() -> 'workspace' ->> 'name'), 'Alice Realty', 'Alice, already set up, gets her existing workspace back');

set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok('select create_profile_on_signup()', '42501', null, 'An anonymous visitor cannot sign up through the RPC');
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select throws_ok('select create_profile_on_signup()', '42501', null, 'The webhook intake cannot call the signup RPC');

-- ten racing first calls (committed, through parallel dblink sessions) -----------------------
reset role;
select dblink_connect('signup_setup', current_setting('rls_edge.test_conninfo'));
select dblink_exec('signup_setup', $$insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
  values ('dddd0000-0000-4000-8000-0000000000aa', 'racer@example.com', now(), '{"full_name": "Rae Racer"}')$$);
select dblink_connect('racer_' || i, current_setting('rls_edge.test_conninfo')) from generate_series(1, 10) i;
select dblink_exec('racer_' || i, 'set role authenticated') from generate_series(1, 10) i;
select dblink_exec('racer_' || i, $$set request.jwt.claims = '{"sub": "dddd0000-0000-4000-8000-0000000000aa", "role": "authenticated", "email": "racer@example.com"}'$$)
from generate_series(1, 10) i;
select dblink_send_query('racer_' || i, $$select create_profile_on_signup() ->> 'created'$$) from generate_series(1, 10) i;
create temporary table race on commit drop as
  select r.created from generate_series(1, 10) i,
       lateral dblink_get_result('racer_' || i) as r(created text);

select is((select count(*)::int from race), 10, 'All ten racing first calls succeed');
select is((select count(*)::int from race where created = 'true'), 1, 'Exactly one of ten racing calls reports creating the profile');
select is((select count(*)::int from user_profiles where id = 'dddd0000-0000-4000-8000-0000000000aa'), 1, 'Ten racing calls make one profile');
select is((select count(*)::int from workspaces where owner_id = 'dddd0000-0000-4000-8000-0000000000aa'), 1, 'Ten racing calls make one workspace');
select is((select count(*)::int from workspace_members where user_id = 'dddd0000-0000-4000-8000-0000000000aa'), 1, 'Ten racing calls make one membership');
select is((select count(*)::int from user_email_preferences where user_id = 'dddd0000-0000-4000-8000-0000000000aa'), 1, 'Ten racing calls make one set of email preferences');
select is((select count(*)::int from user_onboarding_status where user_id = 'dddd0000-0000-4000-8000-0000000000aa'), 1, 'Ten racing calls make one onboarding row');

select dblink_exec('signup_setup', $$delete from workspaces where owner_id = 'dddd0000-0000-4000-8000-0000000000aa'$$);
select dblink_exec('signup_setup', $$delete from auth.users where id = 'dddd0000-0000-4000-8000-0000000000aa'$$);
select dblink_disconnect('racer_' || i) from generate_series(1, 10) i;
select dblink_disconnect('signup_setup');

select * from finish();
rollback;
