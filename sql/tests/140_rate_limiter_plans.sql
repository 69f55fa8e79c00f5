-- rate_limit_plan: the rate limiter learns one user's plan name and nothing else; nobody else
-- may ask.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
update user_plans set plan_name = ' Team_2024 ' where user_id = :'bob_id';

-- the rate limiter -----------------------------------------------------------------------------
set local role rate_limiter;
set local request.jwt.claims = :'limiter';
select is(rate_limit_plan(:'alice_id'), 'pro', 'The rate limiter reads Alice''s plan');
select is(rate_limit_plan(:'bob_id'), 'team_2024', 'A plan name comes back trimmed and lower-cased');
select is(rate_limit_plan(:'wanda_id'), null, 'A user with no plan row has no plan (the limiter uses its default)');
select is(rate_limit_plan(gen_random_uuid()), null, 'An unknown user id reveals nothing but the absence of a plan');
select throws_ok($$select * from user_plans$$, '42501', null, 'The rate limiter still cannot read user_plans itself');
select throws_ok($$select * from user_profiles$$, '42501', null, 'Nor the users behind the ids');

-- nobody else ----------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok(format('select rate_limit_plan(%L)', :'alice_id'), '42501', null,
  'An anonymous visitor cannot look up plans');
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok(format('select rate_limit_plan(%L)', :'alice_id'), '42501', null,
  'Alice cannot call it, not even for herself (she reads her own row through RLS)');
select throws_ok(format('select rate_limit_plan(%L)', :'bob_id'), '42501', null,
  'Alice cannot learn Bob''s plan through it');
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select throws_ok(format('select rate_limit_plan(%L)', :'alice_id'), '42501', null,
  'The webhook intake cannot look up plans');
set local role maintenance;
set local request.jwt.claims = :'maint';
select throws_ok(format('select rate_limit_plan(%L)', :'alice_id'), '42501', null,
  'The maintenance job cannot look up plans');
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select throws_ok(format('select rate_limit_plan(%L)', :'alice_id'), '42501', null,
  'The service role reads user_plans directly and has no need for the limiter''s function');

-- shape ----------------------------------------------------------------------------------------
reset role;
select ok((select prosecdef and provolatile = 's' from pg_proc where oid = 'public.rate_limit_plan(uuid)'::regprocedure),
  'rate_limit_plan is SECURITY DEFINER and STABLE (it reads, never writes)');
select is(
  (select array_agg(r order by r) from unnest(array['anon', 'authenticated', 'service_role', 'webhook_ingest', 'maintenance', 'rate_limiter']) r
   where has_function_privilege(r, 'public.rate_limit_plan(uuid)', 'EXECUTE')),
  array['rate_limiter'],
  'Of the API roles, only rate_limiter may execute rate_limit_plan');

select * from finish();
rollback;
