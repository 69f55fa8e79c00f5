-- 0013 rate-limit RPC
--
-- check_rate_limit(identifier text, endpoint text, max_requests int, window_seconds int,
--                  cost int default 1)
--   returns table(allowed boolean, remaining int, retry_after_ms bigint, reset_after_ms bigint)
--
-- The Postgres store of the rate-limit guard (the Durable Object is the other one; both
-- implement these exact semantics). Executable by rate_limiter and service_role only.
--
-- GCRA (generic cell rate algorithm). State: one theoretical arrival time `tat` per
-- (identifier, endpoint) in system_rate_limit_counters; no row = tat in the past.
--   W  = window_seconds, in microseconds
--   T  = W / max_requests, rounded down to a whole microsecond (the emission interval)
--   now = the database clock (clock_timestamp(), microseconds)
--   for a request of cost c:  tat' = max(tat, now) + c*T
--   allowed   iff  tat' - now <= W; only then is tat' stored
--   remaining = floor((W - (tat' - now)) / T)            when allowed
--             = floor((W - (max(tat, now) - now)) / T)   when refused (never below 0)
--   retry_after_ms = ceil((tat' - now - W) / 1000)        when refused, else 0
--   reset_after_ms = ceil((stored tat - now) / 1000)      (never below 0)
-- Milliseconds round up so that waiting the advertised time is always enough.
-- cost 0 reports the state without spending anything.
--
-- Atomicity: the decision is one INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING. The
-- row lock taken by ON CONFLICT serialises concurrent calls for the same key and the WHERE is
-- re-evaluated on the newest tat, so N concurrent calls never admit more than the budget. A
-- refused call reads the row afterwards only to report figures (never to decide).
--
-- SECURITY DEFINER so callers need no privilege on the counters table at all.
-- Errors: 22023 (400) for a blank key or non-positive limits.

create or replace function public.check_rate_limit(
  identifier text,
  endpoint text,
  max_requests integer,
  window_seconds integer,
  cost integer default 1
) returns table (allowed boolean, remaining integer, retry_after_ms bigint, reset_after_ms bigint)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  now_at timestamptz := clock_timestamp();
  window_us bigint;
  interval_us bigint;
  window_span interval;
  step interval;
  stored_tat timestamptz;
  base_tat timestamptz;
  micros_per_ms constant numeric := 1000;
begin
  if coalesce(btrim(check_rate_limit.identifier), '') = '' or char_length(check_rate_limit.identifier) > 255 then
    raise exception 'identifier must be 1 to 255 characters' using errcode = '22023';
  end if;
  if coalesce(btrim(check_rate_limit.endpoint), '') = '' or char_length(check_rate_limit.endpoint) > 255 then
    raise exception 'endpoint must be 1 to 255 characters' using errcode = '22023';
  end if;
  if check_rate_limit.max_requests is null or check_rate_limit.max_requests < 1 then
    raise exception 'max_requests must be at least 1' using errcode = '22023';
  end if;
  if check_rate_limit.window_seconds is null or check_rate_limit.window_seconds < 1
     or check_rate_limit.window_seconds > 2678400 then
    raise exception 'window_seconds must be between 1 and 2678400' using errcode = '22023';
  end if;
  if check_rate_limit.cost is null or check_rate_limit.cost < 0 then
    raise exception 'cost must be 0 or more' using errcode = '22023';
  end if;

  window_us := check_rate_limit.window_seconds::bigint * 1000000;
  interval_us := window_us / check_rate_limit.max_requests;
  window_span := window_us * interval '1 microsecond';
  step := (check_rate_limit.cost::bigint * interval_us) * interval '1 microsecond';

  insert into public.system_rate_limit_counters as c
    (identifier, endpoint, theoretical_arrival_at, updated_at)
  select check_rate_limit.identifier, check_rate_limit.endpoint, now_at + step, now_at
  where step <= window_span
  on conflict on constraint system_rate_limit_counters_pkey do update
    set theoretical_arrival_at = greatest(c.theoretical_arrival_at, now_at) + step,
        updated_at = now_at
    where greatest(c.theoretical_arrival_at, now_at) + step - now_at <= window_span
  returning c.theoretical_arrival_at into stored_tat;

  if stored_tat is not null then
    allowed := true;
    remaining := floor(
      (window_us - extract(epoch from stored_tat - now_at) * 1000000) / interval_us
    );
    retry_after_ms := 0;
  else
    select c.theoretical_arrival_at into stored_tat
    from public.system_rate_limit_counters c
    where c.identifier = check_rate_limit.identifier and c.endpoint = check_rate_limit.endpoint;
    base_tat := greatest(coalesce(stored_tat, now_at), now_at);
    allowed := false;
    remaining := greatest(0, floor(
      (window_us - extract(epoch from base_tat - now_at) * 1000000) / interval_us
    ));
    retry_after_ms := ceil(
      (extract(epoch from base_tat + step - now_at) * 1000000 - window_us) / micros_per_ms
    );
  end if;

  reset_after_ms := greatest(0, ceil(
    extract(epoch from coalesce(stored_tat, now_at) - now_at) * 1000000 / micros_per_ms
  ));
  return next;
end
$$;

revoke execute on function public.check_rate_limit(text, text, integer, integer, integer)
  from public, anon, authenticated;
grant execute on function public.check_rate_limit(text, text, integer, integer, integer)
  to rate_limiter, service_role;
