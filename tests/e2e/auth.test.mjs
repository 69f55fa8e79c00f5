// End-to-end tests of user-token verification (shared::auth, through RequestContext::caller and
// the privileged-caller check): ES256 and RS256 tokens from a JWKS, verified by the real Worker
// with WebCrypto, and HS256 with the legacy JWT secret where the stack has one (STACK_KEYS=legacy;
// with signing keys there is none, and HS256 is refused).
//
// The Worker here is one of this file's own (own-worker.mjs): the stack's settings, plus a
// JWKS_URL pointing at this file's key server (jwks-server.mjs) and a 2 s refetch interval
// (JWKS_REFETCH_SECONDS) so the rotation tests need no long waits. Its isolate is fresh, so the
// JWKS cache starts empty and every fetch it makes is seen in the key server's log.
//
// Which endpoint shows that a token was accepted: POST /cleanup/run verifies any token with the
// project's keys and answers 403 (a user's role is not a privileged one) before touching the
// database, whereas a refusal of the token itself is a 401 with the reason (503 when the keys
// cannot be fetched). The tokens here are signed with this file's keys, which PostgREST does not
// trust, so only HS256 (legacy) also goes through to the database. Refusals are checked on
// GET /signup too, which verifies the user before any database call.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { exportSPKI } from "jose";
import { call, env, expectError, newUser, token } from "./lib.mjs";
import { base64url, keyServer, signed, signingKey } from "./jwks-server.mjs";
import { liftRateLimit } from "./lift-limit.mjs";
import { startOwnWorker } from "./own-worker.mjs";

const JWKS_PORT = 24610;
const WORKER_PORT = 24620;
const REFETCH_SECONDS = 2;
const legacy = process.env.STACK_KEYS !== "signing";

const run = randomUUID().slice(0, 8);
const kid = (name) => `e2e-${run}-${name}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const server = keyServer(JWKS_PORT);
const keys = {};
let worker;
let restoreRateLimit = () => {};

const at = (method, path, options) => call(method, path, { ...options, base: worker.functionsUrl });
const verifiedCall = (bearer) => at("POST", "/cleanup/run", { token: bearer });

function expectAccepted(response) {
  const error = expectError(assert, response, 403, "forbidden");
  assert.match(error.message, /services and operators only/);
}

/** A refusal of the token: 401 in the one shape, WWW-Authenticate: Bearer, the reason given. */
function expectRefused(response, reason) {
  const error = expectError(assert, response, 401, "unauthorized");
  assert.equal(response.headers.get("www-authenticate"), "Bearer");
  assert.equal(error.details?.reason, reason, JSON.stringify(error));
  assert.ok(response.headers.get("x-request-id"));
  return error;
}

/** Waits until the Worker may refetch again: the interval after the key server's last request. */
async function untilRefetchAllowed() {
  const wait = server.lastFetchAt + REFETCH_SECONDS * 1000 + 300 - Date.now();
  if (wait > 0) await sleep(wait);
}

before(async () => {
  // Every refusal here is checked on /signup, whose seeded limit (10 a minute per client) would
  // otherwise answer 429 first.
  restoreRateLimit = await liftRateLimit("signup");
  keys.es = await signingKey("ES256", kid("es-1"));
  keys.rs = await signingKey("RS256", kid("rs-1"));
  keys.esRotated = await signingKey("ES256", kid("es-2"));
  keys.esImpostor = { ...(await signingKey("ES256", kid("impostor"))), kid: keys.es.kid };
  keys.rsImpostor = { ...(await signingKey("RS256", kid("impostor"))), kid: keys.rs.kid };
  server.serve([keys.es, keys.rs]);
  await server.start();
  worker = await startOwnWorker({ port: WORKER_PORT, vars: { JWKS_URL: server.url, JWKS_REFETCH_SECONDS: String(REFETCH_SECONDS) } });
});

after(async () => {
  await worker?.stop();
  await server.stop();
  restoreRateLimit();
});

describe("user tokens through the Worker", () => {
  test("ES256 and RS256 tokens from the JWKS are accepted; the keys are fetched once", async () => {
    const user = await newUser();
    assert.equal(server.fetches.length, 0, "a fresh isolate has fetched nothing yet");
    expectAccepted(await verifiedCall(await signed(user, { key: keys.es })));
    expectAccepted(await verifiedCall(await signed(user, { key: keys.rs })));
    expectAccepted(await verifiedCall(await signed(user, { key: keys.es, kid: null })));
    assert.equal(server.fetches.length, 1, "cached keys are reused");
  });

  test(
    legacy
      ? "HS256 tokens signed with the legacy JWT secret work beside the JWKS, and reach the database"
      : "HS256 tokens are refused: on signing keys no JWT secret is configured",
    async () => {
      const fetched = server.fetches.length;
      const user = await newUser();
      const hs256 = await token({ sub: user.id }, { secret: legacy ? env.jwtSecret : "a-secret-nobody-configured-0123456789" });
      if (legacy) {
        expectError(assert, await at("GET", "/signup", { token: hs256 }), 404, "profile_not_found");
        expectAccepted(await verifiedCall(hs256));
      } else {
        expectRefused(await at("GET", "/signup", { token: hs256 }), "algorithm_not_allowed");
      }
      assert.equal(server.fetches.length, fetched, "HS256 never needs the JWKS");
    },
  );

  test("expired, not yet valid and wrong-audience tokens are refused with the reason", async () => {
    const user = await newUser();
    const now = Math.floor(Date.now() / 1000);
    const everywhere = [
      // Past the Worker's 30 s leeway.
      ["token_expired", { key: keys.es, issuedAt: now - 3_600, expiresAt: now - 120 }],
      ["token_expired", { key: keys.rs, issuedAt: now - 3_600, expiresAt: now - 120 }],
      ["token_not_yet_valid", { key: keys.es, notBefore: now + 600, expiresAt: now + 1_200 }],
      ["token_not_yet_valid", { key: keys.rs, issuedAt: now + 600, expiresAt: now + 1_200 }],
    ];
    if (legacy) everywhere.push(["token_expired", { alg: "HS256", secret: new TextEncoder().encode(env.jwtSecret), issuedAt: now - 3_600, expiresAt: now - 120 }]);
    for (const [reason, options] of everywhere) {
      const bearer = await signed(user, options);
      expectRefused(await at("GET", "/signup", { token: bearer }), reason);
      expectRefused(await verifiedCall(bearer), reason);
    }
    // The audience is the user endpoints' rule; a service-role key has none, so the
    // privileged check does not ask for one.
    for (const aud of ["somebody-else", ["anon", "service"]]) {
      const bearer = await signed(user, { key: keys.es, claims: { aud } });
      expectRefused(await at("GET", "/signup", { token: bearer }), "wrong_audience");
      expectAccepted(await verifiedCall(bearer));
    }
  });

  test("bad signatures are refused: another key under a known kid, a tampered payload", async () => {
    const user = await newUser();
    const genuine = await signed(user, { key: keys.es });
    const [header, , signature] = genuine.split(".");
    const tampered = `${header}.${base64url({ sub: user.id, role: "service_role", aud: "authenticated", exp: 9_999_999_999 })}.${signature}`;
    const forged = [await signed(user, { key: keys.esImpostor }), await signed(user, { key: keys.rsImpostor }), tampered];
    if (legacy) forged.push(await token({ sub: user.id }, { secret: "an-attacker-secret-that-is-at-least-32-chars" }));
    for (const bearer of forged) {
      expectRefused(await at("GET", "/signup", { token: bearer }), "bad_signature");
      expectRefused(await verifiedCall(bearer), "bad_signature");
    }
  });

  test("alg none and algorithm confusion are refused", async () => {
    const user = await newUser();
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: user.id, role: "authenticated", aud: "authenticated", iat: now, exp: now + 600 };
    for (const bearer of [
      `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`,
      `${base64url({ alg: "none", typ: "JWT", kid: keys.es.kid })}.${base64url(claims)}.`,
    ]) {
      expectRefused(await at("GET", "/signup", { token: bearer }), "algorithm_not_allowed");
    }
    // HS256 keyed with the RSA public key (the classic confusion attack): HS256 is checked
    // against the JWT secret only (refused outright without one), never against a JWKS key.
    const publicPem = new TextEncoder().encode(await exportSPKI(keys.rs.publicKey));
    const confused = await signed(user, { alg: "HS256", kid: keys.rs.kid, secret: publicPem });
    expectRefused(await at("GET", "/signup", { token: confused }), legacy ? "bad_signature" : "algorithm_not_allowed");
    // ES256 under the RSA key's kid: the key type decides, not the header.
    const mismatched = await signed(user, { key: keys.esImpostor, kid: keys.rs.kid });
    expectRefused(await at("GET", "/signup", { token: mismatched }), "algorithm_not_allowed");
    const hs512 = await signed(user, { alg: "HS512", secret: new TextEncoder().encode("x".repeat(64)) });
    expectRefused(await at("GET", "/signup", { token: hs512 }), "algorithm_not_allowed");
  });

  test("unknown kids are refused and cause no fetch within the interval after the last one", async () => {
    const user = await newUser();
    await untilRefetchAllowed();
    const fetched = server.fetches.length;
    for (const name of ["unknown-1", "unknown-2", "unknown-3", "unknown-4"]) {
      expectRefused(await at("GET", "/signup", { token: await signed(user, { key: keys.es, kid: kid(name) }) }), "unknown_key_id");
    }
    assert.equal(server.fetches.length, fetched + 1, "the first made one refetch; the others, within the interval, none");
  });

  test("key rotation: a burst of unknown kids makes one refetch, which brings in the new key; the removed key is refused", async () => {
    const user = await newUser();
    server.serve([keys.esRotated, keys.rs]);
    await untilRefetchAllowed();
    const fetched = server.fetches.length;
    const burst = await Promise.all(
      ["burst-1", "burst-2", "burst-3", "burst-4", "burst-5"].map(async (name) =>
        at("GET", "/signup", { token: await signed(user, { key: keys.esRotated, kid: kid(name) }) }),
      ),
    );
    for (const response of burst) expectRefused(response, "unknown_key_id");
    assert.equal(server.fetches.length, fetched + 1, "one refetch for the whole burst");

    expectAccepted(await verifiedCall(await signed(user, { key: keys.esRotated })));
    expectAccepted(await verifiedCall(await signed(user, { key: keys.rs })));
    expectRefused(await verifiedCall(await signed(user, { key: keys.es })), "unknown_key_id");
    assert.equal(server.fetches.length, fetched + 1, "the new key came with that refetch; nothing fetched since");
  });

  test("JWKS endpoint down: an uncached kid gets 503 with Retry-After; cached keys keep working", async () => {
    const user = await newUser();
    await server.stop();
    await untilRefetchAllowed();
    const response = await at("GET", "/signup", { token: await signed(user, { key: keys.esRotated, kid: kid("after-outage") }) });
    const error = expectError(assert, response, 503, "service_unavailable");
    assert.equal(error.details?.reason, "jwks_unavailable");
    assert.match(response.headers.get("retry-after") ?? "", /^\d+$/);
    expectAccepted(await verifiedCall(await signed(user, { key: keys.esRotated })));
  });
});
