// Lifting an endpoint's rate limit while a test file that is not about rate limiting runs.
// The seed gives `signup` 10 requests a minute per client, and every unauthenticated request of
// a test run comes from the same client (127.0.0.1), so a file that checks 401s and body limits
// on /signup would otherwise test the limiter instead (tests/e2e/rate-limit.test.mjs does that).
import { readFileSync } from "node:fs";
import { rows, sql } from "./lib.mjs";

/** How long the Worker caches system_rate_limits: the e2e setting if there is one, else its default. */
function cacheMilliseconds() {
  try {
    const line = readFileSync(new URL("./vars/rate-limit.env", import.meta.url), "utf8")
      .split("\n")
      .find((entry) => entry.startsWith("RATE_LIMIT_CACHE_SECONDS="));
    if (line) return Number(line.split("=")[1]) * 1000;
  } catch {
    // No rate-limit settings for the tests: the Worker uses its default.
  }
  return 60_000;
}

/**
 * Gives `endpoint` a generous limit for callers on `plan` ('free' is the plan of every caller
 * without one, users and anonymous clients alike) until the returned function is called, and
 * waits until the Worker sees it. A row the table already had for that plan is left alone.
 */
export async function liftRateLimit(endpoint, plan = "free") {
  const existing = rows(`select 1 from public.system_rate_limits where endpoint = '${endpoint}' and plan = '${plan}'`);
  if (existing.length > 0) return () => {};
  sql(`insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds) values ('${endpoint}', '${plan}', 100000, 60)`);
  await new Promise((resolve) => setTimeout(resolve, cacheMilliseconds() + 200));
  return () => sql(`delete from public.system_rate_limits where endpoint = '${endpoint}' and plan = '${plan}'`);
}
