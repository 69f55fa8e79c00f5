// End-to-end tests of a function's own Worker (workers/signup.wrangler.toml: src/lib.rs built
// with only the `signup` feature), next to the bundle the other files test: it serves signup
// and health and nothing else, on the bundle's path, with the bundle's guard in front.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, env, expectError, newUser } from "./lib.mjs";
import { startOwnWorker } from "./own-worker.mjs";

const PORT = 24650;
let worker;

before(async () => {
  // Without a system_rate_limits row for signup, a small default keeps the limit test short.
  worker = await startOwnWorker({ port: PORT, config: "workers/signup.wrangler.toml", vars: { RATE_LIMIT_DEFAULTS: "signup=4/60" } });
});
after(async () => {
  await worker?.stop();
});

const at = (method, path, options = {}) => call(method, path, { ...options, base: worker.functionsUrl });

describe("signup's own Worker", () => {
  test("signs a user up, as the bundle does", async () => {
    const user = await newUser();
    const response = await at("POST", "/signup", { token: user.token, json: {} });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.created, true);
    assert.equal(response.body.profile.id, user.id);
  });

  test("serves no other function, and says which it serves", async () => {
    const response = await at("POST", "/lead-scoring/preview", { json: {} });
    const error = expectError(assert, response, 404, "not_found");
    assert.match(error.message, /no function named 'lead-scoring'; available: health, signup$/);
  });

  test("its health lists only its functions and their settings, to the secret key", async () => {
    const response = await at("GET", "/health", { headers: { apikey: env.secretKey } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.functions, ["health", "signup"]);
    assert.deepEqual(response.body.function_config, {
      health: { ok: true, problems: [] },
      signup: { ok: true, problems: [] },
    });
  });

  test("is rate limited like the bundle: RateLimit fields, then 429 once the budget is spent", async () => {
    const first = await at("GET", "/signup");
    const policy = first.headers.get("ratelimit-policy");
    assert.match(policy ?? "", /^"signup";q=\d+;w=\d+$/, "the guard charged signup's budget");
    const quota = Number(policy.match(/q=(\d+)/)[1]);
    let last = first;
    for (let sent = 1; sent <= quota && last.status !== 429; sent += 1) last = await at("GET", "/signup");
    expectError(assert, last, 429, "rate_limited");
    assert.ok(Number(last.headers.get("retry-after")) >= 1);
  });
});
