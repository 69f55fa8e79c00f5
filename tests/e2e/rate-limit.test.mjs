// End-to-end tests of the rate limiter: the guard the router puts in front of every function
// (seen through GET /functions/v1/rate-limit/status) and POST /functions/v1/rate-limit/check,
// against the Worker in wrangler dev with its Durable Object and the Postgres RPC behind the
// gateway. Limits come from rows this file writes into system_rate_limits, scoped to a plan or
// endpoint name of its own so no other test is affected; tests/e2e/vars/rate-limit.env sets a
// one-second cache so the rows (and users' plans) take effect at once, and names the endpoints
// that use Postgres, among them the real functions api-keys and webhooks, whose guard this
// file watches fail closed and open when that store goes away. Requests that must not share a
// client IP's budget with the rest of the run send a CF-Connecting-IP of their own, which
// wrangler dev passes through (Cloudflare sets it).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { Webhook } from "svix";
import { call, env, expectError, newUser, rows, sql } from "./lib.mjs";
import { serviceRoleKey } from "./keys.mjs";
import { workerLog } from "./worker-log.mjs";

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

/** A user with a profile and, when `plan` is given, a row in user_plans (as billing leaves it). */
async function userOnPlan(plan, options = {}) {
  const user = await newUser(options);
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  if (plan) sql(`insert into public.user_plans (user_id, plan_name) values ('${user.id}', '${plan}')`);
  return user;
}

const CHECK_RATE_LIMIT = "public.check_rate_limit(text, text, integer, integer, integer)";

/** Runs `body` while the rate_limiter role may not call check_rate_limit: the Postgres store is down. */
async function withPostgresStoreDown(body) {
  sql(`revoke execute on function ${CHECK_RATE_LIMIT} from rate_limiter`);
  try {
    await body();
  } finally {
    sql(`grant execute on function ${CHECK_RATE_LIMIT} to rate_limiter`);
  }
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

  test("an unknown function is a 404 at once: no rate-limit fields, nothing of the caller's budget spent", async () => {
    // Before issue 18 such a request spent its caller's `default` budget (1000 per 60 s here,
    // tests/e2e/vars/rate-limit.env); the router now answers it before the guard (src/lib.rs).
    const user = await newUser();
    for (let i = 0; i < 5; i += 1) {
      const response = await call("GET", `/no-such-function-${unique()}`, { token: user.token });
      expectError(assert, response, 404, "not_found");
      assert.equal(response.headers.get("ratelimit-policy"), null, "no policy was applied");
      assert.equal(response.headers.get("ratelimit"), null, "no budget was consulted");
    }
    // /check charges the same key under the same policy as the guard would have
    // (functions/rate-limit/src/api.rs): the budget is whole, so this first charge leaves 999.
    const spent = await check({ key: `user:${user.id}`, endpoint: "default" });
    assert.equal(spent.status, 200, JSON.stringify(spent.body));
    assert.equal(spent.body.allowed, true);
    assert.equal(spent.body.limit, 1000, JSON.stringify(spent.body));
    assert.equal(spent.body.remaining, 999, JSON.stringify(spent.body));
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

describe("lease mode (the default) and exact mode, seen at the Durable Object", () => {
  // functions/rate-limit/src/lease.rs states what each mode guarantees; tests/e2e/vars/rate-limit.env
  // makes lead-scoring exact. wrangler dev runs one isolate, so here lease mode must answer
  // exactly as exact mode does; what differs is what the object has charged. /check with cost 0
  // reads the object's state without spending.
  const peek = async (key, endpoint, plan) => {
    const response = await check({ key, endpoint, cost: 0, plan });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.remaining;
  };
  const remainingField = (response) => Number(/;r=(\d+);/.exec(response.headers.get("ratelimit"))?.[1]);

  test("a request is admitted from a lease the object charged ahead, refilled once half is spent", async () => {
    const plan = `e2e-${unique()}`;
    // A lease of 400 / 40 = 10 requests; one request back every 9 s, so none returns while the
    // test looks.
    await limit("rate-limit", plan, 400, 3_600);
    const user = await newUser({ claims: { app_metadata: { plan } } });
    const status = () => call("GET", "/rate-limit/status", { token: user.token });

    const first = await status();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(remainingField(first), 399, "the answer counts this request only");
    assert.equal(await peek(`user:${user.id}`, "rate-limit", plan), 390, "the object charged a lease of 10");

    for (let i = 0; i < 3; i += 1) assert.equal((await status()).status, 200);
    assert.equal(await peek(`user:${user.id}`, "rate-limit", plan), 390, "three more came from the lease: no charge");

    const fifth = await status();
    assert.equal(remainingField(fifth), 395);
    let charged;
    for (let wait = 0; wait < 60; wait += 1) {
      charged = await peek(`user:${user.id}`, "rate-limit", plan);
      if (charged === 380) break;
      await sleep(50);
    }
    assert.equal(charged, 380, "half the lease spent: the next 10 were asked after the response");
    assert.equal(remainingField(await status()), 394, "the answer still counts requests, not leases");
  });

  test("in one isolate, lease mode admits exactly the limit and then refuses with the object's Retry-After", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 80, 3_600); // one request back every 45 s: none returns during the test
    const user = await newUser({ claims: { app_metadata: { plan } } });
    const statuses = [];
    for (let round = 0; round < 9; round += 1) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => call("GET", "/rate-limit/status", { token: user.token })),
      );
      statuses.push(...answers);
    }
    const admitted = statuses.filter((response) => response.status === 200).length;
    assert.equal(admitted, 80);
    const refused = statuses.filter((response) => response.status === 429);
    assert.equal(refused.length, 10);
    for (const response of refused) {
      const retryAfter = Number(response.headers.get("retry-after"));
      assert.ok(retryAfter > 40 && retryAfter <= 45, `Retry-After ${retryAfter}`);
    }
  });

  test("an endpoint set to exact charges the object one request at a time", async () => {
    const plan = `e2e-${unique()}`;
    await limit("lead-scoring", plan, 400, 3_600); // lease mode would charge 10 at once
    const user = await newUser({ claims: { app_metadata: { plan } } });
    for (const remaining of [399, 398]) {
      const response = await call("GET", "/lead-scoring/no-such-route", { token: user.token });
      expectError(assert, response, 404, "not_found");
      assert.equal(remainingField(response), remaining);
      assert.equal(await peek(`user:${user.id}`, "lead-scoring", plan), remaining, "exactly one request charged");
    }
  });

  test("a quota too small to lease within a tenth of its limit is decided exactly", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 39, 3_600);
    const user = await newUser({ claims: { app_metadata: { plan } } });
    assert.equal((await call("GET", "/rate-limit/status", { token: user.token })).status, 200);
    assert.equal(await peek(`user:${user.id}`, "rate-limit", plan), 38);
  });
});

describe("POST /functions/v1/rate-limit/check", () => {
  test("only the service role or the check secret may call it", async () => {
    expectError(assert, await check({ key: "k", endpoint: "e" }, {}), 401, "unauthorized");
    expectError(assert, await check({ key: "k", endpoint: "e" }, { "x-api-key": "guessed" }), 401, "unauthorized");
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

  test("both stores round the interval up alike when the limit does not divide the window", async () => {
    // 999 per second: T = ceil(1000 / 999) = 2 ms and tau = 999 * T = 1998 ms, so spending the
    // whole quota at once leaves the key whole again after exactly 1998 ms in both stores (a
    // store with T rounded down and tau = W would say 1000).
    const doEndpoint = `e2e-round-${unique()}`;
    await limit(doEndpoint, "default", 999, 1);
    await limit("e2e-pg", "default", 999, 1);
    for (const endpoint of [doEndpoint, "e2e-pg"]) {
      const spent = await check({ key: `svc:${unique()}`, endpoint, cost: 999 });
      assert.equal(spent.status, 200, JSON.stringify(spent.body));
      assert.equal(spent.body.store, endpoint === "e2e-pg" ? "postgres" : "durable-object");
      assert.deepEqual([spent.body.allowed, spent.body.remaining, spent.body.reset_after_ms], [true, 0, 1998], endpoint);
    }
  });

  test("store down: a fail-open endpoint admits, a fail-closed one answers 503", async () => {
    await limit("e2e-pg-open", "default", 5, 60);
    await limit("e2e-pg-closed", "default", 5, 60);
    await withPostgresStoreDown(async () => {
      const open = await check({ key: `svc:${unique()}`, endpoint: "e2e-pg-open" });
      assert.equal(open.status, 200, JSON.stringify(open.body));
      assert.equal(open.body.allowed, true);
      assert.equal(open.body.reason, "store_unavailable");
      const closed = await check({ key: `svc:${unique()}`, endpoint: "e2e-pg-closed" });
      const error = expectError(assert, closed, 503, "service_unavailable");
      assert.equal(error.details.reason, "rate_limiter_unavailable");
      assert.ok(closed.headers.get("retry-after"));
    });
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

describe("the plan: the token's app_metadata.plan, else the user's plan in user_plans, else free", () => {
  const status = (user) => call("GET", "/rate-limit/status", user ? { token: user.token } : {});

  test("a token without a plan gets the user's plan from user_plans, and the guard applies its limit", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 2, 60);
    const user = await userOnPlan(plan);
    const first = await status(user);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.plan, first.body.plan_source, first.body.limit], [plan, "user_plans", 2]);
    assert.equal(first.headers.get("ratelimit-policy"), '"rate-limit";q=2;w=60');
    assert.equal((await status(user)).status, 200);
    const refused = await status(user);
    expectError(assert, refused, 429, "rate_limited");
    assert.equal(refused.headers.get("ratelimit-policy"), '"rate-limit";q=2;w=60', "the guard charged the user's plan");
  });

  test("the token's plan wins over user_plans; no row and no user mean the free plan", async () => {
    const tokenPlan = `e2e-${unique()}`;
    const storedPlan = `e2e-${unique()}`;
    const both = await userOnPlan(storedPlan, { claims: { app_metadata: { plan: tokenPlan } } });
    const fromToken = await status(both);
    assert.deepEqual([fromToken.body.plan, fromToken.body.plan_source], [tokenPlan, "token"]);

    const noRow = await status(await userOnPlan(null));
    assert.deepEqual([noRow.body.plan, noRow.body.plan_source], ["free", "default"]);
    const anonymous = await status(null);
    assert.equal(anonymous.status, 200, JSON.stringify(anonymous.body));
    assert.deepEqual([anonymous.body.plan, anonymous.body.plan_source, anonymous.body.kind], ["free", "default", "ip"]);
  });

  test("a plan is looked up once per cache period, not per request, and a change applies after it", async () => {
    const before = `e2e-${unique()}`;
    const upgraded = `e2e-${unique()}`;
    const user = await userOnPlan(before);
    const started = Date.now();
    assert.equal((await status(user)).body.plan, before);
    sql(`update public.user_plans set plan_name = '${upgraded}' where user_id = '${user.id}'`);
    const cached = await status(user);
    assert.ok(Date.now() - started < CACHE_MS, "the second request came within the cache period");
    assert.equal(cached.body.plan, before, "the second request used the cached plan: no lookup");
    await sleep(CACHE_MS + 200);
    const refreshed = await status(user);
    assert.deepEqual([refreshed.body.plan, refreshed.body.plan_source], [upgraded, "user_plans"]);
  });

  test("a failed lookup falls back to the free plan, and endpoints no plan can change never look", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 50, 60);
    sql("revoke execute on function public.rate_limit_plan(uuid) from rate_limiter");
    try {
      const looked = await status(await userOnPlan(plan));
      assert.equal(looked.status, 200, JSON.stringify(looked.body));
      assert.deepEqual([looked.body.plan, looked.body.plan_source], ["free", "default"]);
      const lookedLog = await workerLog(looked.headers.get("x-request-id"));
      assert.ok(lookedLog.some((line) => line.msg.includes("rate_limit_plan failed")), "the failed lookup is logged");

      // No row of `signup` or `default` names a plan, so the guard has no reason to ask (a path
      // below the function with no route: guarded, then a 404 without further work).
      const skipped = await call("GET", "/signup/no-route", { token: (await userOnPlan(plan)).token });
      expectError(assert, skipped, 404, "not_found");
      assert.ok(skipped.headers.get("ratelimit"), "the request was guarded");
      const skippedLog = await workerLog(skipped.headers.get("x-request-id"));
      assert.ok(!skippedLog.some((line) => line.msg.includes("rate_limit_plan")), "no lookup was attempted");
    } finally {
      sql("grant execute on function public.rate_limit_plan(uuid) to rate_limiter");
    }
  });
});

describe("store down, seen through real functions (api-keys and webhooks use the Postgres store here)", () => {
  const stripeSecret = readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
    .match(/^STRIPE_WEBHOOK_SECRETS=([^,\n]+)/m)[1];
  const stripe = new Stripe("sk_test_e2e_never_used_for_requests");

  /** A signed Stripe delivery of an event type the intake stores without acting on it. */
  function delivery() {
    const event = { id: `evt_rl_${unique()}`, object: "event", type: "customer.created", created: Math.floor(Date.now() / 1000), data: { object: {} } };
    const payload = JSON.stringify(event);
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret });
    const response = call("POST", "/webhooks/stripe", {
      body: payload,
      headers: { "content-type": "application/json", "stripe-signature": signature },
    });
    return { event, response };
  }
  const stored = (event) => rows(`select status from public.system_webhook_events where provider = 'stripe' and event_id = '${event.id}'`);

  test("api-keys fails closed: 503 with Retry-After in the one error shape, and its handler never runs", async () => {
    const user = await userOnPlan(null);
    const up = await call("GET", "/api-keys", { token: user.token });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.match(up.headers.get("ratelimit") ?? "", /^"api-keys";r=\d+;t=\d+$/);
    assert.equal(rows(`select 1 from system_rate_limit_counters where identifier = 'user:${user.id}' and endpoint = 'api-keys'`).length, 1,
      "the guard kept this user's state in Postgres");

    await withPostgresStoreDown(async () => {
      const refused = await call("PUT", "/api-keys/openai", { token: user.token, json: { key: `sk-proj-${"x".repeat(40)}` } });
      const error = expectError(assert, refused, 503, "service_unavailable");
      assert.equal(error.details.reason, "rate_limiter_unavailable");
      assert.equal(refused.headers.get("retry-after"), "5");
      assert.equal(refused.headers.get("ratelimit"), null, "no remaining count is claimed without the store");
      assert.ok(refused.headers.get("x-request-id"));
      assert.equal(rows(`select 1 from security_api_keys where user_id = '${user.id}'`).length, 0, "the handler did not store the key");
    });

    const back = await call("GET", "/api-keys", { token: user.token });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.ok(back.headers.get("ratelimit"));
  });

  test("webhook intake fails open: deliveries are still taken, with RateLimit-Policy but no RateLimit", async () => {
    const before = delivery();
    const up = await before.response;
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.match(up.headers.get("ratelimit") ?? "", /^"webhooks";r=\d+;t=\d+$/);
    assert.ok(rows("select 1 from system_rate_limit_counters where endpoint = 'webhooks'").length > 0, "the guard kept the intake's state in Postgres");

    await withPostgresStoreDown(async () => {
      const during = delivery();
      const admitted = await during.response;
      assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
      assert.equal(stored(during.event).length, 1, "the handler ran and stored the delivery");
      assert.match(admitted.headers.get("ratelimit-policy") ?? "", /^"webhooks";q=\d+;w=\d+$/);
      assert.equal(admitted.headers.get("ratelimit"), null, "without the store there is no count to report");
    });
  });
});

describe("whose budget: cheap accounts share their IP's, webhook deliveries spend their provider's", () => {
  /** A documentation address of our own (RFC 3849), so no other test or earlier run shares its budget. */
  const segment = () => (0x1000 + Math.floor(Math.random() * 0xefff)).toString(16);
  const freshIp = () => `2001:db8:${segment()}:${segment()}::1`;
  const status = (user, ip) => call("GET", "/rate-limit/status", { token: user.token, headers: { "cf-connecting-ip": ip } });
  const anonymousUser = (plan) => newUser({ claims: { is_anonymous: true, app_metadata: { provider: "anonymous", providers: ["anonymous"], plan } } });

  test("a second anonymous account from the same IP does not get a fresh budget", async () => {
    const plan = `e2e-${unique()}`;
    await limit("rate-limit", plan, 2, 60);
    const ip = freshIp();
    const first = await anonymousUser(plan);
    const answered = await status(first, ip);
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal(answered.body.key, `user:${first.id}`);
    assert.equal(answered.body.ip_key, `ip:${ip.replace(/::1$/, "::")}`, "an anonymous user spends their IP's (/64) budget too");
    assert.equal((await status(first, ip)).status, 200);
    expectError(assert, await status(first, ip), 429, "rate_limited");

    const second = await anonymousUser(plan);
    const refused = await status(second, ip);
    expectError(assert, refused, 429, "rate_limited");
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    assert.equal((await status(second, freshIp())).status, 200, "the same new account elsewhere is admitted");

    const signedUp = [await newUser({ claims: { app_metadata: { plan } } }), await newUser({ claims: { app_metadata: { plan } } })];
    for (const user of signedUp) {
      const own = await status(user, ip);
      assert.equal(own.status, 200, "a signed-up user keeps a budget of their own, whatever their IP");
      assert.equal(own.body.ip_key, null);
    }
  });

  test("sign-up requests spend the IP's budget as well as the user's", async () => {
    const plan = `e2e-${unique()}`;
    await limit("signup", plan, 2, 60);
    const ip = freshIp();
    const signup = (user, from) => call("GET", "/signup", { token: user.token, headers: { "cf-connecting-ip": from } });
    const accounts = [await newUser({ claims: { app_metadata: { plan } } }), await newUser({ claims: { app_metadata: { plan } } })];
    assert.equal((await signup(accounts[0], ip)).status, 404, "no profile yet, but admitted");
    assert.equal((await signup(accounts[1], ip)).status, 404);
    const third = await newUser({ claims: { app_metadata: { plan } } });
    const refused = await signup(third, ip);
    expectError(assert, refused, 429, "rate_limited");
    assert.equal(refused.headers.get("ratelimit-policy"), '"signup";q=2;w=60');
    assert.equal((await signup(third, freshIp())).status, 404, "a fresh account is refused for its IP, not for itself");
  });

  describe("webhook deliveries", () => {
    const [stripeSecret] = readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
      .match(/^STRIPE_WEBHOOK_SECRETS=(.*)$/m)[1].split(",");
    const [resendSecret] = readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
      .match(/^RESEND_WEBHOOK_SECRETS=(.*)$/m)[1].split(",");
    const stripe = new Stripe("sk_test_e2e_never_used_for_requests");

    function deliverStripe(ip, { forged = false } = {}) {
      const event = { id: `evt_rl_${unique()}`, object: "event", type: "customer.created", created: Math.floor(Date.now() / 1000), data: { object: {} } };
      const payload = JSON.stringify(event);
      const secret = forged ? "whsec_forgedByAnAttacker000000000000000" : stripeSecret;
      const signature = stripe.webhooks.generateTestHeaderString({ payload, secret });
      return call("POST", "/webhooks/stripe", {
        body: payload,
        headers: { "content-type": "application/json", "stripe-signature": signature, "cf-connecting-ip": ip },
      });
    }

    function deliverResend(ip) {
      const payload = JSON.stringify({ type: "email.sent", created_at: new Date().toISOString(), data: { email_id: `em_${unique()}`, to: ["x@example.test"] } });
      const id = `msg_${unique()}`;
      const signature = new Webhook(resendSecret).sign(id, new Date(), payload);
      return call("POST", "/webhooks/resend", {
        body: payload,
        headers: { "content-type": "application/json", "svix-id": id, "svix-timestamp": String(Math.floor(Date.now() / 1000)), "svix-signature": signature, "cf-connecting-ip": ip },
      });
    }

    test("verified deliveries spend their provider's budget, from whichever IP they come", async () => {
      // A two-second window keeps the drained budget from reaching the webhook tests after this file.
      await limit("webhooks", "free", 2, 2);
      try {
        const first = await deliverStripe(freshIp());
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.match(first.headers.get("ratelimit") ?? "", /^"webhooks";r=\d+;t=\d+$/, "the provider's budget, not the guard's peek at the source IP");
        assert.equal((await deliverStripe(freshIp())).status, 200);
        const refused = await deliverStripe(freshIp());
        const error = expectError(assert, refused, 429, "rate_limited");
        assert.equal(error.details.policy, "webhooks");
        assert.ok(Number(refused.headers.get("retry-after")) >= 1, "Stripe retries a 429 later");
        assert.equal((await deliverResend(freshIp())).status, 200, "Resend has a budget of its own");
        assert.equal(rows("select 1 from system_rate_limit_counters where endpoint = 'webhooks' and identifier = 'provider:stripe'").length, 1,
          "the budget is the provider's (the Postgres store, here)");
      } finally {
        sql("delete from public.system_rate_limits where endpoint = 'webhooks' and plan = 'free'");
        await sleep(Math.max(CACHE_MS, 2_000) + 200);
      }
    });

    test("forged deliveries spend their source IP's budget and are then refused before verification", async () => {
      await limit("webhooks.unverified", "free", 3, 60);
      const forger = freshIp();
      for (let i = 0; i < 3; i += 1) {
        expectError(assert, await deliverStripe(forger, { forged: true }), 400, "invalid_signature");
      }
      const turnedAway = await deliverStripe(forger, { forged: true });
      const error = expectError(assert, turnedAway, 429, "rate_limited");
      assert.equal(error.details.policy, "webhooks.unverified", "refused for its source, without checking the signature (else: 400)");
      assert.ok(Number(turnedAway.headers.get("retry-after")) > 0);

      const prober = freshIp();
      for (let i = 0; i < 3; i += 1) {
        const probe = await call("GET", "/webhooks/stripe", { headers: { "cf-connecting-ip": prober } });
        expectError(assert, probe, 405, "method_not_allowed");
      }
      expectError(assert, await call("GET", "/webhooks/stripe", { headers: { "cf-connecting-ip": prober } }), 429, "rate_limited");
      expectError(assert, await deliverStripe(prober), 429, "rate_limited");

      const stripesAddress = freshIp();
      for (let i = 0; i < 5; i += 1) {
        assert.equal((await deliverStripe(stripesAddress)).status, 200, "verified deliveries never spend their IP's budget");
      }
    });
  });
});
