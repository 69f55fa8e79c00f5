-- check_rate_limit: GCRA with the Rust limiter's definitions (T = ceil(P/L) ms, tau = L*T);
-- refusals cost nothing; keys are independent; only the rate limiter and the service role may
-- call it; 200 concurrent calls against a budget of 50 admit exactly 50.
\ir support/people.psql
begin;
select * from no_plan();

set local role rate_limiter;
set local request.jwt.claims = :'limiter';

-- a burst of exactly the limit ---------------------------------------------------------------
-- (`1 + 0 * n` makes each call depend on its row, so the planner calls it once per row)
create temporary table burst (n int, allowed boolean, remaining int, retry_after_ms bigint, reset_after_ms bigint) on commit drop;
insert into burst select n, r.* from generate_series(1, 6) n, lateral check_rate_limit('user:burst', 'signup', 5, 3600, 1 + 0 * n) r;
select is((select allowed from burst where n = 1), true, 'A first request is allowed');
select is((select remaining from burst where n = 1), 4, 'After the first of five, four remain');
select is((select array_agg(allowed order by n) from burst), array[true, true, true, true, true, false],
  'Five requests in a burst are allowed and the sixth is refused');
select is((select remaining from burst where n = 5), 0, 'After the fifth, none remain');
select ok((select retry_after_ms between 719000 and 720000 from burst where n = 6),
  'The refused sixth may retry after one emission interval (720 s for 5 per hour)');
select ok((select reset_after_ms between 3599000 and 3600000 from burst where n = 6),
  'The key is whole again one full window after the burst');
select is((select retry_after_ms from burst where n <= 5 and retry_after_ms <> 0), null, 'Allowed requests carry no retry time');

select is((select allowed from check_rate_limit('user:burst', 'signup', 5, 3600)), false, 'A refusal costs nothing: the next one is refused the same way');
select is((select (allowed, remaining) from check_rate_limit('user:burst', 'signup', 5, 3600, 0)), (true, 0),
  'A cost-0 check reports the state without spending');
select is((select allowed from check_rate_limit('user:other', 'signup', 5, 3600)), true, 'Another user has a budget of their own');
select is((select allowed from check_rate_limit('user:burst', 'api-keys', 5, 3600)), true, 'The same user has a separate budget per endpoint');

-- costs ----------------------------------------------------------------------------------------
select is((select (allowed, remaining) from check_rate_limit('user:cost', 'batch', 5, 3600, 3)), (true, 2),
  'A request of cost 3 spends three of five');
select is((select allowed from check_rate_limit('user:cost', 'batch', 5, 3600, 3)), false, 'A cost of 3 does not fit in the 2 left');
select is((select (allowed, retry_after_ms) from check_rate_limit('user:cost', 'batch', 5, 3600, 6)), (false, 0::bigint),
  'A cost above the limit is refused with no retry time (it can never fit)');

-- rounding: L does not divide the window -------------------------------------------------------
select is((select array_agg(r.allowed order by n) from generate_series(1, 4) n, lateral check_rate_limit('user:odd', 'e', 3, 1, 1 + 0 * n) r),
  array[true, true, true, false], 'Three per second admits a burst of exactly three (T = 334 ms, tau = 1002 ms)');

-- clock skew -----------------------------------------------------------------------------------
reset role;
insert into system_rate_limit_counters (identifier, endpoint, theoretical_arrival_at)
values ('user:skewed', 'e', now() + interval '10 days');
set local role rate_limiter;
select ok((select not allowed and reset_after_ms <= 60000 from check_rate_limit('user:skewed', 'e', 10, 60)),
  'A tat from a clock far ahead is treated as a fully used key, not a ten-day lock-out');

-- validation -----------------------------------------------------------------------------------
select throws_ok($$select * from check_rate_limit('', 'e', 5, 60)$$, '22023', null, 'A blank identifier is refused (400)');
select throws_ok($$select * from check_rate_limit('k', ' ', 5, 60)$$, '22023', null, 'A blank endpoint is refused (400)');
select throws_ok($$select * from check_rate_limit('k', 'e', 0, 60)$$, '22023', null, 'A limit of zero requests is refused (400)');
select throws_ok($$select * from check_rate_limit('k', 'e', 5, 0)$$, '22023', null, 'A window of zero seconds is refused (400)');
select throws_ok($$select * from check_rate_limit('k', 'e', 5, 60, -1)$$, '22023', null, 'A negative cost is refused (400)');

-- who may call it ------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok($$select * from check_rate_limit('user:alice', 'e', 5, 60)$$, '42501', null, 'A signed-in user cannot spend or reset budgets');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select * from check_rate_limit('ip:1.2.3.4', 'e', 5, 60)$$, '42501', null, 'An anonymous visitor cannot call the limiter');
set local role maintenance;
set local request.jwt.claims = :'maint';
select throws_ok($$select * from check_rate_limit('k', 'e', 5, 60)$$, '42501', null, 'The maintenance job cannot call the limiter');
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select lives_ok($$select * from check_rate_limit('svc', 'e', 5, 60)$$, 'The service role can call the limiter');

-- 200 concurrent calls against 50 per hour (parallel committed sessions) -----------------------
reset role;
select format('race:%s', gen_random_uuid()) as race_key \gset
select dblink_connect('limiter_' || i, current_setting('rls_edge.test_conninfo')) from generate_series(1, 20) i;
select dblink_exec('limiter_' || i, 'set role rate_limiter') from generate_series(1, 20) i;
select dblink_send_query('limiter_' || i,
  format($$select count(*) filter (where r.allowed) from generate_series(1, 10) n, lateral check_rate_limit(%L, 'race', 50, 3600, 1 + 0 * n) r$$, :'race_key'))
from generate_series(1, 20) i;
create temporary table admitted on commit drop as
  select r.n from generate_series(1, 20) i, lateral dblink_get_result('limiter_' || i) as r(n bigint);
select is((select sum(n)::int from admitted), 50, '200 concurrent requests against a limit of 50 admit exactly 50');
select dblink_disconnect('limiter_' || i) from generate_series(1, 20) i;
select dblink_connect('limiter_cleanup', current_setting('rls_edge.test_conninfo'));
select dblink_exec('limiter_cleanup', format('delete from system_rate_limit_counters where identifier = %L', :'race_key'));
select dblink_disconnect('limiter_cleanup');

select * from finish();
rollback;
