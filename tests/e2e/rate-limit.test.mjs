// End-to-end tests of the rate limiter: the guard the router puts in front of every function
// (seen through GET /functions/v1/rate-limit/status) and POST /functions/v1/rate-limit/check,
// against the Worker in wrangler dev with its Durable Object and the Postgres RPC behind the
// gateway. Limits come from rows this file writes into system_rate_limits, scoped to a plan or
// endpoint name of its own so no other test is affected; tests/e2e/vars/rate-limit.env sets a
// one-second cache so the rows take effect at once, and names the endpoints that use Postgres.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT } from "jose";
import { call, env, expectError, newUser, sql } from "./lib.mjs";

const vars = Object.fromEntries(
  readFileSync(new URL("./vars/rate-limit.env", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const checkSecret = vars.RATE_LIMIT_CHECK_SECRET;
const CACHE_MS = Number(vars.RATE_LIMIT_CACHE_SECONDS) * 1000;

const unique = () => randomUUID().replaceAll("-", "").slice(0, 12);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const inserted = [];

/** Writes a limit and waits until the Worker's cached copy of the table has expired. */
async function limit(endpoint, plan, maxRequests, windowSeconds) {
  sql(
    `insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
     values ('${endpoint}', '${plan}', ${maxRequests}, ${windowSeconds})
     on conflict (endpoint, plan) do update set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds`,
  );
  inserted.push([endpoint, plan]);
  await sleep(CACHE_MS + 200);
}

after(() => {
  for (const [endpoint, plan] of inserted) {
    sql(`delete from public.system_rate_limits where endpoint = '${endpoint}' and plan = '${plan}'`);
  }
});

/** The project's service_role key as Supabase issues it: role only, no user, no audience. */
async function serviceRoleKey() {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: "service_role", iss: "supabase-demo" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(env.jwtSecret));
}

const check = (json, headers = { "x-api-key": checkSecret }) => call("POST", "/rate-limit/check", { json, headers });

describe("the guard in front of every function", () => {
  test("N+1 requests in a window: the last is 429 with Retry-After and the RateLimit fields", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 3, 6);
    const user = await newUser({ claims: { app_metadata: { plan } } });

    for (const remaining of [2, 1, 0]) {
      const response = await call("GET", "/rate-limit/status", { token: user.token });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.headers.get("ratelimit-policy"), '"rate-limit";q=3;w=6');
      assert.match(response.headers.get("ratelimit"), new RegExp(`^"rate-limit";r=${remaining};t=\\d+$`));
      assert.equal(response.headers.get("retry-after"), null);
    }

    const refused = await call("GET", "/rate-limit/status", { token: user.token });
    const error = expectError(assert, refused, 429, "rate_limited");
    assert.equal(error.details.policy, "rate-limit");
    assert.equal(error.details.limit, 3);
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `one request comes back every 2 s; Retry-After was ${retryAfter}`);
    assert.equal(refused.headers.get("ratelimit-policy"), '"rate-limit";q=3;w=6');
    assert.equal(refused.headers.get("ratelimit"), `"rate-limit";r=0;t=${retryAfter}`);
  });

  test("a new window admits the whole quota again", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 2, 2);
    const user = await newUser({ claims: { app_metadata: { plan } } });
    const statuses = async (count) => {
      const seen = [];
      for (let i = 0; i < count; i += 1) seen.push((await call("GET", "/rate-limit/status", { token: user.token })).status);
      return seen;
    };
    assert.deepEqual(await statuses(3), [200, 200, 429]);
    await sleep(2_100);
    assert.deepEqual(await statuses(3), [200, 200, 429]);
  });

  test("two users do not share a budget", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 1, 60);
    const alice = await newUser({ claims: { app_metadata: { plan } } });
    const bob = await newUser({ claims: { app_metadata: { plan } } });
    assert.equal((await call("GET", "/rate-limit/status", { token: alice.token })).status, 200);
    expectError(assert, await call("GET", "/rate-limit/status", { token: alice.token }), 429, "rate_limited");
    const forBob = await call("GET", "/rate-limit/status", { token: bob.token });
    assert.equal(forBob.status, 200);
    assert.equal(forBob.body.key, `user:${bob.id}`);
    assert.equal(forBob.body.plan, plan);
    assert.equal(forBob.body.limit, 1);
  });

  test("errors from the function carry the RateLimit fields too", async () => {
    const response = await call("GET", "/rate-limit/no-such-route");
    expectError(assert, response, 404, "not_found");
    assert.ok(response.headers.get("ratelimit-policy"), "a guarded 404 still says which policy applied");
    assert.ok(response.headers.get("ratelimit"));
  });

  test("health is not guarded", async () => {
    const response = await fetch(`${env.functionsUrl}/health`);
    await response.text();
    assert.equal(response.headers.get("ratelimit-policy"), null);
  });
});

describe("POST /functions/v1/rate-limit/check", () => {
  test("only the service role or the check secret may call it", async () => {
    expectError(assert, await check({ key: "k", endpoint: "e" }, {}), 401, "unauthorized");
    expectError(assert, await check({ key: "k", endpoint: "e" }, { "x-api-key": "guessed" }), 403, "forbidden");
    const user = await newUser();
    expectError(assert, await check({ key: "k", endpoint: "e" }, { authorization: `Bearer ${user.token}` }), 403, "forbidden");

    const endpoint = `e2e-${unique()}`;
    await limit(endpoint, "default", 5, 3_600);
    const viaSecret = await check({ key: "k", endpoint });
    assert.equal(viaSecret.status, 200, JSON.stringify(viaSecret.body));
    const viaServiceRole = await check({ key: "k", endpoint }, { authorization: `Bearer ${await serviceRoleKey()}` });
    assert.equal(viaServiceRole.status, 200, JSON.stringify(viaServiceRole.body));
    assert.equal(viaServiceRole.body.remaining, viaSecret.body.remaining - 1, "both calls spent the same budget");
  });

  test("bad input gets a 400 naming the field", async () => {
    expectError(assert, await check({ endpoint: "e" }), 400, "invalid_body");
    assert.equal(expectError(assert, await check({ key: "k", endpoint: "Not/OK" }), 400, "invalid_field").details.field, "endpoint");
    assert.equal(expectError(assert, await check({ key: "", endpoint: "e" }), 400, "invalid_field").details.field, "key");
    expectError(assert, await check({ key: "k", endpoint: "e", cost: -1 }), 400, "invalid_body");
    expectError(assert, await check({ key: "k", endpoint: "e", max_requests: 9 }), 400, "invalid_body");
  });

  test("a cost above the whole quota is refused for good, without spending anything", async () => {
    const endpoint = `e2e-${unique()}`;
    await limit(endpoint, "default", 5, 60);
    const key = `svc:${unique()}`;
    const tooMuch = await check({ key, endpoint, cost: 6 });
    assert.equal(tooMuch.status, 200);
    assert.equal(tooMuch.body.allowed, false);
    assert.equal(tooMuch.body.reason, "cost_exceeds_quota");
    assert.equal(tooMuch.body.retry_after_ms, 0);
    assert.equal(tooMuch.body.remaining, 5);
    const fits = await check({ key, endpoint, cost: 5 });
    assert.equal(fits.body.allowed, true);
    assert.equal(fits.body.remaining, 0);
  });

  for (const [store, endpointPrefix] of [
    ["durable-object", "e2e-conc-do"],
    ["postgres", "e2e-pg"],
  ]) {
    test(`200 concurrent checks against a limit of 50 admit 50 at most (${store})`, async () => {
      const endpoint = store === "postgres" ? endpointPrefix : `${endpointPrefix}-${unique()}`;
      // An hour-long window: one request comes back every 72 s, so however long the 200
      // requests take to arrive, anything above 50 could only be a double-spent budget.
      await limit(endpoint, "default", 50, 3_600);
      const key = `svc:${unique()}`;
      const responses = await Promise.all(Array.from({ length: 200 }, () => check({ key, endpoint })));
      for (const response of responses) assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.ok(responses.every((response) => response.body.store === store), "every decision came from the configured store");
      const admitted = responses.filter((response) => response.body.allowed).length;
      console.log(`# ${store}: ${admitted} of 200 concurrent checks admitted against a limit of 50`);
      if (store === "durable-object") assert.equal(admitted, 50);
      else assert.ok(admitted <= 50 && admitted > 0, `admitted ${admitted}`);
      const refused = responses.filter((response) => !response.body.allowed);
      assert.ok(refused.every((response) => response.body.reason === "over_limit" && response.body.retry_after_ms > 0));
    });
  }

  test("the Durable Object and Postgres stores agree on a burst and its retry time", async () => {
    const key = `svc:${unique()}`;
    await limit("e2e-pg", "default", 5, 60);
    const doEndpoint = `e2e-agree-${unique()}`;
    await limit(doEndpoint, "default", 5, 60);
    for (const endpoint of [doEndpoint, "e2e-pg"]) {
      const decisions = [];
      for (let i = 0; i < 6; i += 1) decisions.push((await check({ key, endpoint })).body);
      assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, true, true, false], endpoint);
      assert.deepEqual(decisions.map((d) => d.remaining), [4, 3, 2, 1, 0, 0], endpoint);
      const retry = decisions[5].retry_after_ms;
      assert.ok(retry > 11_000 && retry <= 12_000, `${endpoint}: one request returns every 12 s; retry_after_ms ${retry}`);
    }
  });

  test("store down: a fail-open endpoint admits, a fail-closed one answers 503", async () => {
    await limit("e2e-pg-open", "default", 5, 60);
    await limit("e2e-pg-closed", "default", 5, 60);
    sql("revoke execute on function public.check_rate_limit(text, text, integer, integer, integer) from rate_limiter");
    try {
      const open = await check({ key: `svc:${unique()}`, endpoint: "e2e-pg-open" });
      assert.equal(open.status, 200, JSON.stringify(open.body));
      assert.equal(open.body.allowed, true);
      assert.equal(open.body.reason, "store_unavailable");
      const closed = await check({ key: `svc:${unique()}`, endpoint: "e2e-pg-closed" });
      const error = expectError(assert, closed, 503, "service_unavailable");
      assert.equal(error.details.reason, "rate_limiter_unavailable");
      assert.ok(closed.headers.get("retry-after"));
    } finally {
      sql("grant execute on function public.check_rate_limit(text, text, integer, integer, integer) to rate_limiter");
    }
    const back = await check({ key: `svc:${unique()}`, endpoint: "e2e-pg-closed" });
    assert.equal(back.body.allowed, true);
    assert.equal(back.body.store, "postgres");
  });

  test("an endpoint pinned to the Durable Object answers from it", async () => {
    const response = await check({ key: `svc:${unique()}`, endpoint: "e2e-do-only" });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.store, "durable-object");
  });
});
