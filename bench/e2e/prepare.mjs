// Prepares the end-to-end benchmark against a running stack whose Worker reaches the gateway
// through record-proxy.mjs: creates a user with an API key and a lead, lifts the rate limits
// (this is the benchmark's own database), then calls every benchmarked endpoint twice and keeps
// the PostgREST calls the second call made (the steady state: caches warm, signup a repeat).
// Writes one wrk plan per side and case (Lua, read by replay.lua) and cases.json to <out-dir>.
// Cases the JavaScript peer (bench/peer/worker.mjs, at PEER_URL) also serves get a plan for it
// too, once the peer has answered the sample as the bundle did.
//
// Environment: WORKER_URL, GATEWAY_URL (http://host:port, the gateway's origin), PROXY_LOG,
// DATABASE_URL, JWT_SECRET, ANON_KEY, STRIPE_WEBHOOK_SECRET, RATE_LIMIT_CHECK_SECRET, PEER_URL.
//   node prepare.mjs <out-dir>
import { execFileSync } from "node:child_process";
import { createHash, randomInt, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { crc32 } from "node:zlib";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SignJWT, decodeJwt } from "jose";
import Stripe from "stripe";

const env = Object.fromEntries(
  ["WORKER_URL", "GATEWAY_URL", "PROXY_LOG", "DATABASE_URL", "JWT_SECRET", "ANON_KEY", "STRIPE_WEBHOOK_SECRET", "RATE_LIMIT_CHECK_SECRET", "PEER_URL"].map(
    (name) => {
      if (!process.env[name]) throw new Error(`${name} is not set; run through npm run bench`);
      return [name, process.env[name]];
    },
  ),
);
const outDir = process.argv[2];
if (!outDir) throw new Error("usage: node prepare.mjs <out-dir>");
mkdirSync(outDir, { recursive: true });

/** Distinct webhook deliveries generated per case: more than a short run can send. */
const DISTINCT_DELIVERIES = Number(process.env.BENCH_DISTINCT_DELIVERIES ?? 30000);
const DAY = 86_400;

const sql = (query) =>
  execFileSync("psql", [env.DATABASE_URL, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", query], { encoding: "utf8" }).trim();
const secret = new TextEncoder().encode(env.JWT_SECRET);
const stripe = new Stripe("sk_test_bench_never_used_for_requests");

async function userToken(id, email) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: "authenticated", aud: "authenticated", email, user_metadata: { full_name: "Bench User" } })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(id)
    .setIssuedAt(now)
    .setExpirationTime(now + DAY)
    .sign(secret);
}

/** A role token the Worker minted (60 s) would expire mid-benchmark: the same claims, a day long. */
async function remint(token) {
  const { iat, exp, ...claims } = decodeJwt(token);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(now).setExpirationTime(now + DAY).sign(secret);
}

function logSize() {
  try {
    return statSync(env.PROXY_LOG).size;
  } catch {
    return 0;
  }
}

/** Calls the Worker; with `record`, also returns the PostgREST calls it made meanwhile. */
async function call(request, { record = false, base = env.WORKER_URL } = {}) {
  const before = logSize();
  const send = () => fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
  // A kept-alive connection the dev server closed meanwhile fails before the request is read:
  // sent again once, on a new connection.
  const response = await send().catch((error) => (error.cause?.code === "UND_ERR_SOCKET" ? send() : Promise.reject(error)));
  const text = await response.text();
  // Anything the Worker still sends after answering (e.g. a log write) lands in this window too.
  await sleep(300);
  let calls = [];
  if (record) {
    const log = readFileSync(env.PROXY_LOG).subarray(before).toString("utf8");
    calls = log.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  }
  return { status: response.status, text, calls };
}

const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "accept-encoding", "user-agent"]);

async function directRequest(recorded) {
  const headers = {};
  for (const [name, value] of Object.entries(recorded.headers)) {
    if (HOP_BY_HOP.has(name)) continue;
    headers[name] = value;
  }
  const bearer = /^Bearer (.+)$/i.exec(headers.authorization ?? "");
  if (bearer && decodeJwt(bearer[1]).iss === "rls-edge") headers.authorization = `Bearer ${await remint(bearer[1])}`;
  return { method: recorded.method, path: recorded.path, headers, body: recorded.body || undefined };
}

// ---- Lua plans --------------------------------------------------------------------------------

function luaString(value) {
  const escaped = value
    .replace(/[\\"]/g, "\\$&")
    .replace(/[^\x20-\x7e]/gu, (character) => [...Buffer.from(character, "utf8")].map((byte) => `\\${String(byte).padStart(3, "0")}`).join(""));
  return `"${escaped}"`;
}

function writePlan(name, requests) {
  const lines = requests.map((request) => {
    const headers = Object.entries(request.headers ?? {})
      .map(([key, value]) => `[${luaString(key)}]=${luaString(String(value))}`)
      .join(",");
    const body = request.body === undefined ? "nil" : luaString(request.body);
    const group = request.group === undefined ? "nil" : String(request.group);
    return `{method=${luaString(request.method)},path=${luaString(request.path)},headers={${headers}},body=${body},group=${group}}`;
  });
  const file = path.join(outDir, `${name}.lua`);
  writeFileSync(file, `return {requests={\n${lines.join(",\n")}\n}}\n`);
  return path.resolve(file);
}

// ---- the data the calls need ---------------------------------------------------------------

sql(`update public.system_rate_limits set max_requests = 1000000000, window_seconds = 60`);
sql(`insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
     values ('personal-keys', 'default', 1, 3600), ('bench-check', 'default', 1000000000, 60)
     on conflict (endpoint, plan) do update set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds`);

const userId = randomUUID();
const email = `bench-${userId.slice(0, 8)}@example.test`;
// Confirmed, as Supabase Auth records it: sign-up takes only a confirmed address (sql 0018).
sql(`insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data) values ('${userId}', '${email}', now(), '{"full_name":"Bench User"}'::jsonb)`);
const token = await userToken(userId, email);
const asUser = { authorization: `Bearer ${token}` };
const json = { ...asUser, "content-type": "application/json" };

const created = await call({ method: "POST", path: "/functions/v1/signup", headers: json, body: "{}" });
if (created.status !== 201) throw new Error(`signup answered ${created.status}: ${created.text}`);
const workspaceId = JSON.parse(created.text).workspace.id;
const stored = await call({
  method: "PUT",
  path: "/functions/v1/api-keys/openai",
  headers: json,
  body: JSON.stringify({ key: "sk-proj-BenchKeyNeverValid0000000000000000000000" }),
});
if (stored.status !== 201) throw new Error(`storing an API key answered ${stored.status}: ${stored.text}`);
const leadId = randomUUID();
sql(`insert into public.crm_leads (id, workspace_id, user_id, name, phone, email, source, status, tags, opt_status, last_contacted_at, created_at)
     values ('${leadId}', '${workspaceId}', '${userId}', 'Bench Seller', '(555) 201-0000', 'seller@example.com', 'referral', 'active',
             array['probate','vacant','high equity']::text[], 'opted_in', now() - interval '3 days', now() - interval '20 days')`);

// Personal keys (functions/personal-keys/src/secret.rs: rlse_pk_ + 37 base62 + a base62 CRC-32),
// stored as the create RPC would store them: one for the cached case, and one per request for the
// case that resolves a key every time (an isolate caches each key it resolved).
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function personalKey() {
  let body = "rlse_pk_";
  for (let i = 0; i < 37; i++) body += BASE62[randomInt(62)];
  let value = crc32(body);
  let checksum = "";
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[value % 62] + checksum;
    value = Math.floor(value / 62);
  }
  return body + checksum;
}
const personalKeys = Array.from({ length: DISTINCT_DELIVERIES + 3 }, personalKey);
const keyRows = personalKeys.map(
  (key, index) => `${userId}\tbench key ${index}\t${key.slice(0, 16)}\t${createHash("sha256").update(key).digest("hex")}\tread\t{crm_leads}`,
);
const copyFile = path.join(outDir, "personal-keys.tsv");
writeFileSync(copyFile, `${keyRows.join("\n")}\n`);
execFileSync("psql", [env.DATABASE_URL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
  `\\copy public.security_personal_api_keys (user_id, name, key_prefix, key_hash, access, tables) from '${copyFile}'`]);
sql(`insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
     values ('personal-key', 'default', 1000000000, 60), ('rest', 'default', 1000000000, 60)
     on conflict (endpoint, plan) do update set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds`);
const cachedKey = personalKeys.pop();
const keyRead = (key) => ({ method: "GET", path: "/rest/v1/crm_leads?select=id", headers: { authorization: `Bearer ${key}` } });
const uncachedKeys = { warm: personalKeys.pop(), sample: personalKeys.pop() };

// ---- the cases ------------------------------------------------------------------------------

function stripeDelivery(index) {
  const payload = JSON.stringify({
    id: `evt_bench_${index}_${randomUUID().slice(0, 8)}`,
    object: "event",
    api_version: "2024-06-20",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    type: "customer.created",
    data: { object: { id: `cus_bench_${index}`, object: "customer", email: `buyer${index}@example.test`, metadata: {} } },
  });
  const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: env.STRIPE_WEBHOOK_SECRET });
  return {
    method: "POST",
    path: "/functions/v1/webhooks/stripe",
    headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature },
    body: payload,
  };
}

const cases = [
  // The floor: the router answers outside /functions/v1 at once (no guard, no I/O), so this is
  // what wrangler dev itself costs per request.
  // The peer's floor is its own 404; `peer_logged` is the same 404 writing the bundle's log line,
  // so the difference is what one log line costs in workerd.
  {
    id: "router_floor",
    label: "router only (404, no I/O)",
    expect: 404,
    peer: true,
    peer_logged: { method: "GET", path: "/bench/logged-404", headers: {} },
    request: { method: "GET", path: "/bench-floor", headers: {} },
  },
  // An unknown function, with a user's token: a client probing or mistyped.
  { id: "unknown_function", label: "unknown function (404), token sent", expect: 404, peer: true, request: { method: "GET", path: "/functions/v1/no-such-function", headers: asUser } },
  // The same function path without a token: the guard charges the client IP, then the handler
  // answers 401 before any PostgREST call, so next to unknown_function this is the guard's cost.
  { id: "signup_no_token", label: "GET signup, no token (401 after the guard)", expect: 401, request: { method: "GET", path: "/functions/v1/signup", headers: {} } },
  // GET signup's guard alone: the same token and function, a path below it with no route, so the
  // handler answers 404 after the guard and before any read.
  { id: "signup_guard_only", label: "GET signup/x, token sent (404 after the guard)", expect: 404, request: { method: "GET", path: "/functions/v1/signup/x", headers: asUser } },
  { id: "signup_get", label: "GET signup", expect: 200, peer: true, request: { method: "GET", path: "/functions/v1/signup", headers: asUser } },
  { id: "health", label: "health", expect: 200, request: { method: "GET", path: "/functions/v1/health", headers: {} } },
  { id: "signup_repeat", label: "signup (repeat call)", expect: 200, request: { method: "POST", path: "/functions/v1/signup", headers: json, body: "{}" } },
  { id: "api_keys_list", label: "api-keys list", expect: 200, request: { method: "GET", path: "/functions/v1/api-keys", headers: asUser } },
  { id: "score_lead", label: "score one lead", expect: 200, request: { method: "POST", path: `/functions/v1/lead-scoring/leads/${leadId}`, headers: json, body: "{}" } },
  { id: "stripe_webhook", label: "Stripe webhook (new event)", expect: 200, peer: true, distinct: stripeDelivery },
  {
    id: "rate_limit_check",
    label: "rate-limit check (allowed)",
    expect: 200,
    request: {
      method: "POST",
      path: "/functions/v1/rate-limit/check",
      headers: { "x-api-key": env.RATE_LIMIT_CHECK_SECRET, "content-type": "application/json" },
      body: JSON.stringify({ key: "bench-client", endpoint: "bench-check" }),
    },
  },
  // A registered function whose budget (1 per hour, set above) the warm-up call spent.
  { id: "rate_limited_429", label: "limited endpoint (refused, 429)", expect: 429, request: { method: "GET", path: "/functions/v1/personal-keys", headers: asUser } },
  // /rest/v1 at the edge: the same read with a session (the peer), with a personal key the isolate
  // has resolved already, and with a key it has never seen (resolved through Postgres and a
  // token minted, every request).
  { id: "rest_session", label: "/rest/v1 read, session", expect: 200, request: { method: "GET", path: "/rest/v1/crm_leads?select=id", headers: asUser } },
  { id: "rest_key_cached", label: "/rest/v1 read, personal key (cached)", expect: 200, request: keyRead(cachedKey) },
  {
    id: "rest_key_resolved",
    label: "/rest/v1 read, personal key (resolved)",
    expect: 200,
    distinct: (index) => keyRead(uncachedKeys[index] ?? personalKeys[index]),
  },
];

const manifest = [];
for (const benchCase of cases) {
  const first = benchCase.distinct ? benchCase.distinct("warm") : benchCase.request;
  await call(first);
  const sample = benchCase.distinct ? benchCase.distinct("sample") : benchCase.request;
  const second = await call(sample, { record: true });
  if (second.status !== benchCase.expect) {
    throw new Error(`${benchCase.id}: expected ${benchCase.expect}, got ${second.status}: ${second.text.slice(0, 300)}`);
  }
  const edgeRequests = benchCase.distinct
    ? Array.from({ length: DISTINCT_DELIVERIES }, (_, index) => ({ ...benchCase.distinct(index), group: index }))
    : [benchCase.request];
  const entry = {
    id: benchCase.id,
    label: benchCase.label,
    expect: benchCase.expect,
    edge_plan: writePlan(`${benchCase.id}.edge`, edgeRequests),
    sample_answer: second.text.slice(0, 200),
    postgrest_calls: second.calls.map((recorded) => `${recorded.method} ${recorded.path.split("?")[0]}`),
    postgrest_statuses: second.calls.map((recorded) => recorded.status),
    direct_plan: null,
  };
  if (second.calls.length > 0) {
    let direct = await Promise.all(second.calls.map(directRequest));
    if (benchCase.distinct && sample.body !== undefined) {
      // The recorded delivery's event id, made unique per replay as the edge side's are.
      const eventId = JSON.parse(sample.body).id;
      // One Lua chunk holds at most 65536 constants, so the plan's requests (every call of every
      // delivery) stay at DISTINCT_DELIVERIES.
      direct = Array.from({ length: Math.floor(DISTINCT_DELIVERIES / direct.length) }, (_, index) =>
        direct.map((request) => ({ ...request, group: index, body: request.body?.replaceAll(eventId, `${eventId}_direct_${index}`) })),
      ).flat();
    }
    entry.direct_plan = writePlan(`${benchCase.id}.direct`, direct);
  }
  if (benchCase.peer) {
    // The peer must answer what the bundle answered: the same status, and the same JSON but for
    // request ids (a distinct delivery is a new event for it too, so only its status is compared).
    const peerSample = benchCase.distinct ? benchCase.distinct("peer-sample") : sample;
    const answer = await call(peerSample, { base: env.PEER_URL });
    const comparable = (text) => JSON.stringify(JSON.parse(text), (key, value) => (key === "request_id" || key === "message" ? undefined : value));
    const same = answer.status === second.status && (benchCase.distinct || comparable(answer.text) === comparable(second.text));
    if (!same) throw new Error(`${benchCase.id}: the peer answered ${answer.status} ${answer.text.slice(0, 300)}, the bundle ${second.status} ${second.text.slice(0, 300)}`);
    entry.peer_plan = benchCase.distinct ? entry.edge_plan : writePlan(`${benchCase.id}.peer`, [peerSample]);
    if (benchCase.peer_logged) entry.peer_logged_plan = writePlan(`${benchCase.id}.peer-logged`, [benchCase.peer_logged]);
  }
  manifest.push(entry);
  console.error(`prepared ${benchCase.id}: ${second.status}, PostgREST calls: ${entry.postgrest_calls.join(", ") || "none"}`);
}
writeFileSync(path.join(outDir, "cases.json"), JSON.stringify(manifest, null, 2));
