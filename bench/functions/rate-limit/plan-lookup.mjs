// What finding a user's plan in user_plans adds to a guarded request, measured over HTTP against
// a running stack (wrangler dev + gateway + Postgres), with the Durable Object store.
//
//   FUNCTIONS_URL=http://127.0.0.1:8787/functions/v1 DATABASE_URL=postgres://... \
//   JWT_SECRET=... RATE_LIMIT_CACHE_SECONDS=... node bench/functions/rate-limit/plan-lookup.mjs [requests-per-path]
//
// Every request is signed in as a user and asks for /functions/v1/bench-plan, a guarded name
// with no function behind it (404), whose limits name a plan, so the guard must know the
// caller's plan. The paths differ only in how the guard learns it:
//   token    the token's app_metadata.plan: no lookup
//   cached   one user whose token names no plan and whose user_plans row does: one lookup per
//            RATE_LIMIT_CACHE_SECONDS, the rest from the isolate's cache
//   miss     a new user id for every request: a rate_limit_plan round trip through PostgREST
//            every time (the cost a request pays on a cold cache)
// Tokens are signed before the clock starts. Added latency = p50(path) - p50(token).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SignJWT } from "jose";

const functionsUrl = process.env.FUNCTIONS_URL ?? "http://127.0.0.1:8787/functions/v1";
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("set DATABASE_URL (the limits and the user are written with psql)");
const jwtSecret = process.env.JWT_SECRET ?? "super-secret-jwt-token-with-at-least-32-characters-long";
const cacheSeconds = Number(process.env.RATE_LIMIT_CACHE_SECONDS ?? 60);
const perPath = Number(process.argv[2] ?? 1000);
const url = `${functionsUrl}/bench-plan`;
const PLAN = "bench";

const psql = (query) =>
  execFileSync("psql", [databaseUrl, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", query], { encoding: "utf8" });

const sign = (sub, appMetadata) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: "authenticated", aud: "authenticated", app_metadata: appMetadata })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(jwtSecret));
};

async function hit(token) {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status !== 404) throw new Error(`${url} answered ${response.status}, expected the 404 of an unknown path`);
  return { elapsed, policy: response.headers.get("ratelimit-policy") };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function latency(tokens) {
  const samples = [];
  for (const token of tokens) samples.push((await hit(token)).elapsed);
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99) };
}

const cachedUser = randomUUID();
psql(`insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
      values ('bench-plan', 'default', 100000000, 60), ('bench-plan', '${PLAN}', 100000000, 60)
      on conflict (endpoint, plan) do update set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds;
      insert into auth.users (id, email) values ('${cachedUser}', 'bench-${cachedUser}@example.test');
      insert into public.user_profiles (id, email) values ('${cachedUser}', 'bench-${cachedUser}@example.test');
      insert into public.user_plans (user_id, plan_name) values ('${cachedUser}', '${PLAN}');`);
try {
  await new Promise((resolve) => setTimeout(resolve, cacheSeconds * 1000 + 500));
  const withPlan = await sign(randomUUID(), { plan: PLAN });
  const withoutPlan = await sign(cachedUser, {});
  const { policy } = await hit(withPlan);
  if (policy !== '"bench-plan";q=100000000;w=60') throw new Error(`the guard used policy ${policy}; are the limit rows cached yet?`);
  for (let i = 0; i < 50; i += 1) {
    await hit(withPlan);
    await hit(withoutPlan);
  }
  const tokens = {
    token: Array.from({ length: perPath }, () => withPlan),
    cached: Array.from({ length: perPath }, () => withoutPlan),
    miss: await Promise.all(Array.from({ length: perPath }, () => sign(randomUUID(), {}))),
  };
  const results = {};
  for (const [name, list] of Object.entries(tokens)) results[name] = await latency(list);
  const fmt = (ms) => ms.toFixed(2).padStart(7);
  console.log(`plan lookup, ${perPath} sequential signed-in requests per path, cache ${cacheSeconds} s`);
  console.log("path     p50 ms  p90 ms  p99 ms  added p50 ms");
  for (const [name, r] of Object.entries(results)) {
    const added = name === "token" ? "      -" : fmt(r.p50 - results.token.p50);
    console.log(`${name.padEnd(7)}${fmt(r.p50)} ${fmt(r.p90)} ${fmt(r.p99)}       ${added}`);
  }
} finally {
  psql(`delete from public.system_rate_limits where endpoint = 'bench-plan';
        delete from auth.users where id = '${cachedUser}';`);
}
