// End-to-end tests of the bundle router every function stands on: health,
// 404/405 in the one error shape, request ids, CORS, 401 for bad credentials and the body
// limits. Run against the built bundle in wrangler dev; the body checks use /signup because it
// reads a JSON body under a user's token, with its rate limit lifted (see lift-limit.mjs).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, env, expectError, newUser, token } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

let restoreRateLimit = () => {};
before(async () => {
  restoreRateLimit = await liftRateLimit("signup");
});
after(() => restoreRateLimit());

const ORIGIN = "https://app.example.test";

/** Checks that the x-request-id header and the body's request_id agree. */
function expectRequestId(response, error) {
  const header = response.headers.get("x-request-id");
  assert.ok(header, "x-request-id header missing");
  assert.equal(error.request_id, header);
}

describe("health", () => {
  // What it says, and to whom: tests/e2e/health.test.mjs.
  test("GET /functions/v1/health answers 200 JSON, a request id and nothing but the status", async () => {
    const response = await call("GET", "/health");
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.match(response.headers.get("content-type"), /^application\/json/);
    assert.deepEqual(response.body, { status: "ok" });
    assert.ok(response.headers.get("x-request-id"));
  });

  test("every response gets its own request id", async () => {
    const [first, second] = await Promise.all([call("GET", "/health"), call("GET", "/health")]);
    assert.notEqual(first.headers.get("x-request-id"), second.headers.get("x-request-id"));
  });
});

describe("not found and wrong method", () => {
  test("an unknown function is a 404 in the one shape, with the request id", async () => {
    const response = await call("GET", "/no-such-function");
    const error = expectError(assert, response, 404, "not_found");
    expectRequestId(response, error);
    assert.match(error.message, /no-such-function/);
  });

  test("an unknown path below a function is a 404", async () => {
    for (const path of ["/health/extra", "/signup/extra/deeper"]) {
      const response = await call("GET", path);
      expectRequestId(response, expectError(assert, response, 404, "not_found"));
    }
  });

  test("a path outside /functions/v1/ is a 404 in the same shape", async () => {
    const response = await fetch(`${env.workerUrl}/not-functions`);
    const body = await response.json();
    assert.equal(response.status, 404);
    assert.equal(body.error.code, "not_found");
    assert.equal(body.error.request_id, response.headers.get("x-request-id"));
  });

  test("a wrong method is a 405 listing the allowed ones in Allow", async () => {
    const health = await call("POST", "/health", { json: {} });
    expectRequestId(health, expectError(assert, health, 405, "method_not_allowed"));
    assert.equal(health.headers.get("allow"), "GET");
    const signup = await call("DELETE", "/signup");
    expectError(assert, signup, 405, "method_not_allowed");
    assert.equal(signup.headers.get("allow"), "GET, POST");
  });
});

describe("CORS", () => {
  test("a preflight for DELETE gets 204 with origin, methods and the Supabase client headers", async () => {
    const response = await fetch(`${env.functionsUrl}/signup`, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "DELETE",
        "access-control-request-headers": "authorization, apikey, x-client-info, content-type",
      },
    });
    assert.equal(response.status, 204);
    const allowOrigin = response.headers.get("access-control-allow-origin");
    assert.ok(allowOrigin === "*" || allowOrigin === ORIGIN, `allow-origin: ${allowOrigin}`);
    const methods = (response.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
    for (const method of ["GET", "POST", "DELETE", "OPTIONS"]) assert.ok(methods.includes(method), `${method} in ${methods}`);
    const headers = (response.headers.get("access-control-allow-headers") ?? "").split(",").map((h) => h.trim().toLowerCase());
    for (const header of ["authorization", "apikey", "x-client-info", "content-type"]) {
      assert.ok(headers.includes(header), `${header} in ${headers}`);
    }
  });

  test("a preflight for a function that does not exist is answered too", async () => {
    const response = await fetch(`${env.functionsUrl}/whatever`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST" },
    });
    assert.equal(response.status, 204);
    assert.ok(response.headers.get("access-control-allow-origin"));
  });

  test("normal and error responses carry Access-Control-Allow-Origin and expose x-request-id", async () => {
    const ok = await call("GET", "/health", { headers: { origin: ORIGIN } });
    assert.equal(ok.status, 200);
    assert.ok(ok.headers.get("access-control-allow-origin"));
    assert.match(ok.headers.get("access-control-expose-headers") ?? "", /x-request-id/);
    const missing = await call("GET", "/nope", { headers: { origin: ORIGIN } });
    assert.equal(missing.status, 404);
    assert.ok(missing.headers.get("access-control-allow-origin"));
  });
});

describe("credentials", () => {
  test("a missing token is a 401 in the one shape", async () => {
    const response = await call("GET", "/signup");
    expectRequestId(response, expectError(assert, response, 401, "unauthorized"));
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
  });

  test("a token signed with another secret is a 401", async () => {
    const forged = await token({ email: "mallory@example.test" }, { secret: "an-attacker-secret-that-is-at-least-32-chars" });
    const response = await call("GET", "/signup", { token: forged });
    expectRequestId(response, expectError(assert, response, 401, "unauthorized"));
  });

  test("a token for another audience is a 401", async () => {
    const other = await token({ aud: "some-other-service" });
    expectError(assert, await call("GET", "/signup", { token: other }), 401, "unauthorized");
  });

  test("a malformed Authorization header is a 401", async () => {
    const response = await call("GET", "/signup", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expectError(assert, response, 401, "unauthorized");
  });
});

describe("request bodies", () => {
  test("413 over the body limit, 415 for a non-JSON type, 400 saying where the JSON breaks", async () => {
    const user = await newUser();
    const tooLarge = await call("POST", "/signup", {
      token: user.token,
      body: JSON.stringify({ full_name: "x".repeat(2 * 1024 * 1024) }),
      headers: { "content-type": "application/json" },
    });
    expectRequestId(tooLarge, expectError(assert, tooLarge, 413, "payload_too_large"));
    const wrongType = await call("POST", "/signup", { token: user.token, body: "<xml/>", headers: { "content-type": "application/xml" } });
    expectError(assert, wrongType, 415, "unsupported_media_type");
    const malformed = await call("POST", "/signup", {
      token: user.token,
      body: '{\n  "full_name": }',
      headers: { "content-type": "application/json" },
    });
    const error = expectError(assert, malformed, 400, "invalid_json");
    assert.equal(error.message, "malformed JSON at line 2, column 16");
  });
});
