// Writes the seed corpus, fuzz/corpus/<target>/<name>, from what the repository's own tests
// use: the Stripe and Svix deliveries signed by the official libraries
// (functions/webhooks/tests/vectors), the tokens the `jose` package signed and the JWKS fixtures
// (shared/tests/fixtures/auth), the built-in scoring rules, the condition corpus shared with the
// database's validator and the e2e suites' rule sets,
// preview and sign-up bodies, and the query strings of the gateway's integration suite. Each
// seed is named for what it is. Inputs added later by hand (findings of the fuzzer, kept as
// regressions) are not touched.
//   node fuzz/seeds.mjs
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const read = (file) => readFileSync(path.join(root, file), "utf8");
const json = (file) => JSON.parse(read(file));

const seeds = {};
function seed(target, name, content) {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  (seeds[target] ??= new Map()).set(slug, content);
}
const lines = (...parts) => parts.join("\n");
const b64urlJson = (part) => Buffer.from(part, "base64url").toString("utf8");

// ---- shared::auth ---------------------------------------------------------------------------
const jose = json("shared/tests/fixtures/auth/jose-vectors.json");
for (const { name, token } of jose.vectors) {
  seed("jwt_token", `bearer ${name}`, `Bearer ${token}`);
  const [header, payload] = token.split(".");
  seed("jwt_claims", name, lines(b64urlJson(header), b64urlJson(payload)));
}
seed("jwt_token", "lowercase scheme spaces", `bearer    ${jose.vectors[0].token}  `);
seed("jwt_token", "basic scheme", "Basic dXNlcjpwYXNzd29yZA==");
seed("jwt_token", "two parts", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9");
const supabaseHeader = JSON.stringify({ alg: "HS256", typ: "JWT" });
const claims = {
  iss: "http://127.0.0.1:54321/auth/v1",
  sub: "7c1f2e4a-0000-4000-8000-000000000001",
  aud: "authenticated",
  exp: 1_800_003_600,
  iat: 1_800_000_000,
  email: "ada@example.com",
  phone: "",
  app_metadata: { provider: "email", providers: ["email"] },
  user_metadata: { full_name: "Ada Lovelace" },
  role: "authenticated",
  aal: "aal1",
  amr: [{ method: "password", timestamp: 1_800_000_000 }],
  session_id: "5b1d0000-0000-4000-8000-000000000002",
  is_anonymous: false,
};
seed("jwt_claims", "supabase user", lines(supabaseHeader, JSON.stringify(claims)));
seed("jwt_claims", "anonymous user", lines(supabaseHeader, JSON.stringify({ ...claims, email: "", is_anonymous: true, amr: [{ method: "anonymous", timestamp: 1_800_000_000 }] })));
seed("jwt_claims", "audience list nbf", lines(supabaseHeader, JSON.stringify({ ...claims, aud: ["account", "authenticated"], nbf: 1_799_999_990 })));
seed("jwt_claims", "service role", lines(supabaseHeader, JSON.stringify({ iss: "supabase-demo", role: "service_role", exp: 1_983_812_996 })));
seed("jwt_claims", "expired", lines(supabaseHeader, JSON.stringify({ ...claims, exp: 1_799_999_000 })));
seed("jwt_claims", "critical extension", lines(JSON.stringify({ alg: "HS256", crit: ["b64"], b64: false }), JSON.stringify(claims)));
seed("jwt_claims", "kid es256 header", lines(JSON.stringify({ alg: "ES256", kid: "ec-a", typ: "JWT" }), JSON.stringify(claims)));
seed("jwt_claims", "alg none", lines(JSON.stringify({ alg: "none" }), JSON.stringify(claims)));
for (const file of ["jwks-initial.json", "jwks-rotated.json"]) {
  seed("jwks", file, read(`shared/tests/fixtures/auth/${file}`));
}
seed("jwks", "empty set", '{"keys":[]}');
seed("jwks", "encryption key skipped", JSON.stringify({ keys: [{ kty: "RSA", use: "enc", kid: "e", n: "AQAB", e: "AQAB" }] }));

// ---- functions/webhooks -------------------------------------------------------------------
const vectors = json("functions/webhooks/tests/vectors/vectors.json");
for (const vector of vectors.stripe) {
  if (vector.header === null) {
    if (!vector.body.includes("\n")) seed("stripe_signature", vector.name, vector.body);
  } else {
    seed("stripe_signature", vector.name, lines(vector.header, vector.body));
  }
  seed("stripe_event", `vector body ${vector.name}`, vector.body);
}
for (const vector of vectors.svix) {
  const header = (name) => vector.headers[`svix-${name}`] ?? vector.headers[`webhook-${name}`] ?? "";
  seed("svix_signature", vector.name, lines(header("id"), header("timestamp"), header("signature"), vector.body));
  seed("resend_event", `vector body ${vector.name}`, lines(header("id") || "msg_vector", vector.body));
}
const stripeEvent = (type, object) =>
  JSON.stringify({ id: "evt_1QfuzzSeed", object: "event", api_version: "2024-06-20", created: 1_732_000_000, livemode: false, pending_webhooks: 1, type, data: { object } });
const subscription = { id: "sub_1", object: "subscription", customer: "cus_1", status: "active", cancel_at_period_end: false, canceled_at: null,
  current_period_start: 1_732_000_000, current_period_end: 1_734_592_000, metadata: {},
  items: { object: "list", data: [{ id: "si_1", price: { id: "price_pro", lookup_key: "pro" } }] } };
seed("stripe_event", "subscription created", stripeEvent("customer.subscription.created", subscription));
seed("stripe_event", "subscription deleted", stripeEvent("customer.subscription.deleted", { ...subscription, status: "canceled", canceled_at: 1_732_000_500 }));
seed("stripe_event", "invoice paid", stripeEvent("invoice.paid", { id: "in_1", object: "invoice", customer: "cus_1", subscription: "sub_1", amount_paid: 2900, amount_due: 2900, currency: "eur", status: "paid", billing_reason: "subscription_cycle" }));
seed("stripe_event", "checkout completed", stripeEvent("checkout.session.completed", { id: "cs_test_1", object: "checkout.session", customer: "cus_1", client_reference_id: "7c1f2e4a-0000-4000-8000-000000000001", customer_details: { email: "ada@example.com" }, metadata: { user_id: "7c1f2e4a-0000-4000-8000-000000000001" } }));
seed("stripe_event", "thin event", JSON.stringify({ id: "evt_1", object: "v2.core.event", type: "v1.billing.meter.error_report_triggered", created: "2024-11-22T23:41:12.126Z" }));
const resendEvent = (type, data) => JSON.stringify({ type, created_at: "2024-11-19T07:06:40.000Z", data });
const email = { email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c", from: "Acme <onboarding@resend.dev>", to: ["ada@example.com"], subject: "Hi" };
seed("resend_event", "email sent", lines("msg_2pQfuzzSent", resendEvent("email.sent", email)));
seed("resend_event", "email bounced", lines("msg_2pQfuzzBounce", resendEvent("email.bounced", { ...email, bounce: { type: "Permanent", subType: "General", message: "mailbox unavailable" } })));
seed("resend_event", "email complained", lines("msg_2pQfuzzComplaint", resendEvent("email.complained", email)));
seed("resend_event", "contact created", lines("msg_2pQfuzzContact", resendEvent("contact.created", { id: "c1", audience_id: "a1", email: "ada@example.com", unsubscribed: false })));

// ---- functions/lead-scoring ---------------------------------------------------------------
const rule = (rule_key, rule_group, points, condition, extra = {}) => ({ rule_key, rule_group, points, condition, ...extra });
const PROBATE = rule("motivation_probate", "motivation", 30, { field: "tags", op: "contains_tag", value: "probate" });
const PHONE = rule("fit_phone", "fit", 10, { field: "phone_valid", op: "equals", value: true });
const NOTES = rule("engagement_notes", "engagement", 20, { field: "notes_count", op: "between", min: 2 });
const builtIn = read("functions/lead-scoring/src/default_rules.json");
seed("lead_scoring_rules", "built in rules", builtIn);
seed("lead_scoring_rules", "e2e rules", JSON.stringify([PROBATE, PHONE, NOTES]));
seed("lead_scoring_rules", "combinators", JSON.stringify([
  rule("hot_seller", "motivation", 40, { all: [{ any: [{ field: "tags", op: "contains_tag", value: ["probate", "pre-foreclosure"] }, { field: "source", op: "in", value: ["driving_for_dollars", "Referral"] }] }, { not: { field: "opt_status", op: "equals", value: "opted_out" } }] }, { sort_order: 3 }),
  rule("gone_cold", "engagement", -15, { field: "last_contacted_at", op: "older_than_days", value: 45 }),
  rule("recent", "engagement", 12, { field: "created_at", op: "newer_than_days", value: 7.5 }, { enabled: false }),
  rule("reachable", "fit", 8, { any: [{ field: "email_valid", op: "equals", value: true }, { field: "phone", op: "exists" }] }),
  rule("pipeline", "fit", 5, { field: "status", op: "in", value: ["active", "qualified"] }),
  rule("chatty", "engagement", 6, { field: "notes_count", op: "in", value: [3, 4, 5] }),
]));
seed("lead_scoring_rules", "invalid rules", JSON.stringify([
  rule("bad_field", "fit", 5, { field: "colour", op: "equals", value: "red" }),
  rule("bad_op", "fit", 5, { field: "status", op: "like", value: "new" }),
  rule("bad_points", "fit", 101, { field: "status", op: "exists" }),
  rule("bad_shape", "fit", 5, { all: [] }),
  rule("bad_group", "hype", 5, { field: "status", op: "exists" }),
  rule("bad_points", "fit", 5, { field: "status", op: "exists" }),
]));
// The conditions the engine and the database's own validator are held to (tests/sql_parity.rs),
// as written there, each in a one-rule list.
json("functions/lead-scoring/tests/condition_corpus.json").forEach(({ condition }, index) =>
  seed("lead_scoring_rules", `condition corpus ${String(index).padStart(3, "0")}`,
    `[{"rule_key":"r","rule_group":"fit","points":1,"condition":${condition}}]`));
let deep = { field: "status", op: "exists" };
for (let level = 0; level < 9; level += 1) deep = { not: deep };
seed("lead_scoring_rules", "too deep", JSON.stringify([rule("deep", "fit", 1, deep)]));
seed("lead_scoring_preview", "e2e preview", JSON.stringify({ lead: { tags: ["probate"], phone: "512-555-0142", notes_count: 2 }, rules: [PROBATE, PHONE, NOTES], now: "2026-03-01T12:00:00Z" }));
seed("lead_scoring_preview", "invalid rules", JSON.stringify({ lead: {}, rules: [PROBATE, rule("fit_pool", "fit", 5, { field: "pool", op: "exists" }), rule("greedy", "fit", 500, { field: "status", op: "exists" })] }));
seed("lead_scoring_preview", "workspace rules", JSON.stringify({ lead: { tags: ["probate"] }, workspace_id: "3d8c0000-0000-4000-8000-000000000003" }));
seed("lead_scoring_preview", "bad lead", JSON.stringify({ lead: { status: "hot" } }));
seed("lead_scoring_preview", "postgrest row decayed", JSON.stringify({
  lead: { id: "11111111-0000-4000-8000-000000000001", workspace_id: "3d8c0000-0000-4000-8000-000000000003", score: 42, status: "active", opt_status: null, tags: null,
    name: "Seller", email: "seller@example.com", phone: "(512) 555-0142", company: null, source: "cold_call", is_deleted: false,
    notes_count: [{ id: "n1" }, { id: "n2" }], created_at: "2026-01-15T10:00:00.123456+00:00", updated_at: "2026-02-01 08:30:00+01",
    last_contacted_at: "2026-02-20T23:59:59.999-05:30" },
  engagement_half_life_days: 10.5, now: "2026-03-01T12:00:00+00:00" }));
seed("lead_scoring_preview", "infinity now", JSON.stringify({ lead: { created_at: "-infinity" }, now: "infinity", engagement_half_life_days: 3650 }));

// ---- functions/signup ---------------------------------------------------------------------
seed("signup_body", "empty", "");
seed("signup_body", "null", "null");
seed("signup_body", "empty object", "{}");
seed("signup_body", "every field", JSON.stringify({ full_name: "  Ada Lovelace ", avatar_url: "https://CDN.Example.com/a/b.png?s=64", workspace_name: "Analytical Engines", timezone: "America/Argentina/Buenos_Aires", marketing_opt_in: true }));
seed("signup_body", "unicode names", JSON.stringify({ full_name: "Zoë Ångström-Ñúñez", workspace_name: "The 👨\u200D👩\u200D👧 team" }));
seed("signup_body", "email and role", JSON.stringify({ full_name: "Ada", email: "boss@example.com", role: "admin" }));
seed("signup_body", "wrong types", JSON.stringify({ full_name: 42, marketing_opt_in: "yes", timezone: ["UTC"] }));
seed("signup_body", "layout characters", JSON.stringify({ full_name: "Ada\u202Eecalevol", workspace_name: "a\u0000b" }));
seed("signup_body", "credentials in avatar", JSON.stringify({ avatar_url: "https://user:pw@cdn.example.com/a.png" }));
seed("signup_body", "idn avatar", JSON.stringify({ avatar_url: "https://bücher.example/ä%20b/../c?x=é#frag" }));
seed("signup_body", "malformed", '{"full_name": "Ada",');

// ---- tools/gateway ------------------------------------------------------------------------
const integration = read("tools/gateway/tests/integration.rs");
const queries = new Set();
for (const [, url] of integration.matchAll(/"\/[a-z_/]*\?([^"]+)"/g)) {
  queries.add(url.replace(/\{[a-z_]*\}/g, "3d8c0000-0000-4000-8000-000000000003").replaceAll('\\"', '"'));
}
[...queries].sort().forEach((query, index) => seed("gateway_query", `integration ${String(index).padStart(3, "0")}`, query));
seed("gateway_query", "supabase js embed", "select=id,name,owner:user_profiles!workspaces_owner_id_fkey(id,email),workspace_members!inner(role)&workspace_members.role=in.(owner,admin)&order=created_at.desc.nullslast&limit=10&offset=0");
seed("gateway_query", "logic tree", "or=(status.eq.active,and(score.gte.50,tags.cs.%7Bprobate%7D),not.and(is_deleted.is.true,name.ilike.*test*))&select=id");
seed("gateway_query", "aggregates", "select=workspace_id,score.avg()::int,count(),total:amount::numeric.sum()&workspace_id=not.is.null");
seed("gateway_query", "json paths fts", "select=data->a->>b,arr->0&data->>title=fts(english).sea%20%26%20otter&tags=ov.%7Ba,b%7D&id=eq(any).%7B1,2%7D");
seed("gateway_query", "upsert", "columns=id,%22my%20col%22&on_conflict=id&select=*");
seed("gateway_headers", "read page", lines("count=exact", "0-24", "application/json", "", ""));
seed("gateway_headers", "upsert", lines("return=representation, resolution=merge-duplicates, missing=default", "", "application/vnd.pgrst.object+json; nulls=stripped", "application/json", '[{"id":1,"name":"a"},{"id":2,"name":null}]'));
seed("gateway_headers", "strict tx", lines("handling=strict, tx=rollback, max-affected=5, timezone=Europe/Paris", "items=10-", "text/csv", "application/x-www-form-urlencoded; charset=utf-8", "name=a+b&qty=3&note=%E2%9C%93"));
seed("gateway_headers", "plan", lines("count=planned", "", 'application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object+json"; options=analyze|verbose|buffers', "", ""));
seed("gateway_headers", "refused", lines("handling=strict, bogus", "9-0", "text/xml, application/vnd.pgrst.plan; options=everything", "text/csv", "a,b\n1,2"));

for (const [target, files] of Object.entries(seeds)) {
  const dir = path.join(root, "fuzz/corpus", target);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of files) writeFileSync(path.join(dir, name), content);
}
console.error(Object.entries(seeds).map(([target, files]) => `${target}: ${files.size}`).join(", "));
