// The flow a new user follows, with @supabase/supabase-js from npm as
// the only client and one createClient(ORIGIN_URL, publishable key): sign up, sign in, refresh,
// read and update the user, sign out, sign in anonymously, call a function with the session,
// read only one's own rows while a second user is refused, and the admin API with the secret key;
// plus the status and error code Supabase gives for a wrong password, a reused refresh token, an
// expired token and a missing apikey. Runs in both key modes: with signing keys the local Auth
// issues ES256 tokens that /rest/v1 verifies through the JWKS; in legacy mode HS256 ones.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import { SignJWT, decodeProtectedHeader, importJWK } from "jose";
import ws from "ws";
import { env } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

const signing = () => env.stackKeys === "signing";

function client(key = env.anonKey) {
  // Node 20 has no WebSocket of its own for supabase-js's Realtime client (unused here).
  return createClient(env.originUrl, key, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: ws } });
}

const address = (name) => `${name}-${randomUUID().slice(0, 8)}@example.test`;
const PASSWORD = "correct horse battery staple";

/**
 * The shared Worker of the e2e stage verifies ES256 tokens through its JWKS_URL, the origin's
 * unless a test file's settings (tests/e2e/vars/*.env) point it at a key server of its own.
 */
function workerVerifiesLocalAuthTokens() {
  if (!signing()) return true;
  const jwks = readdirSync("tests/e2e/vars")
    .filter((f) => f.endsWith(".env"))
    .flatMap((f) => readFileSync(`tests/e2e/vars/${f}`, "utf8").split("\n"))
    .find((line) => line.startsWith("JWKS_URL="));
  return !jwks || jwks === `JWKS_URL=${env.authUrl}/.well-known/jwks.json`;
}

let restoreRateLimit = () => {};
before(async () => {
  restoreRateLimit = await liftRateLimit("signup");
});
after(() => restoreRateLimit());

describe("a new user, from sign-up to their own rows", () => {
  const supabase = client();
  const email = address("flow");

  test("signs up and gets a session at once (email confirmation is off by default)", async () => {
    const { data, error } = await supabase.auth.signUp({ email, password: PASSWORD, options: { data: { full_name: "Flow User" } } });
    assert.equal(error, null);
    assert.equal(data.user.email, email);
    assert.ok(data.session?.access_token);
    const header = decodeProtectedHeader(data.session.access_token);
    if (signing()) {
      const [key0] = JSON.parse(readFileSync(env.signingKeysFile, "utf8"));
      assert.deepEqual([header.alg, header.kid], ["ES256", key0.kid], "signed with key 0 of the stack's signing-keys file");
    } else {
      assert.equal(header.alg, "HS256");
    }
  });

  test("signs in with the password, reads and updates the user", async () => {
    const { data, error } = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
    assert.equal(error, null);
    assert.ok(data.session.refresh_token);
    const { data: read } = await supabase.auth.getUser();
    assert.equal(read.user.user_metadata.full_name, "Flow User");
    const { data: updated, error: updateError } = await supabase.auth.updateUser({ data: { full_name: "Flow Renamed" } });
    assert.equal(updateError, null);
    assert.equal(updated.user.user_metadata.full_name, "Flow Renamed");
  });

  test("calls a function with the session: signup creates the profile", { skip: !workerVerifiesLocalAuthTokens() && "the shared Worker's JWKS_URL points at a test file's key server" }, async () => {
    await supabase.auth.refreshSession(); // the user_metadata change reaches the token
    const { data, error } = await supabase.functions.invoke("signup", { body: {} });
    assert.equal(error, null, error?.message);
    assert.equal(data.profile.email, email);
    assert.equal(data.profile.full_name, "Flow Renamed");
  });

  test("from() returns only the user's own rows, and a second user is refused them", async () => {
    const { data: userData } = await supabase.auth.getUser();
    const me = userData.user.id;
    // The RPC the signup function calls, straight through /rest/v1 (idempotent: a profile the
    // function made is returned as it is).
    assert.equal((await supabase.rpc("create_profile_on_signup", {})).error, null);
    const { data, error } = await supabase.from("user_profiles").select("id");
    assert.equal(error, null);
    assert.deepEqual(data, [{ id: me }]);
    const other = client();
    const { error: otherError } = await other.auth.signUp({ email: address("other"), password: PASSWORD });
    assert.equal(otherError, null);
    const { data: theirs } = await other.from("user_profiles").select("id").eq("id", me);
    assert.deepEqual(theirs, []);
  });

  test("refresh rotates the refresh token; the old one reused later is refused as Supabase refuses it", async () => {
    const { data: signedIn } = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
    const first = signedIn.session;
    const { data, error } = await supabase.auth.refreshSession({ refresh_token: first.refresh_token });
    assert.equal(error, null);
    assert.notEqual(data.session.refresh_token, first.refresh_token);
    const { error: second } = await supabase.auth.refreshSession({ refresh_token: data.session.refresh_token });
    assert.equal(second, null);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past the stack's 1 s reuse interval
    const { error: reused } = await client().auth.refreshSession({ refresh_token: first.refresh_token });
    assert.equal(reused.status, 400);
    assert.equal(reused.code, "refresh_token_already_used");
  });

  test("signs out, after which the session's tokens are dead", async () => {
    const { data } = await supabase.auth.getSession();
    const { access_token: access } = data.session;
    assert.equal((await supabase.auth.signOut()).error, null);
    const response = await fetch(`${env.authUrl}/user`, { headers: { apikey: env.anonKey, authorization: `Bearer ${access}` } });
    assert.equal(response.status, 403);
    assert.equal((await response.json()).error_code, "session_not_found");
    // supabase-js reads that answer as "no session".
    const { error } = await client().auth.getUser(access);
    assert.equal(error.name, "AuthSessionMissingError");
  });
});

describe("anonymous users and the admin API", () => {
  test("an anonymous sign-in gets a session of an anonymous user", async () => {
    const supabase = client();
    const { data, error } = await supabase.auth.signInAnonymously();
    assert.equal(error, null);
    assert.equal(data.user.is_anonymous, true);
    const claims = JSON.parse(Buffer.from(data.session.access_token.split(".")[1], "base64url"));
    assert.equal(claims.is_anonymous, true);
    assert.equal(claims.role, "authenticated");
  });

  test("the secret key creates, reads and deletes users through auth.admin", async () => {
    const admin = client(env.secretKey).auth.admin;
    const email = address("admin");
    const { data, error } = await admin.createUser({ email, password: PASSWORD, email_confirm: true });
    assert.equal(error, null);
    assert.equal((await admin.getUserById(data.user.id)).data.user.email, email);
    assert.equal((await admin.deleteUser(data.user.id)).error, null);
    const { error: gone } = await admin.getUserById(data.user.id);
    assert.equal(gone.status, 404);
    assert.equal(gone.code, "user_not_found");
  });

  test("the publishable key is not an admin", async () => {
    const { error } = await client().auth.admin.listUsers();
    assert.equal(error.status, 403);
    assert.equal(error.code, "not_admin");
  });
});

describe("errors as Supabase gives them", () => {
  test("a wrong password: 400 invalid_credentials", async () => {
    const supabase = client();
    const email = address("wrong");
    await supabase.auth.signUp({ email, password: PASSWORD });
    const { error } = await supabase.auth.signInWithPassword({ email, password: "not the password" });
    assert.equal(error.status, 400);
    assert.equal(error.code, "invalid_credentials");
  });

  test("an expired token: 403 bad_jwt", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: randomUUID(), role: "authenticated", aud: "authenticated", session_id: randomUUID() };
    let expired;
    if (signing()) {
      const [{ key_ops: _, ...key0 }] = JSON.parse(readFileSync(env.signingKeysFile, "utf8"));
      expired = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key0.kid }).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(await importJWK(key0, "ES256"));
    } else {
      expired = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(new TextEncoder().encode(env.jwtSecret));
    }
    const { error } = await client().auth.getUser(expired);
    assert.equal(error.status, 403);
    assert.equal(error.code, "bad_jwt");
  });

  test("no apikey: the gateway's 401 before Auth is reached", async () => {
    const response = await fetch(`${env.authUrl}/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: address("nokey"), password: PASSWORD }) });
    assert.equal(response.status, 401);
    assert.equal((await response.json()).message, "No API key found in request");
  });
});
