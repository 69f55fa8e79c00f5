// End-to-end tests of the one origin (tools/origin) in front of the whole stack, with
// @supabase/supabase-js as the client: one `createClient(ORIGIN_URL, key)` reaches /rest/v1 and
// /functions/v1, the apikey decides the role as on Supabase (publishable = anon, secret =
// service_role), a user's token wins over it, and the functions answer through the origin as
// they do on their own. Runs in both key modes (STACK_KEYS): with signing keys the project keys
// are sb_publishable_/sb_secret_ and /rest/v1 verifies ES256 tokens through the JWKS; in legacy
// mode they are the HS256 anon/service_role JWTs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import { SignJWT, generateKeyPair, importJWK } from "jose";
import ws from "ws";
import { env, newUser } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

const signing = () => env.stackKeys === "signing";
/** The privileged key of the mode: the secret key, or the legacy service_role JWT. */
const privilegedKey = () => (signing() ? env.secretKey : env.serviceRoleKey);

/** A supabase-js client acting for `user` (or with the key alone when user is undefined). */
function client(key, user) {
  // Node 20 has no WebSocket of its own for supabase-js's Realtime client (unused here).
  const options = { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: ws } };
  if (user) options.accessToken = async () => user.token;
  return createClient(env.originUrl, key, options);
}

async function rest(path, headers = {}, init = {}) {
  const response = await fetch(`${env.postgrestUrl}${path}`, { ...init, headers });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body };
}

let restoreRateLimit = () => {};
let alice;
let bob;
before(async () => {
  restoreRateLimit = await liftRateLimit("signup");
  alice = await newUser({ metadata: { full_name: "Alice Origin" } });
  bob = await newUser({ metadata: { full_name: "Bob Origin" } });
  for (const user of [alice, bob]) {
    const { error } = await client(env.anonKey, user).functions.invoke("signup", { body: {} });
    assert.equal(error, null, `signup through the origin failed: ${error?.message}`);
  }
});
after(() => restoreRateLimit());

describe("one createClient for data and functions", () => {
  test("functions.invoke reaches the Worker through /functions/v1 and its answer comes back whole", async () => {
    const { data, error } = await client(env.anonKey, alice).functions.invoke("signup", { method: "GET" });
    assert.equal(error, null);
    assert.equal(data.profile.id, alice.id);
  });

  test("from() as a user reads only that user's rows, whoever else has rows", async () => {
    const { data, error } = await client(env.anonKey, alice).from("user_profiles").select("id, full_name");
    assert.equal(error, null);
    assert.deepEqual(data, [{ id: alice.id, full_name: "Alice Origin" }]);
    const other = await client(env.anonKey, bob).from("user_profiles").select("id").eq("id", alice.id);
    assert.deepEqual(other.data, [], "bob must not see alice's profile");
  });

  test("the publishable (anon) key alone reads what anon may read: no profiles", async () => {
    const { data, error } = await client(env.anonKey).from("user_profiles").select("id").in("id", [alice.id, bob.id]);
    assert.ok(error || data.length === 0, `anon saw ${JSON.stringify(data)}`);
  });

  test("the secret (service_role) key reads every user's rows", async () => {
    const { data, error } = await client(privilegedKey()).from("user_profiles").select("id").in("id", [alice.id, bob.id]);
    assert.equal(error, null);
    assert.deepEqual(data.map((row) => row.id).sort(), [alice.id, bob.id].sort());
  });

  test("a user's token wins over the secret key's role", async () => {
    const { data, error } = await client(privilegedKey(), alice).from("user_profiles").select("id").in("id", [alice.id, bob.id]);
    assert.equal(error, null);
    assert.deepEqual(data, [{ id: alice.id }]);
  });
});

describe("the apikey check", () => {
  test("no apikey: Supabase's 401", async () => {
    const response = await rest("/user_profiles", { authorization: `Bearer ${alice.token}` });
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, { message: "No API key found in request", hint: "No `apikey` request header or url param was found." });
    assert.equal(response.headers.get("sb-error-code"), "UNAUTHORIZED_MISSING_API_KEY");
  });

  test("a key that is not the project's: 401 Invalid API key", async () => {
    const forged = signing() ? `sb_publishable_${randomUUID()}` : env.anonKey.slice(0, -2) + "xx";
    const response = await rest("/user_profiles", { apikey: forged });
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, { message: "Invalid API key" });
  });

  test("the OpenAPI root is refused to the publishable/anon key and let through for the privileged one", async () => {
    const refused = await rest("/", { apikey: env.anonKey });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("sb-error-code"), "UNAUTHORIZED_INVALID_API_KEY_TYPE");
    assert.equal(refused.body.message, signing() ? "Secret API key required" : "Invalid API key");
    const admitted = await rest("/", { apikey: privilegedKey() });
    assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
    assert.equal(admitted.body.swagger, "2.0", "the gateway's OpenAPI description");
  });

  test("CORS preflight is answered before the apikey check, as Supabase's gateway does", async () => {
    const response = await fetch(`${env.postgrestUrl}/user_profiles`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "GET", "access-control-request-headers": "apikey,authorization" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.equal(response.headers.get("access-control-allow-headers"), "apikey,authorization");
  });
});

describe("keys", () => {
  test("the JWKS lists the public part of every key in the signing-keys file (none in legacy mode)", async () => {
    const response = await fetch(`${env.authUrl}/.well-known/jwks.json`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "public, max-age=600");
    const { keys } = await response.json();
    if (!signing()) return assert.deepEqual(keys, []);
    const file = JSON.parse(readFileSync(env.signingKeysFile, "utf8"));
    assert.deepEqual(keys.map((k) => k.kid), file.map((k) => k.kid));
    for (const key of keys) {
      assert.equal(key.d, undefined, "a private part was published");
      assert.deepEqual(key.key_ops, ["verify"]);
    }
  });

  test("/rest/v1 verifies ES256 user tokens signed with key 0 through the JWKS, and refuses other keys", { skip: !signing() && "signing mode only" }, async () => {
    const [{ key_ops: _, ...key0 }] = JSON.parse(readFileSync(env.signingKeysFile, "utf8"));
    const claims = { role: "authenticated", aud: "authenticated", sub: alice.id, email: alice.email };
    const sign = (privateKey, kid) =>
      new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "JWT", kid }).setIssuedAt().setExpirationTime("5m").sign(privateKey);
    const accepted = await rest("/user_profiles?select=id", { apikey: env.publishableKey, authorization: `Bearer ${await sign(await importJWK(key0, "ES256"), key0.kid)}` });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.deepEqual(accepted.body, [{ id: alice.id }]);
    const stranger = await generateKeyPair("ES256");
    const refused = await rest("/user_profiles?select=id", { apikey: env.publishableKey, authorization: `Bearer ${await sign(stranger.privateKey, key0.kid)}` });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, "PGRST301");
  });
});

describe("/functions/v1 is passed through untouched", () => {
  test("status, headers and the Worker's own error body come back as the Worker sent them", async () => {
    const response = await fetch(`${env.functionsUrl}/signup`, { method: "POST" });
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
    const body = await response.json();
    assert.equal(body.error.request_id, response.headers.get("x-request-id"));
  });

  test("a CORS preflight goes to the Worker, which answers CORS itself", async () => {
    const response = await fetch(`${env.functionsUrl}/signup`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
    });
    assert.ok(response.headers.get("x-request-id"), "the preflight did not reach the Worker");
  });
});
