// The JavaScript peer of the benchmark (bench/README.md): the Worker a user would write by hand
// for the paths `npm run bench` compares, run by the same wrangler dev (same workerd) next to the
// bundle and measured in the same run. It does the work the bundle does on those paths, in the
// same order, with the same answers, and nothing else: no rate limiter, no request log line
// (except on /bench/logged-404, which exists to measure what one log line costs).
//
//   GET  /functions/v1/signup          verify the HS256 user token (WebCrypto), read the profile
//                                      and the personal workspace from PostgREST in parallel under
//                                      that token (functions/signup/src/service.rs `find`)
//   POST /functions/v1/webhooks/stripe verify Stripe-Signature (HMAC-SHA256 over `t.body`, 300 s
//                                      tolerance), mint a 60 s HS256 `webhook_ingest` role token,
//                                      call rpc/receive_webhook_event (functions/webhooks/src/intake.rs)
//   anything else                      404 in the one error shape
//
// Vars: POSTGREST_URL, SUPABASE_ANON_KEY, SUPABASE_JWT_SECRET, JWT_AUDIENCE, STRIPE_WEBHOOK_SECRET.
const PROFILE_COLUMNS = "id,email,full_name,role,avatar_url,timezone,created_at,updated_at";
const WORKSPACE_COLUMNS = "id,name,owner_id,is_personal,created_at,updated_at";
const encoder = new TextEncoder();
const keys = new Map(); // imported HMAC keys, once per isolate

function hmacKey(secret) {
  if (!keys.has(secret)) {
    const usages = ["sign", "verify"];
    keys.set(secret, crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, usages));
  }
  return keys.get(secret);
}

const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromBase64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

function error(status, code, message, headers = {}) {
  const requestId = crypto.randomUUID();
  const body = JSON.stringify({ error: { code, message, request_id: requestId } });
  return new Response(body, { status, headers: { "content-type": "application/json", "x-request-id": requestId, ...headers } });
}

function json(status, value) {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", "x-request-id": crypto.randomUUID() } });
}

/** The claims of a valid HS256 user token, or null. */
async function verifyUser(request, env) {
  const match = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "");
  const parts = match?.[1].split(".");
  if (parts?.length !== 3) return null;
  try {
    if (JSON.parse(new TextDecoder().decode(fromBase64url(parts[0]))).alg !== "HS256") return null;
    const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
    if (!(await crypto.subtle.verify("HMAC", await hmacKey(env.SUPABASE_JWT_SECRET), fromBase64url(parts[2]), signed))) return null;
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
    const now = Date.now() / 1000;
    const audiences = [claims.aud].flat();
    if (typeof claims.exp !== "number" || claims.exp + 30 < now || (claims.nbf ?? 0) - 30 > now) return null;
    if (!audiences.includes(env.JWT_AUDIENCE ?? "authenticated") || typeof claims.sub !== "string") return null;
    return { token: match[1], claims };
  } catch {
    return null;
  }
}

async function postgrest(env, token, path, init = {}) {
  const headers = { apikey: env.SUPABASE_ANON_KEY, authorization: `Bearer ${token}`, ...init.headers };
  const response = await fetch(`${env.POSTGREST_URL}${path}`, { ...init, headers });
  if (!response.ok) throw new Error(`PostgREST answered ${response.status}`);
  return response.json();
}

async function showSignup(request, env) {
  const caller = await verifyUser(request, env);
  if (!caller) return error(401, "unauthorized", "missing or invalid access token", { "www-authenticate": "Bearer" });
  const id = encodeURIComponent(caller.claims.sub);
  const [profiles, workspaces] = await Promise.all([
    postgrest(env, caller.token, `/user_profiles?select=${PROFILE_COLUMNS}&id=eq.${id}`),
    postgrest(env, caller.token, `/workspaces?select=${WORKSPACE_COLUMNS}&owner_id=eq.${id}&is_personal=eq.true&limit=1`),
  ]);
  if (profiles.length === 0) return error(404, "profile_not_found", "you have no profile yet; POST /functions/v1/signup creates it");
  return json(200, { profile: profiles[0], workspace: workspaces[0] ?? null });
}

async function stripeWebhook(request, env) {
  const body = await request.text();
  const fields = (request.headers.get("stripe-signature") ?? "").split(",").map((field) => field.split("="));
  const timestamp = Number(fields.find(([name]) => name === "t")?.[1]);
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > 300) return error(400, "invalid_signature", "timestamp missing or outside the tolerance");
  const expected = hex(await crypto.subtle.sign("HMAC", await hmacKey(env.STRIPE_WEBHOOK_SECRET), encoder.encode(`${timestamp}.${body}`)));
  // Constant-time enough for a peer: every candidate is compared whole.
  const matches = fields.filter(([name, value]) => name === "v1" && value.length === expected.length && [...value].reduce((d, c, i) => d | (c.charCodeAt(0) ^ expected.charCodeAt(i)), 0) === 0);
  if (matches.length === 0) return error(400, "invalid_signature", "no v1 signature matches");
  const event = JSON.parse(body);
  if (typeof event.id !== "string" || typeof event.type !== "string") return error(400, "invalid_event", "not a Stripe event");
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const claims = base64url(encoder.encode(JSON.stringify({ role: "webhook_ingest", sub: "stripe-webhook-intake", iss: "rls-edge", iat: now - 5, exp: now + 60 })));
  const signature = base64url(await crypto.subtle.sign("HMAC", await hmacKey(env.SUPABASE_JWT_SECRET), encoder.encode(`${header}.${claims}`)));
  const outcome = await postgrest(env, `${header}.${claims}.${signature}`, "/rpc/receive_webhook_event", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ event_id: event.id, event_type: event.type, payload: event, provider: "stripe" }),
  });
  return json(200, { received: true, status: outcome.status, event: outcome.event });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    try {
      if (request.method === "GET" && pathname === "/functions/v1/signup") return await showSignup(request, env);
      if (request.method === "POST" && pathname === "/functions/v1/webhooks/stripe") return await stripeWebhook(request, env);
      if (pathname === "/bench/logged-404") {
        // The bundle's request line (shared/src/logging.rs), same fields, same size.
        const requestId = crypto.randomUUID();
        console.log(JSON.stringify({ level: "warn", msg: "request", method: request.method, path: pathname, status: 404, duration_ms: 0, request_id: requestId, user_id: null, error_code: "not_found", error_cause: null }));
      }
      return error(404, "not_found", `no route for ${pathname}`);
    } catch (failure) {
      return error(503, "unavailable", String(failure.message ?? failure), { "retry-after": "1" });
    }
  },
};
