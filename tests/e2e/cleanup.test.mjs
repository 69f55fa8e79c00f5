// The cleanup function end to end: the Worker's scheduled handler (through wrangler's local
// route) and POST /cleanup/run, against the real database. Three people: Vera is due for
// erasure, Bert must stay exactly as he is, Cara owns the due and not-yet-due work of the
// other jobs.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { call, env, expectError, newUser, rows, sql, throughDevServer, token } from "./lib.mjs";

const SECRET = readFileSync(new URL("./vars/cleanup.env", import.meta.url), "utf8").match(/^CLEANUP_SECRET=(.+)$/m)[1];
const FREQUENT = "*/15 * * * *";
const DAILY = "30 3 * * *";
const tag = randomUUID().slice(0, 8);
let vera, bert, cara, veraDeletion;
const ids = {};

const q = (text) => `'${String(text).replaceAll("'", "''")}'`;
const one = (query) => rows(query)[0];

async function person(name, deletionInDays) {
  const user = await newUser({ email: `${name}-${tag}@example.test` });
  const workspace = randomUUID();
  const deletion = randomUUID();
  sql(`
    insert into user_profiles (id, email, full_name) values (${q(user.id)}, ${q(user.email)}, ${q(name)});
    insert into user_email_preferences (user_id, marketing_emails) values (${q(user.id)}, true);
    insert into user_onboarding_status (user_id) values (${q(user.id)});
    insert into workspaces (id, name, owner_id, is_personal) values (${q(workspace)}, ${q(`${name}'s`)}, ${q(user.id)}, true);
    insert into crm_leads (workspace_id, user_id, name, email, scored_at, score)
      values (${q(workspace)}, ${q(user.id)}, ${q(`${name}'s own lead`)}, 'lead-${tag}@example.net', now() - interval '1 day', 40);
    insert into crm_lead_notes (lead_id, user_id, body)
      select id, user_id, 'called' from crm_leads where workspace_id = ${q(workspace)};
    insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt) values (${q(user.id)}, 'openai', 'c', 'n', 's');
    insert into security_reset_tokens (user_id, token_hash, expires_at) values (${q(user.id)}, ${q(`valid-${name}-${tag}`)}, now() + interval '1 hour');
    insert into comms_email_logs (user_id, provider_message_id, to_email) values (${q(user.id)}, ${q(`em-${name}-${tag}`)}, ${q(user.email)});
    insert into system_rate_limit_counters (identifier, endpoint, theoretical_arrival_at)
      values (${q(`user:${user.id}`)}, 'signup', now() + interval '1 hour');
    insert into system_webhook_events (provider, event_id, event_type, payload, status, processed_at)
      values ('stripe', ${q(`evt-${name}-${tag}`)}, 'checkout.session.completed',
              ${q(JSON.stringify({ data: { object: { customer_details: { email: user.email } } } }))}, 'processed', now());
  `);
  if (deletionInDays !== undefined) {
    sql(`insert into system_scheduled_deletions (id, user_id, requested_by, scheduled_for)
         values (${q(deletion)}, ${q(user.id)}, ${q(user.id)}, now() + make_interval(days => ${deletionInDays}))`);
  }
  return { ...user, workspace, deletion };
}

/** Every row that belongs to or names `user`, as JSON text, for before/after comparisons. */
function footprint(user) {
  const id = q(user.id);
  const email = q(user.email);
  return JSON.stringify({
    auth: rows(`select id, email from auth.users where id = ${id}`),
    profile: rows(`select * from user_profiles where id = ${id}`),
    preferences: rows(`select * from user_email_preferences where user_id = ${id}`),
    onboarding: rows(`select * from user_onboarding_status where user_id = ${id}`),
    workspaces: rows(`select * from workspaces where owner_id = ${id}`),
    members: rows(`select * from workspace_members where user_id = ${id} order by workspace_id`),
    leads: rows(`select * from crm_leads where user_id = ${id} order by id`),
    notes: rows(`select * from crm_lead_notes where user_id = ${id} order by id`),
    keys: rows(`select * from security_api_keys where user_id = ${id}`),
    tokens: rows(`select * from security_reset_tokens where user_id = ${id} order by id`),
    mail: rows(`select * from comms_email_logs where user_id = ${id} or to_email = ${email} order by id`),
    counters: rows(`select identifier, endpoint, theoretical_arrival_at from system_rate_limit_counters where identifier like '%' || ${id} || '%'`),
    // Vera's retried event is kept anonymised and 'near' is someone else's: neither names her.
    webhooks: rows(`select * from system_webhook_events where payload::text like '%' || ${email} || '%'
                    and event_id not in ('near-${tag}', 'anonymised-${tag}') order by id`),
    deletions: rows(`select * from system_scheduled_deletions where user_id = ${id} or requested_by = ${id} order by id`),
  });
}

/** The not-yet-due rows of every job, which no run may change. */
function notYetDue() {
  return JSON.stringify({
    tokens: rows(`select * from security_reset_tokens where token_hash like 'cara-valid-${tag}%'`),
    invitations: rows(`select * from workspace_invitations where email = 'still-invited-${tag}@example.test'`),
    logs: rows(`select * from system_logs where source = 'cleanup-e2e-${tag}' and message like 'keep%' order by message`),
    counters: rows(`select * from system_rate_limit_counters where identifier = 'e2e:${tag}:future'`),
    webhooks: rows(`select * from system_webhook_events where event_id in ('recent-${tag}', 'later-${tag}', 'near-${tag}') order by event_id`),
    leads: rows(`select * from crm_leads where id = ${q(ids.freshLead)}`),
  });
}

async function trigger(cron) {
  const since = sql("select clock_timestamp()");
  const response = await throughDevServer(() => fetch(`${env.workerUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`));
  assert.equal(response.status, 200, await response.text());
  const summaries = rows(`select level, message, details from system_logs where source = 'cleanup' and created_at >= ${q(since)} order by created_at`);
  assert.equal(summaries.length, 1, `one summary row per run, got ${JSON.stringify(summaries)}`);
  return summaries[0];
}

const jobRows = (summary, job) => summary.details.jobs.find((report) => report.job === job)?.rows;

before(async () => {
  vera = await person("vera", -1);
  bert = await person("bert", 10);
  cara = await person("cara");
  veraDeletion = vera.deletion;
  ids.staleLead = randomUUID();
  ids.freshLead = randomUUID();
  sql(`
    insert into security_reset_tokens (user_id, token_hash, expires_at, used_at) values
      (${q(cara.id)}, 'cara-expired-${tag}', now() - interval '1 minute', null),
      (${q(cara.id)}, 'cara-used-${tag}', now() + interval '1 hour', now()),
      (${q(cara.id)}, 'cara-valid-${tag}', now() + interval '1 hour', null);
    insert into workspace_invitations (workspace_id, email, status, expires_at) values
      (${q(cara.workspace)}, 'lapsed-${tag}@example.test', 'pending', now() - interval '1 minute'),
      (${q(cara.workspace)}, 'still-invited-${tag}@example.test', 'pending', now() + interval '1 day');
    insert into system_logs (level, source, message, created_at) values
      ('debug', 'cleanup-e2e-${tag}', 'drop old debug', now() - interval '8 days'),
      ('info', 'cleanup-e2e-${tag}', 'drop old info', now() - interval '31 days'),
      ('debug', 'cleanup-e2e-${tag}', 'keep new debug', now() - interval '1 day'),
      ('error', 'cleanup-e2e-${tag}', 'keep month-old error', now() - interval '31 days');
    insert into system_rate_limit_counters (identifier, endpoint, theoretical_arrival_at) values
      ('e2e:${tag}:past', 'e2e', now() - interval '1 second'),
      ('e2e:${tag}:future', 'e2e', now() + interval '1 hour');
    insert into system_webhook_events (provider, event_id, event_type, payload, status, processed_at, attempts, next_attempt_at) values
      ('resend', 'old-${tag}', 'email.sent', '{"data": {}}', 'processed', now() - interval '31 days', 1, null),
      ('resend', 'recent-${tag}', 'email.sent', '{"data": {}}', 'processed', now() - interval '29 days', 1, null),
      ('resend', 'retry-${tag}', 'email.delivered',
        '{"data": {"email_id": "retry-${tag}", "to": ["reader-${tag}@example.net"]}}', 'failed', null, 1, now() - interval '1 minute'),
      ('resend', 'later-${tag}', 'email.delivered', '{"data": {}}', 'failed', null, 1, now() + interval '1 hour'),
      ('resend', 'hopeless-${tag}', 'email.delivered', '{"data": {}}', 'failed', null, 7, now() - interval '1 minute'),
      -- Someone whose address ends with Vera's, and Vera's own bounce: both still due for a retry.
      ('resend', 'near-${tag}', 'email.bounced', ${q(JSON.stringify({ data: { email_id: `near-${tag}`, to: [`s${vera.email}`] } }))},
        'failed', null, 1, now() + interval '1 hour'),
      ('resend', 'anonymised-${tag}', 'email.bounced', ${q(JSON.stringify({ data: { email_id: `vera-${tag}`, to: [`Vera <${vera.email}>`], subject: "Hi" } }))},
        'failed', null, 1, now() + interval '1 hour');
    insert into crm_leads (id, workspace_id, user_id, name, status, tags, scored_at, score) values
      (${q(ids.staleLead)}, ${q(cara.workspace)}, ${q(cara.id)}, 'Stale lead', 'qualified', '{probate}', now() - interval '10 days', 1),
      (${q(ids.freshLead)}, ${q(cara.workspace)}, ${q(cara.id)}, 'Fresh lead', 'qualified', '{probate}', now() - interval '1 day', 1);
  `);
});

test("scheduled runs do exactly the due work, erase Vera everywhere and leave Bert untouched", async () => {
  const bertBefore = footprint(bert);
  const pendingBefore = notYetDue();
  const staleBefore = one(`select score, scored_at from crm_leads where id = ${q(ids.staleLead)}`);

  const frequent = await trigger(FREQUENT);
  const daily = await trigger(DAILY);

  // Vera: nothing of hers is left, only an audit row that does not name her.
  assert.equal(footprint(vera), JSON.stringify({
    auth: [], profile: [], preferences: [], onboarding: [], workspaces: [], members: [], leads: [], notes: [],
    keys: [], tokens: [], mail: [], counters: [], webhooks: [], deletions: [],
  }));
  const references = rows(`
    select c.conrelid::regclass::text as table_name, a.attname::text as column_name
    from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid in ('public.user_profiles'::regclass, 'auth.users'::regclass)`);
  assert.ok(references.length >= 20, "every column referencing a user is checked");
  for (const { table_name, column_name } of references) {
    const left = sql(`select count(*) from ${table_name} where ${column_name} = ${q(vera.id)}`);
    assert.equal(left, "0", `${table_name}.${column_name} still points at Vera`);
  }
  const request = one(`select status, user_id, requested_by, reason from system_scheduled_deletions where id = ${q(veraDeletion)}`);
  assert.deepEqual(request, { status: "completed", user_id: null, requested_by: null, reason: null });
  const audit = one(`select subject_hash, categories, row_counts, t::text as whole from system_deletion_audits t where deletion_id = ${q(veraDeletion)}`);
  assert.equal(audit.subject_hash, sql(`select encode(sha256(convert_to(${q(vera.id)}, 'UTF8')), 'hex')`));
  for (const category of ["auth_users", "user_profiles", "security_api_keys", "security_reset_tokens", "comms_email_logs", "system_webhook_events", "system_rate_limit_counters", "workspaces_deleted"]) {
    assert.ok(audit.categories.includes(category), `audit names ${category}: ${audit.categories}`);
  }
  assert.equal(audit.row_counts.workspaces_deleted, 1);
  assert.ok(!audit.whole.includes(vera.id) && !audit.whole.toLowerCase().includes(vera.email), "the audit row holds no personal data");

  assert.deepEqual(one(`select status, payload from system_webhook_events where event_id = 'anonymised-${tag}'`),
    { status: "failed", payload: { data: { email_id: `vera-${tag}`, to: ["[erased]"], subject: "Hi" } } },
    "Vera's bounce still due for its retry is kept, with her address gone");

  // Bert, due only in ten days, and every not-yet-due row (the event of the address that merely
  // ends with Vera's among them): unchanged to the byte.
  assert.equal(footprint(bert), bertBefore);
  assert.equal(notYetDue(), pendingBefore);

  // Cara's due work is done.
  assert.deepEqual(rows(`select token_hash from security_reset_tokens where user_id = ${q(cara.id)} order by token_hash`).map((r) => r.token_hash),
    [`cara-valid-${tag}`, `valid-cara-${tag}`]);
  assert.deepEqual(rows(`select email from workspace_invitations where workspace_id = ${q(cara.workspace)}`).map((r) => r.email),
    [`still-invited-${tag}@example.test`]);
  assert.deepEqual(rows(`select message from system_logs where source = 'cleanup-e2e-${tag}' order by message`).map((r) => r.message),
    ["keep month-old error", "keep new debug"]);
  assert.deepEqual(rows(`select identifier from system_rate_limit_counters where identifier like 'e2e:${tag}:%'`).map((r) => r.identifier),
    [`e2e:${tag}:future`]);
  assert.equal(rows(`select 1 from system_webhook_events where event_id = 'old-${tag}'`).length, 0, "old processed event deleted");
  assert.deepEqual(one(`select status, attempts from system_webhook_events where event_id = 'retry-${tag}'`), { status: "processed", attempts: 2 });
  assert.equal(one(`select status from comms_email_logs where provider_message_id = 'retry-${tag}'`).status, "delivered", "the retried event was applied");
  assert.deepEqual(one(`select status, attempts, next_attempt_at from system_webhook_events where event_id = 'hopeless-${tag}'`),
    { status: "failed", attempts: 8, next_attempt_at: null }, "given up after the last attempt, still failed");
  const stale = one(`select *, 0 as notes_count from crm_leads where id = ${q(ids.staleLead)}`);
  assert.ok(new Date(stale.scored_at) > new Date(staleBefore.scored_at), "the stale lead was re-scored");
  const engine = await call("POST", "/lead-scoring/preview", { token: cara.token, json: { lead: stale, now: stale.scored_at } });
  assert.equal(engine.status, 200, JSON.stringify(engine.body));
  assert.equal(stale.score, engine.body.score, "the stored score is the lead-scoring engine's");
  assert.deepEqual(stale.score_breakdown, engine.body.score_breakdown);

  // One summary per run: counts and timings, nothing personal.
  assert.equal(frequent.details.trigger.cron, FREQUENT);
  assert.deepEqual(frequent.details.jobs.map((report) => report.job),
    ["erasures", "expired_tokens", "webhook_retries", "rate_limit_counters", "lead_score_decay"]);
  assert.deepEqual(daily.details.jobs.map((report) => report.job), ["log_retention", "webhook_retention", "security_event_retention"]);
  assert.ok(frequent.details.jobs.find((report) => report.job === "erasures").counts.erased >= 1);
  assert.ok(frequent.details.jobs.find((report) => report.job === "webhook_retries").counts.gave_up >= 1);
  assert.equal(frequent.level, "warning", "a given-up webhook event makes the run a warning");
  for (const summary of [frequent, daily]) {
    assert.equal(summary.details.stopped_early, false);
    assert.equal(summary.details.errors, 0);
    assert.ok(summary.details.jobs.every((report) => report.complete && typeof report.duration_ms === "number"));
    const text = JSON.stringify(summary);
    assert.ok(!text.includes(vera.id) && !text.includes(vera.email), "summaries hold no personal data");
  }
});

test("a second run changes nothing", async () => {
  const before = [footprint(bert), footprint(cara), notYetDue()];
  const frequent = await trigger(FREQUENT);
  const daily = await trigger(DAILY);
  assert.deepEqual([footprint(bert), footprint(cara), notYetDue()], before);
  // Limiter counters expire by themselves while the stack serves requests; every other job is idle.
  for (const job of ["erasures", "expired_tokens", "webhook_retries", "lead_score_decay"]) {
    assert.equal(jobRows(frequent, job), 0, `${job} found work on the second run`);
  }
  for (const job of ["log_retention", "webhook_retention", "security_event_retention"]) assert.equal(jobRows(daily, job), 0, `${job} found work on the second run`);
});

test("a run with a tiny budget stops early and the next run finishes", async () => {
  sql(`
    insert into security_reset_tokens (user_id, token_hash, expires_at) values (${q(cara.id)}, 'tiny-${tag}', now() - interval '1 minute');
    insert into system_rate_limit_counters (identifier, endpoint, theoretical_arrival_at) values ('e2e:${tag}:tiny', 'e2e', now() - interval '1 second');
  `);
  const cut = await call("POST", "/cleanup/run", { token: SECRET, json: { jobs: ["expired_tokens", "rate_limit_counters"], budget_ms: 1 } });
  assert.equal(cut.status, 200, JSON.stringify(cut.body));
  assert.equal(cut.body.stopped_early, true);
  assert.equal(cut.body.budget_ms, 1);
  assert.deepEqual(cut.body.jobs.map((report) => [report.job, report.batches]), [["expired_tokens", 1]]);
  assert.deepEqual(cut.body.not_started, ["rate_limit_counters"]);
  assert.equal(rows(`select 1 from security_reset_tokens where token_hash = 'tiny-${tag}'`).length, 0, "the batch that ran is done");
  assert.equal(rows(`select 1 from system_rate_limit_counters where identifier = 'e2e:${tag}:tiny'`).length, 1, "the job not started waits");
  const logged = one(`select details from system_logs where source = 'cleanup' order by created_at desc limit 1`);
  assert.equal(logged.details.stopped_early, true, "the cut run is logged as such");

  const rest = await call("POST", "/cleanup/run", { headers: { "x-cleanup-secret": SECRET }, json: { jobs: ["rate_limit_counters"] } });
  assert.equal(rest.status, 200, JSON.stringify(rest.body));
  assert.equal(rest.body.stopped_early, false);
  assert.equal(rows(`select 1 from system_rate_limit_counters where identifier = 'e2e:${tag}:tiny'`).length, 0, "the next run finished it");
});

test("POST /cleanup/run needs the maintenance secret or the service role", async () => {
  expectError(assert, await call("POST", "/cleanup/run", { json: { jobs: ["expired_tokens"] } }), 401);
  expectError(assert, await call("POST", "/cleanup/run", { headers: { "x-cleanup-secret": "not-the-secret" }, json: {} }), 401);
  expectError(assert, await call("POST", "/cleanup/run", { token: "not-the-secret", json: {} }), 401);
  expectError(assert, await call("POST", "/cleanup/run", { token: bert.token, json: {} }), 403);
  expectError(assert, await call("GET", "/cleanup/run", { token: SECRET }), 405);
  expectError(assert, await call("POST", "/cleanup/run", { token: SECRET, json: { jobs: ["vacuum"] } }), 400);
  expectError(assert, await call("POST", "/cleanup/run", { token: SECRET, json: { budget_ms: 0 } }), 400);
  sql(`insert into security_reset_tokens (user_id, token_hash, expires_at) values (${q(cara.id)}, 'refused-${tag}', now() - interval '1 minute')`);
  expectError(assert, await call("POST", "/cleanup/run", { token: bert.token, json: { jobs: ["expired_tokens"] } }), 403);
  assert.equal(rows(`select 1 from security_reset_tokens where token_hash = 'refused-${tag}'`).length, 1, "refused calls changed nothing");

  const service = await token({ role: "service_role" });
  const allowed = await call("POST", "/cleanup/run", { token: service, json: { jobs: ["expired_tokens"] } });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  assert.deepEqual(allowed.body.jobs.map((report) => report.job), ["expired_tokens"]);
  assert.equal(rows(`select 1 from security_reset_tokens where token_hash = 'refused-${tag}'`).length, 0, "the service role may run jobs");
  assert.deepEqual(allowed.body.trigger, { kind: "request" });
});

test("a stolen access token cannot bring an erasure forward inside the grace period", async () => {
  const before = footprint(bert);
  const rpc = (bearer, args) => fetch(`${env.postgrestUrl}/rpc/request_account_deletion`, {
    method: "POST",
    headers: { apikey: env.anonKey, authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify(args),
  });
  // A token from a sign-in an hour ago, without a second factor: what a thief would hold.
  const stolen = await token({ sub: bert.id, email: bert.email, aal: "aal1",
    amr: [{ method: "password", timestamp: Math.floor(Date.now() / 1000) - 3600 }] });
  assert.equal((await rpc(stolen, { delay_days: 0 })).status, 403);
  assert.equal((await rpc(stolen, { delay_days: 6 })).status, 403);
  const frequent = await trigger(FREQUENT);
  assert.equal(jobRows(frequent, "erasures"), 0, "nobody was erased");
  assert.equal(footprint(bert), before, "Bert, due in ten days, is untouched");

  // Signed in a moment ago, Bert himself may: and the app is told to write to him.
  const fresh = await token({ sub: bert.id, email: bert.email, aal: "aal1",
    amr: [{ method: "password", timestamp: Math.floor(Date.now() / 1000) - 10 }] });
  const allowed = await rpc(fresh, { delay_days: 1 });
  assert.equal(allowed.status, 200, await allowed.text());
  assert.deepEqual(rows(`select kind, to_email from comms_notifications where user_id = ${q(bert.id)} and sent_at is null`),
    [{ kind: "account_deletion_scheduled", to_email: bert.email }]);
});

test("a workspace whose saved rules no longer compile cannot stall lead-score decay for everyone else", async () => {
  const mallory = await person(`mallory`);
  const victim = await person(`victim`);
  // Mallory's 200 never-scored leads come first in the queue (their ids sort first), and her
  // rule was saved before the database checked conditions (triggers off, as on a database
  // migrated from 0017).
  const stuckIds = Array.from({ length: 200 }, (_, n) => `00000000-0000-4000-8000-${tag}${n.toString(16).padStart(4, "0")}`);
  sql(`
    insert into crm_leads (id, workspace_id, user_id, name)
      select id::uuid, ${q(mallory.workspace)}, ${q(mallory.id)}, 'Stuck lead' from unnest(array[${stuckIds.map(q).join(",")}]) id;
    set session_replication_role = replica;
    insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points)
      values (${q(mallory.workspace)}, 'broken', 'fit', '{"field": "pool", "op": "exists"}', 5);
    set session_replication_role = origin;
  `);
  const victimLead = one(`select id, scored_at from crm_leads where workspace_id = ${q(victim.workspace)}`);
  sql(`update crm_leads set scored_at = now() - interval '30 days' where id = ${q(victimLead.id)}`);

  const run = await call("POST", "/cleanup/run", { token: SECRET, json: { jobs: ["lead_score_decay"] } });
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const decay = run.body.jobs[0];
  assert.equal(decay.complete, true, JSON.stringify(decay));
  assert.ok(decay.counts.unscorable >= 200, JSON.stringify(decay.counts));
  const victimAfter = one(`select scored_at from crm_leads where id = ${q(victimLead.id)}`);
  assert.ok(new Date(victimAfter.scored_at) > new Date(Date.now() - 60_000),
    `the other workspace's stale lead was re-scored in the same run: ${JSON.stringify({ victimAfter, decay })}`);
  const reasons = rows(`select distinct scoring_problem from crm_leads where workspace_id = ${q(mallory.workspace)} and scored_at is null`);
  assert.equal(reasons.length, 1, JSON.stringify(reasons));
  assert.match(reasons[0].scoring_problem, /^the workspace's saved scoring rules are invalid: rule "broken", condition\.field: unknown field "pool"/);

  const again = await call("POST", "/cleanup/run", { token: SECRET, json: { jobs: ["lead_score_decay"] } });
  assert.equal(again.body.jobs[0].counts.unscorable ?? 0, 0, "marked leads are not listed again");

  const repaired = await call("PUT", "/lead-scoring/rules", {
    token: mallory.token,
    json: { workspace_id: mallory.workspace, rules: [{ rule_key: "fine", rule_group: "fit", points: 5, condition: { field: "status", op: "exists" } }] },
  });
  assert.equal(repaired.status, 200, JSON.stringify(repaired.body));
  assert.equal(one(`select count(*)::int as n from crm_leads where workspace_id = ${q(mallory.workspace)} and scoring_problem is not null`).n, 0,
    "saving valid rules clears the marks");
  const rescored = await call("POST", "/cleanup/run", { token: SECRET, json: { jobs: ["lead_score_decay"] } });
  assert.ok(rescored.body.jobs[0].counts.rescored >= 200, JSON.stringify(rescored.body.jobs[0].counts));
});
