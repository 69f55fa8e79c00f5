// Helpers shared by the end-to-end tests. They talk to the running stack over real HTTP and,
// for setting up users and checking what landed in the database, to Postgres through psql.
// tools/scripts/test.sh starts the stack and sets the environment read here.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT, importJWK } from "jose";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the end-to-end tests through \`npm test\``);
  return value;
}

/**
 * The stack under test (tools/scripts/test.sh; names in /work/helpers/CONTRACT-keys.md). Clients
 * reach everything through the one origin, as through a Supabase project URL: functionsUrl,
 * postgrestUrl and authUrl are below originUrl. workerUrl is wrangler dev itself, for the routes
 * that only exist there (the scheduled-event trigger).
 */
export const env = {
  get originUrl() { return required("ORIGIN_URL"); },
  get workerUrl() { return required("WORKER_URL"); },
  get functionsUrl() { return required("FUNCTIONS_URL"); },
  get postgrestUrl() { return required("POSTGREST_URL"); },
  get authUrl() { return required("AUTH_URL"); },
  get databaseUrl() { return required("DATABASE_URL"); },
  /** "signing" (Supabase's signing keys, the default) or "legacy" (the HS256 secret). */
  get stackKeys() { return required("STACK_KEYS"); },
  get publishableKey() { return required("PUBLISHABLE_KEY"); },
  get secretKey() { return required("SECRET_KEY"); },
  get signingKeysFile() { return required("SIGNING_KEYS_FILE"); },
  /** The legacy HS256 secret, in legacy mode only: with signing keys nothing knows one. */
  get jwtSecret() { return required("JWT_SECRET"); },
  /** The apikey a client sends: the publishable key, or the legacy anon JWT in legacy mode. */
  get anonKey() { return required("ANON_KEY"); },
  /** The legacy service_role JWT key (accepted by the origin in legacy mode only). */
  get serviceRoleKey() { return required("SERVICE_ROLE_KEY"); },
};

/** Runs SQL as the superuser and returns the rows as parsed JSON (wrap selects in json_agg). */
export function sql(query) {
  const output = execFileSync("psql", [env.databaseUrl, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", query], {
    encoding: "utf8",
  }).trim();
  return output;
}

/** The rows of a select, as objects. */
export function rows(query) {
  const output = sql(`select coalesce(json_agg(t), '[]') from (${query}) t`);
  return JSON.parse(output);
}

const stackKeys = new Map();

/** Key `index` of the stack's signing-keys file (0: the local Auth's, 1: the Worker's role-token
 * key), as { kid, alg, key } ready for jose. */
export async function stackSigningKey(index) {
  if (!stackKeys.has(index)) {
    const { key_ops: _, ...jwk } = JSON.parse(readFileSync(env.signingKeysFile, "utf8"))[index];
    stackKeys.set(index, { kid: jwk.kid, alg: jwk.alg, key: await importJWK(jwk, jwk.alg) });
  }
  return stackKeys.get(index);
}

/**
 * Signs a Supabase-shaped access token as the stack's Auth would: ES256 with key 0 of the
 * signing-keys file and its `kid` (STACK_KEYS=signing), HS256 with the legacy secret otherwise.
 * `claims` override the defaults; `secret` signs HS256 with that secret instead (a forged token).
 */
export async function token(claims = {}, { secret, expiresIn = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const { sub = randomUUID(), ...rest } = claims;
  const jwt = new SignJWT({ role: "authenticated", aud: "authenticated", ...rest })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn);
  if (secret === undefined && env.stackKeys === "signing") {
    const { kid, alg, key } = await stackSigningKey(0);
    return jwt.setProtectedHeader({ alg, typ: "JWT", kid }).sign(key);
  }
  return jwt.setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret ?? env.jwtSecret));
}

/**
 * Creates a user through the local Auth, as Supabase Auth does with email confirmation off, and
 * returns { id, email, password, token }. A regular user is created through the admin API (as an
 * app's backend would, with the secret key), its address confirmed unless `confirmed: false` (as
 * with confirmation on before the link is followed); `claims.is_anonymous` makes an anonymous
 * sign-in instead, which Auth never confirms. The token is signed here by token(), with the
 * user's id and email plus `claims` (tests need claims Auth would not issue, such as a plan in
 * app_metadata or a phone-only user), with the key Auth signs with; signIn() returns Auth's own
 * session.
 */
export async function newUser({ email, metadata = {}, claims = {}, confirmed = true } = {}) {
  const address = email ?? `user-${randomUUID().slice(0, 8)}@example.test`;
  const password = `pw-${randomUUID()}`;
  const anonymous = claims.is_anonymous === true;
  const created = anonymous
    ? await authPost("/signup", env.anonKey, { data: metadata })
    : await authPost("/admin/users", env.secretKey, { email: address, password, email_confirm: confirmed, user_metadata: metadata });
  const id = anonymous ? created.user.id : created.id;
  const access = await token({ sub: id, email: address, user_metadata: metadata, ...claims });
  return { id, email: address, password, token: access };
}

/**
 * A user written straight into auth.users, as another issuer or an imported user base can leave
 * one. Supabase Auth itself never gives one address to two accounts, so a test that needs a second
 * account claiming an address creates that one here. Returns { id, email, token }.
 */
export async function userOutsideAuth({ email, confirmed = true, metadata = {} }) {
  const id = randomUUID();
  sql(
    `insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
     values ('${id}', '${email.replaceAll("'", "''")}', ${confirmed ? "now()" : "null"},
             '${JSON.stringify(metadata).replaceAll("'", "''")}'::jsonb)`,
  );
  return { id, email, token: await token({ sub: id, email, user_metadata: metadata }) };
}

async function authPost(path, apikey, body) {
  const response = await fetch(`${env.authUrl}${path}`, {
    method: "POST",
    headers: { apikey, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`POST ${env.authUrl}${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Signs `user` in with its password through the local Auth; returns Auth's session. */
export async function signIn(user) {
  const response = await fetch(`${env.authUrl}/token?grant_type=password`, {
    method: "POST",
    headers: { apikey: env.anonKey, "content-type": "application/json" },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  const session = await response.json();
  if (!response.ok) throw new Error(`signing ${user.email} in: ${response.status} ${JSON.stringify(session)}`);
  return session;
}

/**
 * Calls a function: `call("POST", "/signup", { token, json })`. Returns
 * { status, headers, body } with body parsed as JSON when it is JSON. `base` replaces
 * FUNCTIONS_URL (a test's own Worker, see own-worker.mjs).
 */
export async function call(method, path, { token: bearer, json, body, headers = {}, base = env.functionsUrl } = {}) {
  const init = { method, headers: { ...headers } };
  if (bearer) init.headers.authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    init.headers["content-type"] ??= "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await throughDevServer(() => fetch(`${base}${path}`, init));
  const text = await response.text();
  let parsed = text;
  if ((response.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * `request()`, sent once more when `wrangler dev` itself (not the Worker) dropped it: its proxy in
 * front of the Worker answers 503 "Your worker restarted mid-request" for a POST when its own
 * kept-alive connection to the Worker is closed under it, though the Worker never restarted, and
 * the client's idle connection to wrangler may be closed just as it is reused ("fetch failed",
 * UND_ERR_SOCKET). Neither reaches the Worker, so neither happens on Cloudflare; the Worker itself
 * never answers that 503.
 */
export async function throughDevServer(request) {
  let response;
  try {
    response = await request();
  } catch (error) {
    if (error?.cause?.code !== "UND_ERR_SOCKET") throw error;
    return request();
  }
  if (response.status !== 503 || response.headers.get("content-type")?.includes("json")) return response;
  const text = await response.text();
  if (!text.startsWith("Your worker restarted mid-request")) return new Response(text, response);
  return request();
}

/** Asserts the project's one error shape and returns the error object. */
export function expectError(assert, response, status, code) {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  assert.equal(typeof response.body, "object", "error body must be JSON");
  const error = response.body.error;
  assert.ok(error, `missing "error" in ${JSON.stringify(response.body)}`);
  if (code) assert.equal(error.code, code);
  assert.equal(typeof error.message, "string");
  assert.equal(typeof error.request_id, "string");
  return error;
}
