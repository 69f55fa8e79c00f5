// End-to-end tests of the one privileged-caller check (shared::privileged) on every endpoint that
// uses it, through the stack's Worker: the credentials README's endpoint table lists are accepted
// there, a user's token gets 403, a missing or wrong credential 401.
//
// Each accepted call does its work: cleanup/run and api-keys/rotate run as the maintenance role
// and rate-limit/check charges a budget through the Worker's role tokens, so they also show that
// PostgREST trusts the key the Worker signs with. The calls are chosen to touch nothing another
// test file looks at: rotation starts after the highest possible id, the cleanup job is the
// expired-token sweep, the limiter keys are this file's own.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { call, env, expectError, newUser } from "./lib.mjs";
import { roleToken, serviceRoleKey } from "./keys.mjs";

const LAST_ID = "ffffffff-ffff-ffff-ffff-ffffffffffff";

/** Each privileged endpoint: a call that does its real work, and how to tell it did. */
const endpoints = {
  "cleanup/run": {
    call: (headers) => call("POST", "/cleanup/run", { headers, json: { jobs: ["expired_tokens"] } }),
    expect: (response) => {
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.jobs[0].job, "expired_tokens");
      assert.equal(response.body.jobs[0].error, null, "the maintenance role token was accepted by PostgREST");
    },
  },
  "rate-limit/check": {
    call: (headers) => call("POST", "/rate-limit/check", { headers, json: { key: `privileged:${randomUUID()}`, endpoint: "e2e-pg" } }),
    expect: (response) => {
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.allowed, true);
      assert.equal(response.body.store, "postgres", "charged through the rate_limiter role token");
    },
  },
  "api-keys/rotate": {
    call: (headers) => call("POST", "/api-keys/rotate", { headers, json: { after: LAST_ID, limit: 1 } }),
    expect: (response) => {
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual([response.body.rotated, response.body.next_after], [0, null]);
    },
  },
  "health (details)": {
    call: (headers) => call("GET", "/health", { headers }),
    expect: (response) => {
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.status, "ok");
      assert.match(response.body.version, /^\d+\.\d+\.\d+/);
      assert.equal(response.body.postgrest.verdict.ok, true);
    },
  },
};
const bearer = (token) => ({ authorization: `Bearer ${token}` });

describe("privileged endpoints", () => {
  test("the secret key is accepted on each, as apikey and as Bearer", async () => {
    for (const [name, endpoint] of Object.entries(endpoints)) {
      for (const headers of [{ apikey: env.secretKey }, bearer(env.secretKey)]) {
        const response = await endpoint.call(headers);
        endpoint.expect(response);
        if (name.startsWith("health")) assert.equal(response.body.caller, "secret_key");
      }
    }
  });

  test("a service_role key shaped as Supabase issues it (no aud) is accepted on each", async () => {
    const key = await serviceRoleKey();
    assert.equal(JSON.parse(Buffer.from(key.split(".")[1], "base64url")).aud, undefined);
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const response = await endpoint.call(bearer(key));
      endpoint.expect(response);
      if (name.startsWith("health")) assert.equal(response.body.caller, "service_role_token");
    }
  });

  test("a role token the Worker minted opens the endpoints of its role only", async () => {
    const maintenance = await roleToken("maintenance");
    const limiter = await roleToken("rate_limiter");
    endpoints["cleanup/run"].expect(await endpoints["cleanup/run"].call(bearer(maintenance)));
    endpoints["api-keys/rotate"].expect(await endpoints["api-keys/rotate"].call(bearer(maintenance)));
    endpoints["rate-limit/check"].expect(await endpoints["rate-limit/check"].call(bearer(limiter)));
    expectError(assert, await endpoints["rate-limit/check"].call(bearer(maintenance)), 403, "forbidden");
    expectError(assert, await endpoints["cleanup/run"].call(bearer(limiter)), 403, "forbidden");
    expectError(assert, await endpoints["api-keys/rotate"].call(bearer(await roleToken("webhook_ingest"))), 403, "forbidden");
  });

  test("a user's token gets 403 on each (health answers it publicly, without details)", async () => {
    const user = await newUser();
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const response = await endpoint.call(bearer(user.token));
      if (name.startsWith("health")) {
        assert.deepEqual(response.body, { status: "ok" });
        continue;
      }
      const error = expectError(assert, response, 403, "forbidden");
      assert.match(error.message, /services and operators only/);
    }
  });

  test("no credential, a wrong secret key or a forged service key gets 401 naming what the endpoint takes", async () => {
    const forged = (await serviceRoleKey()).replace(/.{6}$/, "AAAAAA");
    for (const [name, endpoint] of Object.entries(endpoints)) {
      if (name.startsWith("health")) continue;
      const missing = expectError(assert, await endpoint.call({}), 401, "unauthorized");
      assert.match(missing.message, /SUPABASE_SECRET_KEY/);
      assert.match(missing.message, /service_role JWT/);
      const wrong = expectError(assert, await endpoint.call({ apikey: `${env.secretKey}0` }), 401, "unauthorized");
      assert.equal(wrong.details?.reason, "invalid_secret_key");
      assert.ok(!JSON.stringify(wrong).includes(env.secretKey), "the key is never echoed");
      const bad = expectError(assert, await endpoint.call(bearer(forged)), 401, "unauthorized");
      assert.equal(bad.details?.reason, "bad_signature");
    }
  });
});
