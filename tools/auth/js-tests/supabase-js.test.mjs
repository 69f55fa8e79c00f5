// supabase-js (from npm) as the client of the local Auth, through its own HTTP server: sign up,
// sign in, refresh, get and update the user, sign out, anonymous sign-in, the admin API, and the
// statuses and error codes Supabase gives for a wrong password, a reused refresh token, an
// expired token and a weak or taken password. run-js-tests.sh starts the server and sets
// AUTH_BASE_URL (the origin the client is created with) and SIGNING_KEYS_FILE, and gives Node 20
// the WebSocket global supabase-js's realtime client needs (--experimental-websocket).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import { SignJWT, importJWK, decodeJwt, decodeProtectedHeader, createLocalJWKSet, jwtVerify } from "jose";

const baseUrl = process.env.AUTH_BASE_URL;
const keys = JSON.parse(readFileSync(process.env.SIGNING_KEYS_FILE, "utf8"));
const issuer = `${baseUrl}/auth/v1`;
const password = "correct-horse-battery";

function client(key = "sb_publishable_local_test") {
  return createClient(baseUrl, key, { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } });
}

/** A token signed with key 0 of the signing-keys file, as the origin mints its service-role token. */
async function signWithKey0(claims) {
  // WebCrypto imports a private key for signing only, so the file's key_ops are left out.
  const { key_ops: _usages, ...jwk } = keys[0];
  const key = await importJWK(jwk, "ES256");
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: keys[0].kid, typ: "JWT" }).sign(key);
}

function newEmail(tag) {
  return `${tag}-${randomUUID().slice(0, 8)}@example.test`;
}

test("signUp returns a session whose ES256 token verifies against the JWKS, with Supabase's claims", async () => {
  const supabase = client();
  const email = newEmail("signup");
  const { data, error } = await supabase.auth.signUp({ email, password, options: { data: { full_name: "Ada" } } });
  assert.equal(error, null);
  assert.equal(data.user.email, email);
  assert.equal(data.user.user_metadata.full_name, "Ada");
  assert.ok(data.user.email_confirmed_at, "confirmed at sign-up, as GoTrue's autoconfirm does");
  const token = data.session.access_token;
  assert.deepEqual(decodeProtectedHeader(token), { alg: "ES256", kid: keys[0].kid, typ: "JWT" });
  const jwks = await (await fetch(`${issuer}/.well-known/jwks.json`)).json();
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience: "authenticated" });
  assert.equal(payload.sub, data.user.id);
  assert.equal(payload.role, "authenticated");
  assert.equal(payload.email, email);
  assert.equal(payload.phone, "");
  assert.equal(payload.aal, "aal1");
  assert.equal(payload.is_anonymous, false);
  assert.equal(payload.amr[0].method, "password");
  assert.deepEqual(payload.app_metadata, { provider: "email", providers: ["email"] });
  assert.equal(typeof payload.session_id, "string");
  assert.equal(data.session.expires_in, 3600);
  assert.equal(data.session.expires_at, payload.exp);
});

test("signInWithPassword, getUser, updateUser, refreshSession and signOut", async () => {
  const supabase = client();
  const email = newEmail("flow");
  await supabase.auth.signUp({ email, password });
  await supabase.auth.signOut({ scope: "local" });
  const signedIn = await supabase.auth.signInWithPassword({ email, password });
  assert.equal(signedIn.error, null);
  const { data: me } = await supabase.auth.getUser();
  assert.equal(me.user.email, email);
  const updated = await supabase.auth.updateUser({ data: { plan: "pro" } });
  assert.equal(updated.error, null);
  assert.equal(updated.data.user.user_metadata.plan, "pro");
  const before = (await supabase.auth.getSession()).data.session;
  const refreshed = await supabase.auth.refreshSession();
  assert.equal(refreshed.error, null);
  assert.notEqual(refreshed.data.session.refresh_token, before.refresh_token);
  assert.equal(decodeJwt(refreshed.data.session.access_token).user_metadata.plan, "pro");
  const accessToken = refreshed.data.session.access_token;
  const out = await supabase.auth.signOut();
  assert.equal(out.error, null);
  // The server answers 403 session_not_found, which supabase-js reports as a missing session.
  const after = await client().auth.getUser(accessToken);
  assert.equal(after.error.name, "AuthSessionMissingError");
  const raw = await fetch(`${issuer}/user`, { headers: { authorization: `Bearer ${accessToken}`, "x-supabase-api-version": "2024-01-01" } });
  assert.equal(raw.status, 403);
  assert.equal((await raw.json()).code, "session_not_found");
});

test("a wrong password is 400 invalid_credentials", async () => {
  const supabase = client();
  const email = newEmail("wrong");
  await supabase.auth.signUp({ email, password });
  const { data, error } = await client().auth.signInWithPassword({ email, password: "not-the-password" });
  assert.equal(data.session, null);
  assert.equal(error.name, "AuthApiError");
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_credentials");
  assert.equal(error.message, "Invalid login credentials");
});

test("a refresh token reused after rotation is 400 refresh_token_already_used", async () => {
  const supabase = client();
  const { data } = await supabase.auth.signUp({ email: newEmail("reuse"), password });
  const first = data.session.refresh_token;
  const second = await client().auth.refreshSession({ refresh_token: first });
  assert.equal(second.error, null);
  const third = await client().auth.refreshSession({ refresh_token: second.data.session.refresh_token });
  assert.equal(third.error, null);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // past the reuse interval (1 s here)
  const replay = await client().auth.refreshSession({ refresh_token: first });
  assert.equal(replay.data.session, null);
  assert.equal(replay.error.status, 400);
  assert.equal(replay.error.code, "refresh_token_already_used");
});

test("an expired access token is 403 bad_jwt", async () => {
  const supabase = client();
  const { data } = await supabase.auth.signUp({ email: newEmail("expired"), password });
  const claims = decodeJwt(data.session.access_token);
  const now = Math.floor(Date.now() / 1000);
  const expired = await signWithKey0({ ...claims, iat: now - 7200, exp: now - 3600 });
  const { error } = await client().auth.getUser(expired);
  assert.equal(error.status, 403);
  assert.equal(error.code, "bad_jwt");
  assert.match(error.message, /token is expired/);
});

test("weak and taken passwords get weak_password and user_already_exists", async () => {
  const weak = await client().auth.signUp({ email: newEmail("weak"), password: "12345" });
  assert.equal(weak.error.status, 422);
  assert.equal(weak.error.code, "weak_password");
  assert.deepEqual(weak.error.reasons, ["length"]);
  const email = newEmail("taken");
  await client().auth.signUp({ email, password });
  const again = await client().auth.signUp({ email, password });
  assert.equal(again.error.status, 422);
  assert.equal(again.error.code, "user_already_exists");
});

test("signInAnonymously gives an authenticated, anonymous session", async () => {
  const { data, error } = await client().auth.signInAnonymously({ options: { data: { cart: 1 } } });
  assert.equal(error, null);
  assert.equal(data.user.is_anonymous, true);
  const claims = decodeJwt(data.session.access_token);
  assert.equal(claims.role, "authenticated");
  assert.equal(claims.is_anonymous, true);
  assert.equal(claims.amr[0].method, "anonymous");
});

test("the admin API with a service-role token: create, list, delete; a user token is refused", async () => {
  const now = Math.floor(Date.now() / 1000);
  const serviceRole = await signWithKey0({ role: "service_role", iss: "rls-edge", iat: now, exp: now + 60 });
  const admin = client(serviceRole).auth.admin;
  const email = newEmail("admin");
  const created = await admin.createUser({ email, password, email_confirm: true, user_metadata: { full_name: "Made" } });
  assert.equal(created.error, null);
  assert.equal(created.data.user.email, email);
  const signedIn = await client().auth.signInWithPassword({ email, password });
  assert.equal(signedIn.error, null);
  const listed = await admin.listUsers({ page: 1, perPage: 1 });
  assert.equal(listed.error, null);
  assert.equal(listed.data.users.length, 1);
  assert.ok(listed.data.total >= 2, `total ${listed.data.total}`);
  assert.equal(listed.data.nextPage, 2);
  const deleted = await admin.deleteUser(created.data.user.id);
  assert.equal(deleted.error, null);
  const gone = await admin.getUserById(created.data.user.id);
  assert.equal(gone.error.status, 404);
  assert.equal(gone.error.code, "user_not_found");
  const asUser = client(signedIn.data.session.access_token).auth.admin;
  const refused = await asUser.listUsers();
  assert.equal(refused.error.status, 403);
  assert.equal(refused.error.code, "not_admin");
});
