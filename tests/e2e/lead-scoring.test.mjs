// End-to-end tests of /functions/v1/lead-scoring against the running stack: the Worker in
// wrangler dev, the PostgREST-compatible gateway and Postgres with sql/. Every request carries a
// real user's JWT, so RLS decides what each caller sees and writes; what landed (or did not) is
// checked in Postgres as the superuser. Each test builds its own workspaces and leads.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { call, expectError, newUser, rows, sql } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

let restoreRateLimit = () => {};
before(async () => {
  restoreRateLimit = await liftRateLimit("lead-scoring");
});
after(() => restoreRateLimit());

const quote = (value) => (value === null || value === undefined ? "null" : `'${String(value).replaceAll("'", "''")}'`);

/** A signed-in user with a profile. */
async function person() {
  const user = await newUser();
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  return user;
}

/** A workspace owned by a new user; `members` maps a role to a new user holding it. */
async function workspace(roles = []) {
  const owner = await person();
  const id = randomUUID();
  sql(`insert into public.workspaces (id, name, owner_id) values ('${id}', 'Scoring ${id.slice(0, 8)}', '${owner.id}')`);
  const members = {};
  for (const role of roles) {
    const member = await person();
    sql(`insert into public.workspace_members (workspace_id, user_id, role) values ('${id}', '${member.id}', '${role}')`);
    members[role] = member;
  }
  return { id, owner, ...members };
}

/** Inserts a lead into the workspace (as the superuser) and returns its id. */
function lead(space, fields = {}) {
  const id = randomUUID();
  const {
    name = "Seller",
    phone = null,
    email = null,
    company = null,
    source = null,
    status = "new",
    tags = [],
    opt_status = "pending",
    is_deleted = false,
    last_contacted_days_ago = null,
    created_days_ago = 0,
    notes = 0,
  } = fields;
  const tagList = `array[${tags.map(quote).join(",")}]::text[]`;
  const contacted = last_contacted_days_ago === null ? "null" : `now() - interval '${last_contacted_days_ago} days'`;
  sql(`insert into public.crm_leads
         (id, workspace_id, user_id, name, phone, email, company, source, status, tags, opt_status, is_deleted,
          last_contacted_at, created_at)
       values ('${id}', '${space.id}', '${space.owner.id}', ${quote(name)}, ${quote(phone)}, ${quote(email)},
               ${quote(company)}, ${quote(source)}, '${status}', ${tagList}, '${opt_status}', ${is_deleted},
               ${contacted}, now() - interval '${created_days_ago} days')`);
  for (let note = 0; note < notes; note += 1) {
    sql(`insert into public.crm_lead_notes (lead_id, user_id, body) values ('${id}', '${space.owner.id}', 'note ${note}')`);
  }
  return id;
}

function storedScore(leadId) {
  const [row] = rows(`select score, score_breakdown, scored_at from public.crm_leads where id = '${leadId}'`);
  return row;
}

function storedRules(workspaceId) {
  return rows(`select rule_key, points from public.crm_lead_scoring_rules
               where workspace_id = '${workspaceId}' order by sort_order, rule_key`);
}

const rule = (rule_key, rule_group, points, condition, extra = {}) => ({ rule_key, rule_group, points, condition, ...extra });
const PROBATE = rule("motivation_probate", "motivation", 30, { field: "tags", op: "contains_tag", value: "probate" });
const PHONE = rule("fit_phone", "fit", 10, { field: "phone_valid", op: "equals", value: true });
const NOTES = rule("engagement_notes", "engagement", 20, { field: "notes_count", op: "between", min: 2 });

const putRules = (user, workspace_id, rules, extra = {}) =>
  call("PUT", "/lead-scoring/rules", { token: user.token, json: { workspace_id, rules, ...extra } });

describe("POST /lead-scoring/leads/{id}", () => {
  test("scores the caller's lead with the workspace's rules and writes score, breakdown and scored_at back", async () => {
    const space = await workspace();
    assert.equal((await putRules(space.owner, space.id, [PROBATE, PHONE, NOTES])).status, 200);
    const id = lead(space, { tags: ["Probate"], phone: "(512) 555-0142", notes: 3, last_contacted_days_ago: 1 });

    const response = await call("POST", `/lead-scoring/leads/${id}`, { token: space.owner.token });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.lead_id, id);
    assert.equal(response.body.score, 60);
    const breakdown = response.body.score_breakdown;
    assert.deepEqual(breakdown.groups, { fit: 10, engagement: 20, motivation: 30 });
    assert.deepEqual(
      breakdown.fired.map((fired) => [fired.rule_key, fired.points]),
      [["motivation_probate", 30], ["fit_phone", 10], ["engagement_notes", 20]],
    );

    const stored = storedScore(id);
    assert.equal(stored.score, 60);
    assert.deepEqual(stored.score_breakdown, breakdown);
    assert.equal(Date.parse(stored.scored_at), Date.parse(response.body.scored_at));
    assert.ok(Math.abs(Date.parse(stored.scored_at) - Date.now()) < 60_000);
  });

  test("a workspace without saved rules scores with the built-in ones, and opted-out leads score 0 with the reason", async () => {
    const space = await workspace();
    const motivated = lead(space, { tags: ["pre-foreclosure", "vacant"], phone: "+1 512 555 0142", status: "active" });
    const response = await call("POST", `/lead-scoring/leads/${motivated}`, { token: space.owner.token });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const keys = response.body.score_breakdown.fired.map((fired) => fired.rule_key);
    assert.ok(keys.includes("motivation_pre_foreclosure") && keys.includes("motivation_vacant"), keys.join(","));
    assert.ok(response.body.score >= 50, `score ${response.body.score}`);

    const optedOut = lead(space, { tags: ["probate"], opt_status: "opted_out" });
    const zero = await call("POST", `/lead-scoring/leads/${optedOut}`, { token: space.owner.token });
    assert.equal(zero.status, 200);
    assert.equal(zero.body.score, 0);
    assert.equal(zero.body.score_breakdown.reason, "opted_out");
    assert.equal(storedScore(optedOut).score, 0);
  });

  test("the workspace's engagement half-life decays engagement points", async () => {
    const space = await workspace();
    assert.equal((await putRules(space.owner, space.id, [NOTES], { engagement_half_life_days: 10 })).status, 200);
    const id = lead(space, { notes: 2, last_contacted_days_ago: 10 });
    const response = await call("POST", `/lead-scoring/leads/${id}`, { token: space.owner.token });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.score, 10, "20 points, one half-life after the last contact");
    assert.equal(response.body.score_breakdown.decay.half_life_days, 10);
    assert.deepEqual(response.body.score_breakdown.fired[0], {
      rule_key: "engagement_notes", group: "engagement", points: 10, base_points: 20,
    });
  });

  test("another workspace's lead is 404 and keeps its score", async () => {
    const mine = await workspace();
    const theirs = await workspace();
    const id = lead(theirs, { tags: ["probate"] });
    const response = await call("POST", `/lead-scoring/leads/${id}`, { token: mine.owner.token });
    expectError(assert, response, 404, "not_found");
    assert.ok(!JSON.stringify(response.body).includes("probate"));
    assert.equal(storedScore(id).score, null);

    const missing = await call("POST", `/lead-scoring/leads/${randomUUID()}`, { token: mine.owner.token });
    expectError(assert, missing, 404, "not_found");
  });

  test("members re-score, viewers are refused (403) and nothing is written", async () => {
    const space = await workspace(["member", "viewer"]);
    const id = lead(space, { tags: ["probate"] });
    expectError(assert, await call("POST", `/lead-scoring/leads/${id}`, { token: space.viewer.token }), 403, "forbidden");
    assert.equal(storedScore(id).score, null);
    const byMember = await call("POST", `/lead-scoring/leads/${id}`, { token: space.member.token });
    assert.equal(byMember.status, 200, JSON.stringify(byMember.body));
    assert.equal(storedScore(id).score, byMember.body.score);
  });

  test("bad ids, missing tokens and wrong methods get the one error shape", async () => {
    const space = await workspace();
    const id = lead(space);
    const badId = await call("POST", "/lead-scoring/leads/not-a-uuid", { token: space.owner.token });
    assert.equal(expectError(assert, badId, 400, "invalid_field").details.field, "id");
    expectError(assert, await call("POST", `/lead-scoring/leads/${id}`), 401, "unauthorized");
    const wrongMethod = await call("GET", `/lead-scoring/leads/${id}`, { token: space.owner.token });
    expectError(assert, wrongMethod, 405, "method_not_allowed");
    assert.equal(wrongMethod.headers.get("allow"), "POST");
    expectError(assert, await call("POST", "/lead-scoring/nowhere", { token: space.owner.token }), 404, "not_found");
  });
});

describe("POST /lead-scoring/batch", () => {
  test("scores the caller's listed leads in one write, reports others' and unknown ids as not found", async () => {
    const space = await workspace();
    const other = await workspace();
    assert.equal((await putRules(space.owner, space.id, [PROBATE, PHONE])).status, 200);
    const probate = lead(space, { tags: ["probate"] });
    const phone = lead(space, { phone: "5125550142" });
    const theirs = lead(other, { tags: ["probate"] });
    const unknown = randomUUID();

    const response = await call("POST", "/lead-scoring/batch", {
      token: space.owner.token,
      json: { lead_ids: [probate, phone, theirs, unknown, probate.toUpperCase()] },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.requested, 4);
    assert.equal(response.body.scored, 2);
    assert.equal(response.body.updated, 2);
    assert.deepEqual(response.body.not_found.sort(), [theirs, unknown].sort());
    assert.deepEqual(response.body.top_movers, [], "nothing had a score before");
    assert.equal(storedScore(probate).score, 30);
    assert.equal(storedScore(phone).score, 10);
    assert.equal(storedScore(theirs).score, null, "another workspace's lead is never scored");

    // Retune: probate is worth less, a phone more. The movers say what changed most.
    const retuned = [{ ...PROBATE, points: 5 }, { ...PHONE, points: 12 }];
    assert.equal((await putRules(space.owner, space.id, retuned)).status, 200);
    const again = await call("POST", "/lead-scoring/batch", { token: space.owner.token, json: { lead_ids: [probate, phone] } });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.top_movers, [
      { lead_id: probate, previous_score: 30, score: 5, change: -25 },
      { lead_id: phone, previous_score: 10, score: 12, change: 2 },
    ]);
  });

  test("stale_before pages through never-scored and stale leads, stalest first", async () => {
    const space = await workspace();
    const leads = [lead(space), lead(space), lead(space)];
    // Scored from now on means fresh: what the first call scores is no longer stale for the second.
    const cutoff = new Date().toISOString();
    const first = await call("POST", "/lead-scoring/batch", { token: space.owner.token, json: { stale_before: cutoff, limit: 2 } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.scored, 2);
    assert.equal(first.body.has_more, true);
    const second = await call("POST", "/lead-scoring/batch", { token: space.owner.token, json: { stale_before: cutoff, limit: 2 } });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.scored, 1);
    assert.equal(second.body.has_more, false);
    for (const id of leads) assert.notEqual(storedScore(id).scored_at, null, `lead ${id} was scored`);
    const none = await call("POST", "/lead-scoring/batch", { token: space.owner.token, json: { stale_before: cutoff } });
    assert.equal(none.body.scored, 0);
  });

  test("refuses ambiguous or oversized requests, naming the field", async () => {
    const space = await workspace();
    const both = await call("POST", "/lead-scoring/batch", {
      token: space.owner.token,
      json: { lead_ids: [randomUUID()], stale_before: new Date().toISOString() },
    });
    assert.equal(expectError(assert, both, 400, "invalid_field").details.field, "lead_ids");
    const tooMany = Array.from({ length: 1001 }, () => randomUUID());
    const oversized = await call("POST", "/lead-scoring/batch", { token: space.owner.token, json: { lead_ids: tooMany } });
    assert.match(expectError(assert, oversized, 400, "invalid_field").message, /at most 1000/);
    const unknownField = await call("POST", "/lead-scoring/batch", { token: space.owner.token, json: { ids: [] } });
    expectError(assert, unknownField, 400, "invalid_body");
    const notJson = await call("POST", "/lead-scoring/batch", { token: space.owner.token, body: "lead_ids=1" });
    expectError(assert, notJson, 415, "unsupported_media_type");
  });
});

describe("POST /lead-scoring/preview", () => {
  test("scores a lead from the body with rules from the body and writes nothing", async () => {
    const user = await person();
    const response = await call("POST", "/lead-scoring/preview", {
      token: user.token,
      json: {
        lead: { tags: ["probate"], phone: "512-555-0142", notes_count: 2 },
        rules: [PROBATE, PHONE, NOTES],
        now: "2026-03-01T12:00:00Z",
      },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.score, 60);
    assert.equal(response.body.now, "2026-03-01T12:00:00.000Z");
    assert.deepEqual(response.body.score_breakdown.groups, { fit: 10, engagement: 20, motivation: 30 });
  });

  test("invalid rules are a 400 naming each bad rule and where", async () => {
    const user = await person();
    const response = await call("POST", "/lead-scoring/preview", {
      token: user.token,
      json: {
        lead: {},
        rules: [PROBATE, rule("fit_pool", "fit", 5, { field: "pool", op: "exists" }), rule("greedy", "fit", 500, { field: "status", op: "exists" })],
      },
    });
    const error = expectError(assert, response, 400, "invalid_rules");
    assert.match(error.message, /fit_pool/);
    assert.deepEqual(
      error.details.rules.map((problem) => [problem.rule, problem.location]),
      [["fit_pool", "condition.field"], ["greedy", "points"]],
    );
  });

  test("uses the workspace's rules for its members and is 404 for anyone else", async () => {
    const space = await workspace(["viewer"]);
    assert.equal((await putRules(space.owner, space.id, [PROBATE])).status, 200);
    const byViewer = await call("POST", "/lead-scoring/preview", {
      token: space.viewer.token, json: { lead: { tags: ["probate"] }, workspace_id: space.id },
    });
    assert.equal(byViewer.status, 200, JSON.stringify(byViewer.body));
    assert.equal(byViewer.body.score, 30);
    const stranger = await person();
    const refused = await call("POST", "/lead-scoring/preview", {
      token: stranger.token, json: { lead: { tags: ["probate"] }, workspace_id: space.id },
    });
    expectError(assert, refused, 404, "not_found");
    const badLead = await call("POST", "/lead-scoring/preview", { token: stranger.token, json: { lead: { status: "hot" } } });
    assert.equal(expectError(assert, badLead, 400, "invalid_field").details.field, "lead");
  });
});

describe("GET and PUT /lead-scoring/rules", () => {
  test("members read the rules; a new workspace shows the built-in ones; strangers get 404", async () => {
    const space = await workspace(["viewer"]);
    const read = await call("GET", `/lead-scoring/rules?workspace_id=${space.id}`, { token: space.viewer.token });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.source, "built_in");
    assert.ok(read.body.rules.some((stored) => stored.rule_key === "motivation_probate"));
    assert.equal(read.body.engagement_half_life_days, null);

    const stranger = await person();
    const refused = await call("GET", `/lead-scoring/rules?workspace_id=${space.id}`, { token: stranger.token });
    expectError(assert, refused, 404, "not_found");
    const noWorkspace = await call("GET", "/lead-scoring/rules", { token: space.viewer.token });
    assert.equal(expectError(assert, noWorkspace, 400, "invalid_field").details.field, "workspace_id");
  });

  test("owners and admins replace the rules and half-life; members get 403 and nothing changes", async () => {
    const space = await workspace(["admin", "member"]);
    const saved = await putRules(space.admin, space.id, [PHONE, PROBATE], { engagement_half_life_days: 21 });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.source, "workspace");
    assert.equal(saved.body.engagement_half_life_days, 21);
    assert.deepEqual(saved.body.rules.map((stored) => stored.rule_key), ["fit_phone", "motivation_probate"]);
    assert.deepEqual(storedRules(space.id), [{ rule_key: "fit_phone", points: 10 }, { rule_key: "motivation_probate", points: 30 }]);

    const byMember = await putRules(space.member, space.id, [NOTES]);
    expectError(assert, byMember, 403, "forbidden");
    assert.equal(storedRules(space.id).length, 2);

    const read = await call("GET", `/lead-scoring/rules?workspace_id=${space.id}`, { token: space.member.token });
    assert.deepEqual(read.body.rules.map((stored) => stored.rule_key), ["fit_phone", "motivation_probate"]);
    assert.equal(read.body.engagement_half_life_days, 21);

    const reset = await putRules(space.owner, space.id, [], { engagement_half_life_days: null });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.equal(reset.body.source, "built_in");
    assert.equal(reset.body.engagement_half_life_days, null);
    assert.equal(storedRules(space.id).length, 0);
  });

  test("invalid rules are refused naming the rule, and the saved set stays", async () => {
    const space = await workspace();
    assert.equal((await putRules(space.owner, space.id, [PROBATE])).status, 200);
    const cases = [
      [rule("bad_field", "fit", 5, { field: "colour", op: "equals", value: "red" }), "bad_field", /unknown field "colour"/],
      [rule("bad_op", "fit", 5, { field: "status", op: "like", value: "new" }), "bad_op", /unknown operator "like"/],
      [rule("bad_points", "fit", 101, { field: "status", op: "exists" }), "bad_points", /outside -100..100/],
      [rule("bad_shape", "fit", 5, { all: [] }), "bad_shape", /non-empty array/],
      [rule("bad_group", "hype", 5, { field: "status", op: "exists" }), "bad_group", /rule_group/],
    ];
    for (const [bad, name, message] of cases) {
      const response = await putRules(space.owner, space.id, [PROBATE, bad]);
      const error = expectError(assert, response, 400, "invalid_rules");
      assert.equal(error.details.rules[0].rule, name);
      assert.match(error.details.rules[0].message, message);
    }
    assert.deepEqual(storedRules(space.id), [{ rule_key: "motivation_probate", points: 30 }]);
  });

  test("another workspace's rules cannot be replaced (404) or read", async () => {
    const mine = await workspace();
    const theirs = await workspace();
    assert.equal((await putRules(theirs.owner, theirs.id, [PROBATE])).status, 200);
    expectError(assert, await putRules(mine.owner, theirs.id, [PHONE]), 404, "not_found");
    assert.deepEqual(storedRules(theirs.id), [{ rule_key: "motivation_probate", points: 30 }]);
    const wrongMethod = await call("DELETE", `/lead-scoring/rules?workspace_id=${theirs.id}`, { token: mine.owner.token });
    expectError(assert, wrongMethod, 405, "method_not_allowed");
  });
});
