// End-to-end: security events. What happens to a user's stored keys, calls
// to privileged endpoints and refusals of them, and cross-tenant attempts the functions see
// land in security_event_logs, written by the Worker as the narrow security_recorder role with
// the client's IP and user agent. Users read their own through PostgREST (RLS) and cannot write
// any; the cleanup job's retention removes old ones.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { call, env, expectError, newUser, rows, sql } from "./lib.mjs";
import { roleToken } from "./keys.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

const readVars = (file) => Object.fromEntries(
  readFileSync(new URL(`./vars/${file}`, import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const CLEANUP_SECRET = readVars("cleanup.env").CLEANUP_SECRET;
const CHECK_SECRET = readVars("rate-limit.env").RATE_LIMIT_CHECK_SECRET;

const openaiKey = () => `sk-proj-${randomBytes(30).toString("hex")}`;
/** A documentation address (RFC 5737) and user agent of this test's own, to find in the rows. */
const client = () => ({ "cf-connecting-ip": `198.51.100.${1 + Math.floor(Math.random() * 250)}`, "user-agent": `e2e-${randomUUID()}` });

async function member() {
  const user = await newUser();
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  return user;
}

/** The caller's own events, read through PostgREST under their token, as RLS lets them. */
async function ownEvents(user) {
  const response = await fetch(`${env.postgrestUrl}/security_event_logs?select=event_type,severity,user_id,ip_address,user_agent,details&order=created_at`, {
    headers: { apikey: env.anonKey, authorization: `Bearer ${user.token}` },
  });
  assert.equal(response.status, 200);
  return response.json();
}

const eventsWhere = (condition) =>
  rows(`select event_type, severity::text, user_id, host(ip_address) as ip_address, user_agent, details
        from public.security_event_logs where ${condition} order by created_at`);

let restoreLimits = [];
before(async () => {
  restoreLimits = [await liftRateLimit("api-keys"), await liftRateLimit("lead-scoring")];
});
after(() => restoreLimits.forEach((restore) => restore()));

describe("vault actions", () => {
  test("store, replace, check and delete are recorded for the user with the client's address, never with the key", async () => {
    const user = await member();
    const headers = client();
    const key = openaiKey();
    const replacement = openaiKey();
    assert.equal((await call("PUT", "/api-keys/openai", { token: user.token, json: { key }, headers })).status, 201);
    assert.equal((await call("PUT", "/api-keys/openai", { token: user.token, json: { key: replacement }, headers })).status, 200);
    assert.equal((await call("POST", "/api-keys/openai/check", { token: user.token, headers })).status, 200);
    assert.equal((await call("DELETE", "/api-keys/openai", { token: user.token, headers })).status, 204);

    const events = await ownEvents(user);
    assert.deepEqual(events.map((event) => [event.event_type, event.details]), [
      ["api_key.stored", { service: "openai", key_version: 2, replaced: false }],
      ["api_key.stored", { service: "openai", key_version: 2, replaced: true }],
      ["api_key.checked", { service: "openai", status: "unhealthy" }],
      ["api_key.deleted", { service: "openai" }],
    ]);
    for (const event of events) {
      assert.deepEqual([event.user_id, event.ip_address, event.user_agent, event.severity],
        [user.id, headers["cf-connecting-ip"], headers["user-agent"], "info"]);
    }
    const everything = JSON.stringify(rows(`select * from public.security_event_logs where user_id = '${user.id}'`));
    for (const secret of [key, replacement, key.slice(8, 24), replacement.slice(-12)]) {
      assert.ok(!everything.includes(secret), "no event holds any part of a key beyond what the user was shown");
    }
  });

  test("another user reads none of them, and nobody can write an event through the API", async () => {
    const owner = await member();
    assert.equal((await call("PUT", "/api-keys/openai", { token: owner.token, json: { key: openaiKey() } })).status, 201);
    const other = await member();
    assert.deepEqual(await ownEvents(other), []);

    const forged = { user_id: owner.id, event_type: "api_key.deleted", details: { service: "openai" } };
    const insert = await fetch(`${env.postgrestUrl}/security_event_logs`, {
      method: "POST",
      headers: { apikey: env.anonKey, authorization: `Bearer ${other.token}`, "content-type": "application/json" },
      body: JSON.stringify(forged),
    });
    assert.ok([401, 403].includes(insert.status), `a user may not insert events (got ${insert.status})`);
    const rpc = await fetch(`${env.postgrestUrl}/rpc/record_security_events`, {
      method: "POST",
      headers: { apikey: env.anonKey, authorization: `Bearer ${other.token}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [forged] }),
    });
    assert.ok([401, 403].includes(rpc.status), `a user may not call the recorder (got ${rpc.status})`);
    assert.deepEqual((await ownEvents(owner)).map((event) => event.event_type), ["api_key.stored"], "nothing forged reached the owner's log");
  });

  test("a rotation is a privileged call, and a key it cannot re-seal an event its owner reads", async () => {
    const user = await member();
    assert.equal((await call("PUT", "/api-keys/openai", { token: user.token, json: { key: openaiKey() } })).status, 201);
    // Back to the previous master key, as a row sealed before the current one was added (the
    // key itself does not matter here: the row id, user and service are what the event names).
    const row = rows(`select id, key_version from public.security_api_keys where user_id = '${user.id}'`)[0];
    sql(`update public.security_api_keys set key_version = 1 where id = '${row.id}'`);
    const maintenance = await roleToken("maintenance", "e2e-security-events");
    const headers = client();
    const rotated = await call("POST", "/api-keys/rotate", { token: maintenance, json: { limit: 200 }, headers });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const mine = (await ownEvents(user)).filter((event) => event.event_type.startsWith("api_key.rotat"));
    assert.deepEqual(mine.map((event) => [event.event_type, event.severity, event.details.service]), [["api_key.rotation_failed", "warning", "openai"]],
      "a row whose version no longer matches its ciphertext cannot be re-sealed; its owner is told");
    const calls = eventsWhere(`event_type = 'privileged.called' and user_agent = '${headers["user-agent"]}'`);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].details.endpoint, "api-keys/rotate");
    assert.equal(calls[0].user_id, null, "operators read it, no user does");
    assert.equal(calls[0].details.failed, rotated.body.failed.length);
  });
});

describe("privileged endpoints", () => {
  test("a cleanup run is recorded; refused credentials are recorded, a missing one is not", async () => {
    const headers = client();
    const run = await call("POST", "/cleanup/run", { json: { jobs: ["expired_tokens"] }, headers: { ...headers, "x-cleanup-secret": CLEANUP_SECRET } });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    expectError(assert, await call("POST", "/cleanup/run", { headers: { ...headers, "x-cleanup-secret": "guessed-secret" } }), 401);
    const user = await member();
    expectError(assert, await call("POST", "/cleanup/run", { token: user.token, headers }), 403);
    expectError(assert, await call("POST", "/cleanup/run", { headers }), 401);

    const recorded = eventsWhere(`user_agent = '${headers["user-agent"]}'`);
    assert.deepEqual(recorded.map((event) => [event.event_type, event.severity, event.user_id, event.details]), [
      ["privileged.called", "info", null, { endpoint: "cleanup/run" }],
      ["privileged.refused", "warning", null, { endpoint: "cleanup/run", status: 401, code: "unauthorized" }],
      ["privileged.refused", "warning", user.id, { endpoint: "cleanup/run", status: 403, code: "forbidden" }],
    ]);
    assert.deepEqual((await ownEvents(user)).map((event) => event.event_type), ["privileged.refused"], "the user reads their own refused attempt");
  });

  test("refused calls of rate-limit/check and api-keys/rotate are recorded", async () => {
    const headers = client();
    const user = await member();
    expectError(assert, await call("POST", "/rate-limit/check", { json: { key: "k", endpoint: "e" }, headers: { ...headers, "x-api-key": "guessed" } }), 401);
    expectError(assert, await call("POST", "/api-keys/rotate", { token: user.token, headers }), 403);
    const allowed = await call("POST", "/rate-limit/check", { json: { key: `svc:${randomUUID()}`, endpoint: "e2e-events" }, headers: { ...headers, "x-api-key": CHECK_SECRET } });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));

    const recorded = eventsWhere(`user_agent = '${headers["user-agent"]}'`);
    assert.deepEqual(recorded.map((event) => [event.event_type, event.user_id, event.details.endpoint]), [
      ["privileged.refused", null, "rate-limit/check"],
      ["privileged.refused", user.id, "api-keys/rotate"],
    ], "an accepted check is not recorded: it is other services' per-request path");
  });
});

describe("cross-tenant attempts", () => {
  /** A workspace owned by a new member, with one lead. */
  function workspaceWithLead(owner) {
    const workspace = randomUUID();
    const lead = randomUUID();
    sql(`insert into public.workspaces (id, name, owner_id) values ('${workspace}', 'Target', '${owner.id}');
         insert into public.crm_leads (id, workspace_id, user_id, name) values ('${lead}', '${workspace}', '${owner.id}', 'Their lead')`);
    return { workspace, lead };
  }

  test("asking for another tenant's lead or workspace is recorded for its owner, and the asker cannot tell", async () => {
    const owner = await member();
    const target = workspaceWithLead(owner);
    const attacker = await member();
    const headers = client();
    const nowhere = randomUUID();

    for (const id of [target.lead, nowhere]) {
      expectError(assert, await call("POST", `/lead-scoring/leads/${id}`, { token: attacker.token, headers }), 404, "not_found");
    }
    const batch = await call("POST", "/lead-scoring/batch", { token: attacker.token, json: { lead_ids: [target.lead, nowhere] }, headers });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(batch.body.not_found.sort(), [target.lead, nowhere].sort());
    expectError(assert, await call("GET", `/lead-scoring/rules?workspace_id=${target.workspace}`, { token: attacker.token, headers }), 404, "not_found");

    const recorded = eventsWhere(`event_type = 'access.cross_tenant_refused' and details ->> 'actor_user_id' = '${attacker.id}'`);
    assert.deepEqual(recorded.map((event) => [event.user_id, event.details.resource, event.details.resource_id, event.details.function, event.ip_address]), [
      [owner.id, "lead", target.lead, "lead-scoring", headers["cf-connecting-ip"]],
      [owner.id, "lead", target.lead, "lead-scoring", headers["cf-connecting-ip"]],
      [owner.id, "workspace", target.workspace, "lead-scoring", headers["cf-connecting-ip"]],
    ], "each attempt on something that exists, none for the id that exists nowhere");
    assert.equal((await ownEvents(owner)).filter((event) => event.event_type === "access.cross_tenant_refused").length, 3, "the owner reads them");
    assert.deepEqual(await ownEvents(attacker), [], "the attacker reads nothing that could confirm the lead exists");
  });
});

describe("retention", () => {
  test("the cleanup job removes events past their severity's retention and keeps the rest", async () => {
    const user = await member();
    sql(`insert into public.security_event_logs (user_id, event_type, severity, created_at) values
           ('${user.id}', 'e2e.old_info', 'info', now() - interval '31 days'),
           ('${user.id}', 'e2e.recent_info', 'info', now() - interval '29 days'),
           ('${user.id}', 'e2e.old_warning', 'warning', now() - interval '91 days'),
           ('${user.id}', 'e2e.recent_warning', 'warning', now() - interval '89 days')`);
    const run = await call("POST", "/cleanup/run", { json: { jobs: ["security_event_retention"] }, headers: { "x-cleanup-secret": CLEANUP_SECRET } });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const job = run.body.jobs.find((report) => report.job === "security_event_retention");
    assert.ok(job.rows >= 2 && job.complete, JSON.stringify(job));
    assert.deepEqual((await ownEvents(user)).map((event) => event.event_type), ["e2e.recent_warning", "e2e.recent_info"],
      "only events within their retention are left");
  });
});
