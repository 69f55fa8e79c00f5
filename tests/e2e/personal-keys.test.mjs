// Personal API keys end to end (issue 20): a user creates a key through /functions/v1/personal-keys
// under their session; the key then acts as them, with curl-style fetches and with supabase-js
// pointed at the Worker's own /rest/v1, seeing exactly the owner's rows; a read-only key cannot
// write, a table outside a key's scope is refused in PostgREST's error shape, revoked and expired
// keys stop within the documented delay (PERSONAL_KEY_CACHE_SECONDS, 2 s here: vars/personal-keys.env),
// the secret is never stored, listed or logged, one user's keys are invisible to another, and a key
// gets its own 429.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient } from "@supabase/supabase-js";
import ws from "ws";
import { call, env, newUser, rows, sql } from "./lib.mjs";

const CACHE_SECONDS = 2;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const restUrl = () => `${env.workerUrl}/rest/v1`;

let alice;
let bob;
let aliceWorkspace;

async function signUp(user) {
  const answer = await call("POST", "/signup", { token: user.token, json: {} });
  assert.ok([200, 201].includes(answer.status), JSON.stringify(answer.body));
  return answer.body.workspace.id;
}

async function createKey(user, json) {
  const answer = await call("POST", "/personal-keys", { token: user.token, json });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return answer.body;
}

/** A request to the Worker's /rest/v1 with `headers` (the key goes where a test puts it). */
async function rest(method, path, headers = {}, json) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(`${restUrl()}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const bearer = (key) => ({ authorization: `Bearer ${key}` });

function supabaseWithKey(key) {
  return createClient(env.workerUrl, key, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: ws } });
}

function assertPostgrestShape(body) {
  assert.deepEqual(Object.keys(body).sort(), ["code", "details", "hint", "message"]);
}

before(async () => {
  alice = await newUser();
  bob = await newUser();
  aliceWorkspace = await signUp(alice);
  const bobWorkspace = await signUp(bob);
  sql(`insert into public.crm_leads (workspace_id, user_id, name) values
        ('${aliceWorkspace}', '${alice.id}', 'Alice lead one'), ('${aliceWorkspace}', '${alice.id}', 'Alice lead two'),
        ('${bobWorkspace}', '${bob.id}', 'Bob lead')`);
});

describe("creating, listing and revoking keys", () => {
  test("a key is shown once, in the scanner-recognisable shape, and only its hash is stored", async () => {
    const created = await createKey(alice, { name: "ci", access: "read", tables: ["crm_leads"] });
    assert.match(created.key, /^rlse_pk_[0-9A-Za-z]{43}$/);
    assert.equal(created.key_prefix, created.key.slice(0, 16));
    assert.equal(created.key_hash, undefined);
    const hash = createHash("sha256").update(created.key).digest("hex");
    const [stored] = rows(`select to_jsonb(k)::text as row, key_hash from public.security_personal_api_keys k where id = '${created.id}'`);
    assert.equal(stored.key_hash, hash);
    assert.ok(!stored.row.includes(created.key.slice(16)), "no part of the secret beyond the display prefix is stored");
    const listed = await call("GET", "/personal-keys", { token: alice.token });
    assert.equal(listed.status, 200);
    const text = JSON.stringify(listed.body);
    assert.ok(listed.body.keys.some((key) => key.id === created.id));
    assert.ok(!text.includes(created.key) && !text.includes(hash), "the list holds neither the secret nor its hash");
  });

  test("one user's keys are invisible to another, who cannot revoke them either", async () => {
    const created = await createKey(alice, { name: "private" });
    const listed = await call("GET", "/personal-keys", { token: bob.token });
    assert.equal(listed.status, 200);
    assert.ok(!listed.body.keys.some((key) => key.id === created.id));
    const revoke = await call("DELETE", `/personal-keys/${created.id}`, { token: bob.token });
    assert.equal(revoke.status, 404, JSON.stringify(revoke.body));
    assert.equal(rows(`select revoked_at from public.security_personal_api_keys where id = '${created.id}'`)[0].revoked_at, null);
  });

  test("a key cannot create or revoke keys", async () => {
    const { key, id } = await createKey(alice, { name: "writer", access: "write" });
    const made = await call("POST", "/personal-keys", { token: key, json: { name: "successor" } });
    assert.equal(made.status, 403);
    const revoked = await call("DELETE", `/personal-keys/${id}`, { headers: { "x-api-key": key } });
    assert.equal(revoked.status, 403);
  });
});

describe("using a key", () => {
  test("on a function, through any of the three headers, it acts as its owner", async () => {
    const { key } = await createKey(alice, { name: "functions", functions: ["signup"] });
    for (const headers of [bearer(key), { "x-api-key": key }, { apikey: key }]) {
      const answer = await call("GET", "/signup", { headers });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.profile.id, alice.id);
      assert.ok(answer.headers.get("ratelimit"), "the limiter's fields are on the answer");
    }
    const outside = await call("GET", "/lead-scoring/rules", { headers: bearer(key) });
    assert.equal(outside.status, 403, "a function outside the key's scope is refused");
  });

  test("with curl-style requests to /rest/v1 it sees exactly the owner's rows", async () => {
    const { key } = await createKey(alice, { name: "reader", tables: ["crm_leads"] });
    const answer = await rest("GET", "/crm_leads?select=name&order=name", bearer(key));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, [{ name: "Alice lead one" }, { name: "Alice lead two" }]);
    assert.ok(answer.headers.get("ratelimit-policy"), "the limiter's fields are on a /rest/v1 answer");
  });

  test("with supabase-js pointed at the Worker, from() and rpc() work as the owner", async () => {
    const { key } = await createKey(alice, { name: "sdk", access: "write", tables: ["crm_leads"], rpcs: ["is_workspace_member"] });
    const supabase = supabaseWithKey(key);
    const { data, error } = await supabase.from("crm_leads").select("name").order("name");
    assert.equal(error, null);
    assert.deepEqual(data, [{ name: "Alice lead one" }, { name: "Alice lead two" }]);
    const member = await supabase.rpc("is_workspace_member", { workspace: aliceWorkspace });
    assert.equal(member.error, null);
    assert.equal(member.data, true);
    const inserted = await supabase.from("crm_leads").insert({ workspace_id: aliceWorkspace, user_id: alice.id, name: "From a key" }).select("name");
    assert.equal(inserted.error, null, JSON.stringify(inserted.error));
    assert.deepEqual(inserted.data, [{ name: "From a key" }]);
    sql(`delete from public.crm_leads where name = 'From a key'`);
  });

  test("without a key, /rest/v1 serves a user's session as that user and the publishable key as anon", async () => {
    const session = createClient(env.workerUrl, env.publishableKey, {
      auth: { persistSession: false, autoRefreshToken: false },
      global: { headers: { Authorization: `Bearer ${bob.token}` } },
      realtime: { transport: ws },
    });
    const bobs = await session.from("crm_leads").select("name");
    assert.equal(bobs.error, null);
    assert.deepEqual(bobs.data, [{ name: "Bob lead" }]);
    const anon = await supabaseWithKey(env.publishableKey).from("crm_leads").select("name");
    // The publishable key reaches PostgREST as anon, which has no grant on leads: PostgREST's own
    // refusal passes through unchanged.
    assert.equal(anon.status, 403, JSON.stringify(anon.error));
    assert.equal(anon.error.code, "42501");
  });

  test("a read-only key cannot write, and reads RPCs only with GET", async () => {
    const { key } = await createKey(alice, { name: "read only", tables: ["crm_leads"], rpcs: ["is_workspace_member"] });
    const supabase = supabaseWithKey(key);
    const inserted = await supabase.from("crm_leads").insert({ workspace_id: aliceWorkspace, user_id: alice.id, name: "Refused" });
    assert.equal(inserted.status, 403);
    assert.match(inserted.error.message, /read-only/);
    const raw = await rest("DELETE", "/crm_leads?name=eq.Alice%20lead%20one", bearer(key));
    assert.equal(raw.status, 403);
    assertPostgrestShape(raw.body);
    assert.equal(rows(`select count(*)::int as n from public.crm_leads where workspace_id = '${aliceWorkspace}'`)[0].n, 2);
    const viaGet = await supabase.rpc("is_workspace_member", { workspace: aliceWorkspace }, { get: true });
    assert.equal(viaGet.error, null);
    assert.equal(viaGet.data, true);
    const viaPost = await supabase.rpc("is_workspace_member", { workspace: aliceWorkspace });
    assert.equal(viaPost.status, 403);
  });

  test("a table outside the key's scope is refused in PostgREST's error shape", async () => {
    const { key } = await createKey(alice, { name: "leads only", tables: ["crm_leads"] });
    const answer = await rest("GET", "/user_profiles?select=id", bearer(key));
    assert.equal(answer.status, 403);
    assertPostgrestShape(answer.body);
    assert.match(answer.body.message, /user_profiles/);
    const { error } = await supabaseWithKey(key).from("workspaces").select("id");
    assert.match(error.message, /workspaces/);
  });

  test("a body above MAX_BODY_BYTES is refused with 413 in PostgREST's shape, before PostgREST sees it", async () => {
    const { key } = await createKey(alice, { name: "big writer", access: "write", tables: ["crm_leads"] });
    const name = "x".repeat(1024 * 1024 + 1);
    const answer = await rest("POST", "/crm_leads", bearer(key), { workspace_id: aliceWorkspace, user_id: alice.id, name });
    assert.equal(answer.status, 413);
    assertPostgrestShape(answer.body);
    assert.equal(rows(`select count(*)::int as n from public.crm_leads where length(name) > 1000000`)[0].n, 0);
  });

  test("a made-up or mistyped key is refused with 401 in PostgREST's shape", async () => {
    const { key } = await createKey(alice, { name: "typo" });
    const typo = `${key.slice(0, 20)}${key[20] === "a" ? "b" : "a"}${key.slice(21)}`;
    for (const wrong of [typo, "rlse_pk_nothing"]) {
      const answer = await rest("GET", "/crm_leads", bearer(wrong));
      assert.equal(answer.status, 401);
      assertPostgrestShape(answer.body);
    }
  });
});

describe("revocation and expiry", () => {
  test(`a revoked key is refused within ${CACHE_SECONDS} s`, async () => {
    const { key, id } = await createKey(alice, { name: "to revoke" });
    assert.equal((await rest("GET", "/crm_leads?select=id", bearer(key))).status, 200);
    const revoked = await call("DELETE", `/personal-keys/${id}`, { token: alice.token });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revoked_at);
    await sleep(CACHE_SECONDS * 1000 + 300);
    const answer = await rest("GET", "/crm_leads?select=id", bearer(key));
    assert.equal(answer.status, 401);
    assert.equal((await call("GET", "/signup", { headers: bearer(key) })).status, 401);
  });

  test("an expired key is refused from its expiry on, cached or not", async () => {
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const { key } = await createKey(alice, { name: "short-lived", expires_at: expiresAt });
    assert.equal((await rest("GET", "/crm_leads?select=id", bearer(key))).status, 200);
    await sleep(Date.parse(expiresAt) - Date.now() + 200);
    assert.equal((await rest("GET", "/crm_leads?select=id", bearer(key))).status, 401);
  });
});

describe("limits and logs", () => {
  let restore = () => {};
  before(async () => {
    sql(`insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds) values ('personal-key', 'free', 3, 60)
         on conflict do nothing`);
    await sleep(1_200);
    restore = () => sql(`delete from public.system_rate_limits where endpoint = 'personal-key' and plan = 'free'`);
  });
  after(() => restore());

  test("each key has its own budget: the fourth request of one key is a 429, another key of the same user still works", async () => {
    const first = (await createKey(alice, { name: "limited" })).key;
    const second = (await createKey(alice, { name: "other" })).key;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await rest("GET", "/crm_leads?select=id", bearer(first))).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const refused = await rest("GET", "/crm_leads?select=id", bearer(first));
    assert.equal(refused.status, 429);
    assertPostgrestShape(refused.body);
    assert.ok(refused.headers.get("retry-after"));
    assert.equal((await rest("GET", "/crm_leads?select=id", bearer(second))).status, 200);
  });

  test("no secret reaches the Worker's or the origin's log", async () => {
    const { key } = await createKey(alice, { name: "logged?" });
    await rest("GET", "/crm_leads?select=id", bearer(key));
    await call("GET", "/signup", { headers: { "x-api-key": key } });
    await sleep(300);
    for (const log of [process.env.WRANGLER_LOG, process.env.ORIGIN_LOG]) {
      const text = readFileSync(log, "utf8");
      assert.ok(!text.includes(key.slice(16)), `${log} holds no key`);
    }
  });
});
