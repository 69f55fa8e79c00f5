-- 0013 rate-limit RPC
--
-- check_rate_limit(identifier text, endpoint text, max_requests int, window_seconds int,
--                  cost int default 1)
--   returns table(allowed boolean, remaining int, retry_after_ms bigint, reset_after_ms bigint)
--
-- The Postgres store of the rate-limit guard. The Durable Object store runs the same algorithm
-- in Rust (functions/rate-limit/src/gcra.rs); both use these exact definitions. Executable by
-- rate_limiter and service_role only.
--
-- GCRA (generic cell rate algorithm). State: one theoretical arrival time `tat` per
-- (identifier, endpoint) in system_rate_limit_counters; no row = tat in the past.
--   L   = max_requests, P = window_seconds * 1000 ms
--   T   = ceil(P / L) whole milliseconds (the emission interval)
--   tau = L * T (the burst tolerance; equals P whenever L divides P)
--   now = the database clock (clock_timestamp(), microseconds)
--   tat = the stored value, but never more than now + tau (a tat from a clock that ran ahead
--         can neither admit more than L nor lock a key out for longer than one window)
--   for a request of cost c:  tat' = max(tat, now) + c*T
--   allowed   iff  c <= L and tat' - now <= tau; only then is tat' stored
--   remaining = floor((tau - (tat' - now)) / T)            when allowed
--             = floor((tau - (max(tat, now) - now)) / T)   when refused
--   retry_after_ms = ceil((tat' - now - tau) in ms)        when refused, 0 when allowed or
--                                                          when c > L (it can never fit)
--   reset_after_ms = ceil((stored tat - now) in ms), 0 when the stored tat is already past
-- Durations round up to whole ms so that waiting the advertised time is always enough.
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
  interval_us bigint;
  tolerance interval;
  step interval;
  stored_tat timestamptz;
  base_tat timestamptz;
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

  -- T = ceil(P / L) ms, held in microseconds to match the clock's resolution.
  interval_us := ((check_rate_limit.window_seconds::bigint * 1000 + check_rate_limit.max_requests - 1)
                  / check_rate_limit.max_requests) * 1000;
  tolerance := (check_rate_limit.max_requests * interval_us) * interval '1 microsecond';
  step := (check_rate_limit.cost::bigint * interval_us) * interval '1 microsecond';

  if check_rate_limit.cost <= check_rate_limit.max_requests then
    insert into public.system_rate_limit_counters as c
      (identifier, endpoint, theoretical_arrival_at, updated_at)
    select check_rate_limit.identifier, check_rate_limit.endpoint, now_at + step, now_at
    on conflict on constraint system_rate_limit_counters_pkey do update
      set theoretical_arrival_at = greatest(least(c.theoretical_arrival_at, now_at + tolerance), now_at) + step,
          updated_at = now_at
      where greatest(least(c.theoretical_arrival_at, now_at + tolerance), now_at) + step - now_at <= tolerance
    returning c.theoretical_arrival_at into stored_tat;
  end if;

  if stored_tat is not null then
    allowed := true;
    remaining := floor(extract(epoch from tolerance - (stored_tat - now_at)) * 1000000 / interval_us);
    retry_after_ms := 0;
  else
    select least(c.theoretical_arrival_at, now_at + tolerance) into stored_tat
    from public.system_rate_limit_counters c
    where c.identifier = check_rate_limit.identifier and c.endpoint = check_rate_limit.endpoint;
    base_tat := greatest(coalesce(stored_tat, now_at), now_at);
    allowed := false;
    remaining := floor(extract(epoch from tolerance - (base_tat - now_at)) * 1000000 / interval_us);
    retry_after_ms := case
      when check_rate_limit.cost > check_rate_limit.max_requests then 0
      else ceil(extract(epoch from (base_tat + step - now_at) - tolerance) * 1000)
    end;
  end if;

  reset_after_ms := greatest(0, ceil(extract(epoch from coalesce(stored_tat, now_at) - now_at) * 1000));
  return next;
end
$$;

revoke execute on function public.check_rate_limit(text, text, integer, integer, integer)
  from public, anon, authenticated;
grant execute on function public.check_rate_limit(text, text, integer, integer, integer)
  to rate_limiter, service_role;
