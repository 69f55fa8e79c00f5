-- The soak's rate limits, written by tools/scripts/soak.sh into its own database. The steady
-- traffic runs far above what sql/seed.sql allows one caller or one provider (as
-- tests/e2e/lift-limit.mjs lifts a limit for a test file), so every seeded limit is lifted and
-- the limits the soak meets are the bursts' own: callers on the `soak-burst` plan (in their
-- token's app_metadata) get 5 requests per 10 s on three endpoints, one per store and failure
-- mode, and every source IP 5 refused webhook deliveries per 10 s.

update public.system_rate_limits set max_requests = 1000000, window_seconds = 60;

insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
values
  ('rate-limit', 'soak-burst', 5, 10),
  ('lead-scoring', 'soak-burst', 5, 10),
  ('api-keys', 'soak-burst', 5, 10),
  ('webhooks.unverified', 'default', 5, 10)
on conflict (endpoint, plan) do update
  set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds;
