// Lead-scoring rules the engine cannot use never reach the database. The
// database checks every condition written with its own copy of the engine's rules
// (private.lead_scoring_condition_problem, sql/migrations/0022); here the two are held to the
// same verdicts, on the corpus functions/lead-scoring/tests/condition_corpus.json shares with the
// engine's own tests and on random conditions, the engine answering through the real Worker
// (POST /lead-scoring/preview) and reading each condition as Postgres returns it, as the decay job
// does. Then the attack itself: an admin writing a broken rule straight through PostgREST.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { call, env, newUser, rows, sql } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

let restoreRateLimit = () => {};
let user;
before(async () => {
  restoreRateLimit = await liftRateLimit("lead-scoring");
  user = await newUser();
});
after(() => restoreRateLimit());

const CORPUS = JSON.parse(readFileSync(new URL("../../functions/lead-scoring/tests/condition_corpus.json", import.meta.url), "utf8"));

/** A dollar-quoted SQL literal that cannot be closed by the text inside. */
function literal(text) {
  const tag = `q${randomUUID().replaceAll("-", "")}`;
  return `$${tag}$${text}$${tag}$`;
}

/** Each condition (JSON text) as Postgres stores and returns it, with the database's verdict. */
function databaseVerdicts(texts) {
  const values = texts.map((text, index) => `(${index}, ${literal(text)}::jsonb)`).join(",\n");
  return rows(`
    select c::text as stored, private.lead_scoring_condition_problem(c) as problem
    from (values ${values}) as t(position, c) order by position`);
}

/** The engine's verdict on one condition, sent as Postgres returned it: true, false or a string
 * saying what else happened. */
async function engineAccepts(stored) {
  const body = `{"lead": {}, "rules": [{"rule_key": "r", "rule_group": "fit", "points": 1, "condition": ${stored}}]}`;
  const response = await call("POST", "/lead-scoring/preview", {
    token: user.token,
    body,
    headers: { "content-type": "application/json" },
  });
  if (response.status === 200) return true;
  if (response.status === 400) return false;
  return `HTTP ${response.status}: ${JSON.stringify(response.body)}`;
}

async function compare(texts, expected) {
  const verdicts = databaseVerdicts(texts);
  const mismatches = [];
  for (const [index, { stored, problem }] of verdicts.entries()) {
    const database = problem === null;
    const engine = await engineAccepts(stored);
    const want = expected ? expected[index] : engine;
    if (database !== want || engine !== want) {
      mismatches.push({ condition: texts[index].slice(0, 300), database: problem ?? "accepted", engine, expected: want });
    }
  }
  return mismatches;
}

// A small seeded generator, so a failure names a condition that can be replayed.
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (items) => items[Math.floor(next() * items.length)];
  return { next, pick };
}

// Conditions are built as values whose numbers may be raw JSON text ({ raw: "1e-400" }), so the
// forms JSON.stringify would never write reach both judges too.
const raw = (text) => ({ raw: text });
function toJson(value) {
  if (value && typeof value === "object" && "raw" in value) return value.raw;
  if (Array.isArray(value)) return `[${value.map(toJson).join(", ")}]`;
  if (value && typeof value === "object") {
    return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${toJson(item)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

const KINDS = {
  status: ["status"], opt_status: ["opt_status"], tags: ["tags"], text: ["name", "email", "phone", "company", "source"],
  flag: ["email_valid", "phone_valid", "is_deleted"], count: ["notes_count"], instant: ["created_at", "updated_at", "last_contacted_at"],
};
const OPERATORS = {
  status: ["equals", "in", "exists"], opt_status: ["equals", "in", "exists"], tags: ["contains_tag", "exists"],
  text: ["equals", "in", "exists"], flag: ["equals"], count: ["equals", "in", "between"], instant: ["older_than_days", "newer_than_days", "exists"],
};
const TEXTS = ["probate", "Óbidos Büro", "日本", " x ", "Ⅻ", "tired landlord", "a".repeat(300)];
const ODD_VALUES = ["hot", "--", "🙂", "", "…", true, null, raw("-1"), raw("1.5"), raw("2.0"), raw("36501"), raw("4294967296"),
  raw("1e400"), raw("-4.9406564584124654e-324"), [], {}, "7"];

function validLeaf(random) {
  const kind = random.pick(Object.keys(KINDS));
  const field = random.pick(KINDS[kind]);
  const op = random.pick(OPERATORS[kind]);
  const one = () => ({
    status: () => random.pick(["new", "active", "qualified", "unqualified", "closed"]),
    opt_status: () => random.pick(["opted_in", "opted_out", "pending"]),
    tags: () => random.pick(TEXTS),
    text: () => random.pick(TEXTS),
    flag: () => random.next() < 0.5,
    count: () => raw(random.pick(["0", "3", "10", "4294967295"])),
    instant: () => raw(random.pick(["0", "0.5", "30", "36500", "1e-400", "-1e-400", "36500.0000000000001"])),
  })[kind]();
  if (op === "exists") return { field, op };
  if (op === "between") {
    const bounds = random.pick([{ min: raw("1") }, { max: raw("3") }, { min: raw("2"), max: raw("2") }]);
    return { field, op, ...bounds };
  }
  if (op === "in" || (op === "contains_tag" && random.next() < 0.5)) {
    return { field, op, value: Array.from({ length: 1 + Math.floor(random.next() * 3) }, one) };
  }
  return { field, op, value: one() };
}

function validCondition(random, depth = 1) {
  if (depth < 5 && random.next() < 0.3) {
    const combinator = random.pick(["all", "any", "not"]);
    if (combinator === "not") return { not: validCondition(random, depth + 1) };
    return { [combinator]: Array.from({ length: 1 + Math.floor(random.next() * 3) }, () => validCondition(random, depth + 1)) };
  }
  return validLeaf(random);
}

/** Every object in `value` (the condition itself included), so a mutation can pick one. */
function objectsIn(value, found = []) {
  if (Array.isArray(value)) value.forEach((item) => objectsIn(item, found));
  else if (value && typeof value === "object" && !("raw" in value)) {
    found.push(value);
    Object.values(value).forEach((item) => objectsIn(item, found));
  }
  return found;
}

/** One random change that may or may not make the condition invalid. */
function mutate(random, condition) {
  const target = random.pick(objectsIn(condition));
  const change = random.pick(["field", "op", "value", "drop", "extra", "empty", "deep", "junk"]);
  if (change === "field") target.field = random.pick(["pool", "Status", "", "tags", "notes_count"]);
  if (change === "op") target.op = random.pick(["like", "EQUALS", "between", "exists", "in"]);
  if (change === "value") target.value = random.pick(ODD_VALUES);
  if (change === "drop") delete target[random.pick(Object.keys(target))];
  if (change === "extra") target[random.pick(["valeu", "min", "max", "value", "all"])] = raw("1");
  if (change === "empty") target[random.pick(["all", "any"])] = [];
  if (change === "deep") {
    let deep = { field: "status", op: "exists" };
    for (let level = 0; level < 8; level += 1) deep = { not: deep };
    target.not = deep;
  }
  if (change === "junk") return random.pick([raw('"status = new"'), [], raw("null"), {}]);
  return condition;
}

function randomCondition(random) {
  const condition = validCondition(random);
  return toJson(random.next() < 0.5 ? mutate(random, condition) : condition);
}

describe("the database and the engine judge conditions alike", () => {
  test("on every condition of the shared corpus, each gives the corpus's verdict", async () => {
    const mismatches = await compare(CORPUS.map((entry) => entry.condition), CORPUS.map((entry) => entry.valid));
    assert.deepEqual(mismatches, []);
    assert.ok(CORPUS.length > 90);
  });

  test("on 400 random conditions, valid and not, they agree", async () => {
    const random = generator(14_06);
    const texts = Array.from({ length: 400 }, () => randomCondition(random));
    const verdicts = databaseVerdicts(texts);
    const accepted = verdicts.filter((verdict) => verdict.problem === null).length;
    assert.ok(accepted > 120 && accepted < 320, `a useful mix of valid (${accepted}) and invalid conditions`);
    assert.deepEqual(await compare(texts), []);
  });

  test("the built-in rules, saved as a workspace's own, are accepted by the database", async () => {
    const owner = await newUser();
    const workspace = randomUUID();
    sql(`insert into public.user_profiles (id, email) values ('${owner.id}', '${owner.email}');
         insert into public.workspaces (id, name, owner_id) values ('${workspace}', 'Built-ins', '${owner.id}')`);
    const builtIn = await call("GET", `/lead-scoring/rules?workspace_id=${workspace}`, { token: owner.token });
    assert.equal(builtIn.body.source, "built_in");
    const saved = await call("PUT", "/lead-scoring/rules", { token: owner.token, json: { workspace_id: workspace, rules: builtIn.body.rules } });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.source, "workspace");
    assert.equal(saved.body.rules.length, builtIn.body.rules.length);
  });
});

describe("the attack: a broken rule written around the API", () => {
  /** A request straight to PostgREST with `bearer`, as any client holding the token can make. */
  async function postgrest(method, path, bearer, body) {
    const response = await fetch(`${env.postgrestUrl}${path}`, {
      method,
      headers: { apikey: env.anonKey, authorization: `Bearer ${bearer}`, "content-type": "application/json", prefer: "return=representation" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  test("an admin cannot insert or update a rule the engine would refuse, nor a 201st rule", async () => {
    const owner = await newUser();
    const workspace = randomUUID();
    sql(`insert into public.user_profiles (id, email) values ('${owner.id}', '${owner.email}');
         insert into public.workspaces (id, name, owner_id) values ('${workspace}', 'Attacked', '${owner.id}')`);
    const rule = (key, condition) => ({ workspace_id: workspace, rule_key: key, rule_group: "fit", points: 5, condition });

    const broken = await postgrest("POST", "/crm_lead_scoring_rules", owner.token, rule("broken", { field: "pool", op: "exists" }));
    assert.equal(broken.status, 400, JSON.stringify(broken.body));
    const unscorableTag = await postgrest("POST", "/crm_lead_scoring_rules", owner.token,
      rule("emoji", { field: "tags", op: "contains_tag", value: "🙂" }));
    assert.equal(unscorableTag.status, 400, JSON.stringify(unscorableTag.body));

    const fine = await postgrest("POST", "/crm_lead_scoring_rules", owner.token, rule("fine", { field: "company", op: "exists" }));
    assert.equal(fine.status, 201, JSON.stringify(fine.body));
    const breakIt = await postgrest("PATCH", `/crm_lead_scoring_rules?workspace_id=eq.${workspace}&rule_key=eq.fine`, owner.token,
      { condition: { all: [] } });
    assert.equal(breakIt.status, 400, JSON.stringify(breakIt.body));

    const many = Array.from({ length: 200 }, (_, index) => rule(`r${index}`, { field: "status", op: "exists" }));
    const bulk = await postgrest("POST", "/crm_lead_scoring_rules", owner.token, many);
    assert.equal(bulk.status, 400, "199 more on top of one is 201");
    assert.deepEqual(rows(`select rule_key, condition from public.crm_lead_scoring_rules where workspace_id = '${workspace}'`),
      [{ rule_key: "fine", condition: { field: "company", op: "exists" } }], "only the valid rule is stored, unchanged");

    const scored = await call("GET", `/lead-scoring/rules?workspace_id=${workspace}`, { token: owner.token });
    assert.equal(scored.status, 200, "the workspace's rules still compile");
  });
});
