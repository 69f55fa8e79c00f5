// End-to-end tests of user-token verification (issue 2, shared::auth wired in by
// RequestContext::caller): HS256 with the project's JWT secret and ES256/RS256 from a JWKS URL,
// both configured at once as on a Supabase project with asymmetric keys plus the legacy secret.
// The Worker under test reads JWKS_URL from tests/e2e/vars/auth.env; this file serves that JWKS
// from a key server of its own (keys generated here, at test time) and counts its requests.
//
// Which endpoint shows that a token was accepted:
// - HS256: GET /functions/v1/signup answers 404 profile_not_found for a user who has not signed
//   up, which needs the token to pass the Worker and then PostgREST (the gateway) under RLS.
// - ES256/RS256: the local gateway is started with the HS256 secret only (PGRST_JWT_SECRET in
//   tools/scripts/stack.sh), so it refuses asymmetric tokens the Worker accepted. These are shown
//   accepted by POST /functions/v1/cleanup/run instead: it verifies the caller and answers 403
//   (role `authenticated` is not `service_role`) before touching the database, whereas any
//   refusal of the token itself is a 401 (or 503 when the keys cannot be fetched).
// Refusals are checked on GET /functions/v1/signup: the Worker refuses before any database call.
//
// The JWKS cache lives in the Worker's isolate (keys reused 10 min; a refetch on an unknown kid
// at most once per 30 s, counted from the last fetch attempt; a failed fetch not retried within
// 30 s either), and every test file shares one wrangler dev. So this file assumes nothing about
// the cache when it starts:
// - its key ids are random per run, so keys cached by an earlier run never match them;
// - before() retries an ES256 token until it is accepted, which takes at most about 30 s
//   whatever state an earlier run left (a cached set of other keys, or a recent failed fetch);
// - from then on the tests run in file order (node:test runs one file's tests one after the
//   other) and each step's expectations follow from the key server's own request log: the time
//   of the last fetch decides when the next refetch is allowed.
// Other test files sign with HS256 only, which never makes the Worker fetch the JWKS, so they
// neither depend on nor disturb this state. Running the file takes about 70 s, two 30 s waits.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from "jose";
import { call, env, expectError, newUser, token } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

/** Must match JWKS_URL in tests/e2e/vars/auth.env. */
const JWKS_PORT = 24610;
const JWKS_PATH = "/auth/v1/.well-known/jwks.json";
/** The Worker's refetch interval (shared::auth::JwksCachePolicy) plus a second of margin. */
const REFETCH_INTERVAL_MS = 31_000;
const WARM_UP_DEADLINE_MS = 90_000;

const run = randomUUID().slice(0, 8);
const kid = (name) => `e2e-${run}-${name}`;

/** A signing key: the private half signs tokens, the public JWK goes into the served set. */
async function signingKey(alg, name) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: kid(name), alg, use: "sig" };
  return { alg, kid: jwk.kid, privateKey, publicKey, jwk };
}

/**
 * The JWKS endpoint the Worker fetches. `serve(keys)` changes the set it answers with; every
 * request is recorded with its time so tests can tell when the Worker fetched.
 */
function keyServer() {
  const fetches = [];
  let keys = [];
  const server = http.createServer((req, res) => {
    fetches.push(Date.now());
    if (req.method !== "GET" || req.url !== JWKS_PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=600" });
    res.end(JSON.stringify({ keys: keys.map((key) => key.jwk) }));
  });
  return {
    fetches,
    serve(next) {
      keys = next;
    },
    get lastFetchAt() {
      return fetches.at(-1);
    },
    start: () => new Promise((resolve, reject) => server.once("error", reject).listen(JWKS_PORT, "127.0.0.1", resolve)),
    stop: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A Supabase-shaped access token for `user`, signed with `key` (or anything jose can sign with). */
async function signed(user, { key, alg = key?.alg, kid: keyId = key?.kid, secret, claims = {}, issuedAt, expiresAt, notBefore } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: "authenticated", aud: "authenticated", email: user.email, ...claims })
    .setProtectedHeader({ alg, typ: "JWT", ...(keyId ? { kid: keyId } : {}) })
    .setSubject(user.id)
    .setIssuedAt(issuedAt ?? now)
    .setExpirationTime(expiresAt ?? now + 600);
  if (notBefore !== undefined) jwt.setNotBefore(notBefore);
  return jwt.sign(secret ?? key.privateKey);
}

function base64url(value) {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** POST /cleanup/run: 403 once the Worker has verified the token (see the top of the file). */
async function verifiedCall(bearer) {
  return call("POST", "/cleanup/run", { token: bearer });
}

function expectAccepted(response) {
  const error = expectError(assert, response, 403, "forbidden");
  assert.match(error.message, /service role/);
}

/** A refusal of the token: 401 in the one shape, WWW-Authenticate: Bearer, the reason given. */
function expectRefused(response, reason) {
  const error = expectError(assert, response, 401, "unauthorized");
  assert.equal(response.headers.get("www-authenticate"), "Bearer");
  assert.equal(error.details?.reason, reason, JSON.stringify(error));
  assert.ok(response.headers.get("x-request-id"));
  return error;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the Worker may refetch again: the refetch interval after the last fetch. */
async function untilRefetchAllowed(server) {
  const wait = server.lastFetchAt + REFETCH_INTERVAL_MS - Date.now();
  if (wait > 0) await sleep(wait);
}

const keys = {};
const server = keyServer();
let restoreRateLimit = () => {};

before(async () => {
  restoreRateLimit = await liftRateLimit("signup");
  keys.es = await signingKey("ES256", "es-1");
  keys.rs = await signingKey("RS256", "rs-1");
  keys.esRotated = await signingKey("ES256", "es-2");
  keys.esImpostor = { ...(await signingKey("ES256", "impostor")), kid: keys.es.kid };
  keys.rsImpostor = { ...(await signingKey("RS256", "impostor")), kid: keys.rs.kid };
  server.serve([keys.es, keys.rs]);
  await server.start();

  // Until the Worker holds this run's keys: immediately on a fresh isolate, after at most one
  // refetch interval when an earlier run left other keys or a failed fetch behind.
  const user = await newUser();
  const deadline = Date.now() + WARM_UP_DEADLINE_MS;
  for (;;) {
    const response = await verifiedCall(await signed(user, { key: keys.es }));
    if (response.status === 403) break;
    const reason = response.body?.error?.details?.reason;
    assert.ok(["unknown_key_id", "jwks_unavailable"].includes(reason), `warm-up: ${response.status} ${JSON.stringify(response.body)}`);
    assert.ok(Date.now() < deadline, "the Worker never fetched this run's JWKS");
    await sleep(1_000);
  }
  assert.ok(server.fetches.length >= 1);
});

after(async () => {
  await server.stop();
  restoreRateLimit();
});

describe("user tokens through the Worker", () => {
  test("ES256 and RS256 tokens from the JWKS are accepted without another fetch", async () => {
    const fetched = server.fetches.length;
    const user = await newUser();
    expectAccepted(await verifiedCall(await signed(user, { key: keys.es })));
    expectAccepted(await verifiedCall(await signed(user, { key: keys.rs })));
    assert.equal(server.fetches.length, fetched, "cached keys are reused");
  });

  test("HS256 tokens signed with the JWT secret still work beside the JWKS, and reach the database", async () => {
    const fetched = server.fetches.length;
    const user = await newUser();
    const response = await call("GET", "/signup", { token: user.token });
    expectError(assert, response, 404, "profile_not_found");
    expectAccepted(await verifiedCall(user.token));
    assert.equal(server.fetches.length, fetched, "HS256 never needs the JWKS");
  });

  test("expired, not yet valid and wrong-audience tokens are refused with the reason", async () => {
    const user = await newUser();
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      // Past the Worker's 30 s leeway.
      ["token_expired", { key: keys.es, issuedAt: now - 3_600, expiresAt: now - 120 }],
      ["token_expired", { key: keys.rs, issuedAt: now - 3_600, expiresAt: now - 120 }],
      ["token_expired", { alg: "HS256", secret: new TextEncoder().encode(env.jwtSecret), issuedAt: now - 3_600, expiresAt: now - 120 }],
      ["token_not_yet_valid", { key: keys.es, notBefore: now + 600, expiresAt: now + 1_200 }],
      ["token_not_yet_valid", { key: keys.rs, issuedAt: now + 600, expiresAt: now + 1_200 }],
      ["wrong_audience", { key: keys.es, claims: { aud: "somebody-else" } }],
      ["wrong_audience", { key: keys.rs, claims: { aud: ["anon", "service"] } }],
    ];
    for (const [reason, options] of cases) {
      const bearer = await signed(user, options);
      expectRefused(await call("GET", "/signup", { token: bearer }), reason);
      expectRefused(await verifiedCall(bearer), reason);
    }
  });

  test("bad signatures are refused: another key under a known kid, another HS256 secret, a tampered payload", async () => {
    const user = await newUser();
    const genuine = await signed(user, { key: keys.es });
    const [header, , signature] = genuine.split(".");
    const tampered = `${header}.${base64url({ sub: user.id, role: "service_role", aud: "authenticated", exp: 9_999_999_999 })}.${signature}`;
    const forged = [
      await signed(user, { key: keys.esImpostor }),
      await signed(user, { key: keys.rsImpostor }),
      await token({ sub: user.id }, { secret: "an-attacker-secret-that-is-at-least-32-chars" }),
      tampered,
    ];
    for (const bearer of forged) {
      expectRefused(await call("GET", "/signup", { token: bearer }), "bad_signature");
    }
  });

  test("alg none and algorithm confusion are refused", async () => {
    const user = await newUser();
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: user.id, role: "authenticated", aud: "authenticated", iat: now, exp: now + 600 };
    const unsigned = [
      `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`,
      `${base64url({ alg: "none", typ: "JWT", kid: keys.es.kid })}.${base64url(claims)}.`,
    ];
    for (const bearer of unsigned) {
      expectRefused(await call("GET", "/signup", { token: bearer }), "algorithm_not_allowed");
    }
    // HS256 keyed with the RSA public key (the classic confusion attack): the Worker checks
    // HS256 against the JWT secret only, so the signature does not verify.
    const publicPem = new TextEncoder().encode(await exportSPKI(keys.rs.publicKey));
    const confused = await signed(user, { alg: "HS256", kid: keys.rs.kid, secret: publicPem });
    expectRefused(await call("GET", "/signup", { token: confused }), "bad_signature");
    // A token claiming ES256 under the RSA key's kid: the key type decides, not the header.
    const mismatched = await signed(user, { key: keys.esImpostor, kid: keys.rs.kid });
    expectRefused(await call("GET", "/signup", { token: mismatched }), "algorithm_not_allowed");
    // Algorithms with no configured key.
    const hs512 = await signed(user, { alg: "HS512", secret: new TextEncoder().encode(env.jwtSecret) });
    expectRefused(await call("GET", "/signup", { token: hs512 }), "algorithm_not_allowed");
  });

  test("unknown kids are refused and cause no fetch within the interval after the last one", async () => {
    const fetched = server.fetches.length;
    assert.ok(Date.now() - server.lastFetchAt < 25_000, "this test must run within the refetch interval of the warm-up fetch");
    const user = await newUser();
    for (const name of ["unknown-1", "unknown-2", "unknown-3"]) {
      const bearer = await signed(user, { key: keys.es, kid: kid(name) });
      expectRefused(await call("GET", "/signup", { token: bearer }), "unknown_key_id");
    }
    assert.equal(server.fetches.length, fetched, "no refetch within the interval");
  });

  test("key rotation: a burst of unknown kids makes one refetch, which brings in the new key; the removed key is refused", async () => {
    const user = await newUser();
    server.serve([keys.esRotated, keys.rs]);
    const rotatedToken = await signed(user, { key: keys.esRotated });
    const fetched = server.fetches.length;
    expectRefused(await verifiedCall(rotatedToken), "unknown_key_id");
    assert.equal(server.fetches.length, fetched, "still within the interval: no refetch yet");

    // Sent at once, so they interleave in the isolate: the fetch is recorded before it is
    // awaited, and none of the others may start a second one.
    await untilRefetchAllowed(server);
    const burst = await Promise.all(
      ["burst-1", "burst-2", "burst-3", "burst-4", "burst-5"].map(async (name) =>
        call("GET", "/signup", { token: await signed(user, { key: keys.esRotated, kid: kid(name) }) }),
      ),
    );
    for (const response of burst) expectRefused(response, "unknown_key_id");
    assert.equal(server.fetches.length, fetched + 1, "exactly one refetch for the whole burst");

    expectAccepted(await verifiedCall(rotatedToken));
    expectAccepted(await verifiedCall(await signed(user, { key: keys.rs })));
    expectRefused(await verifiedCall(await signed(user, { key: keys.es })), "unknown_key_id");
    for (const name of ["unknown-4", "unknown-5", "unknown-6"]) {
      const bearer = await signed(user, { key: keys.esRotated, kid: kid(name) });
      expectRefused(await call("GET", "/signup", { token: bearer }), "unknown_key_id");
    }
    assert.equal(server.fetches.length, fetched + 1, "the new key came with that refetch; nothing fetched since");
  });

  test("JWKS endpoint down: an uncached kid gets 503 with Retry-After; cached keys keep working", async () => {
    const user = await newUser();
    await server.stop();
    await untilRefetchAllowed(server);

    const response = await call("GET", "/signup", { token: await signed(user, { key: keys.esRotated, kid: kid("after-outage") }) });
    const error = expectError(assert, response, 503, "service_unavailable");
    assert.equal(error.details?.reason, "jwks_unavailable");
    assert.match(response.headers.get("retry-after") ?? "", /^\d+$/);

    expectAccepted(await verifiedCall(await signed(user, { key: keys.esRotated })));
    const hs = await call("GET", "/signup", { token: user.token });
    expectError(assert, hs, 404, "profile_not_found");
  });
});
