-- 0017 the rate limiter reads a user's plan
--
-- rate_limit_plan(user_id uuid) returns text
--   The plan_name of the user's user_plans row, trimmed and lower-cased; null when the user has
--   no row. The rate-limit guard (functions/rate-limit/src/plans.rs) asks for it when a
--   verified token's app_metadata names no plan, and picks the user's limits by it.
--   plan_name is what the billing side keeps current (0014: a cancelled subscription falls back
--   to 'free'), so the status is not consulted again here.
--
-- Executable by rate_limiter only. SECURITY DEFINER with a pinned search_path, so the role gets
-- one plan name per known user id and nothing else: no grant on user_plans, no way to list
-- users, their Stripe ids or billing periods. A user id that is not a uuid is refused by
-- PostgREST's cast (22P02, 400) before the function runs.

create or replace function public.rate_limit_plan(user_id uuid) returns text
language sql stable security definer
set search_path = ''
as $$
  select lower(btrim(p.plan_name))
  from public.user_plans p
  where p.user_id = rate_limit_plan.user_id
$$;

revoke execute on function public.rate_limit_plan(uuid) from public, anon, authenticated, service_role;
grant execute on function public.rate_limit_plan(uuid) to rate_limiter;
