// The OpenAPI document (src/openapi.json) against the running bundle, through the origin:
// - it is what GET /functions/v1/openapi.json serves;
// - its functions are the ones the Worker reports serving (health's detailed `functions`, the
//   router's own list), and its paths and methods are the router's: each documented operation
//   reaches a handler (never the router's 404 or 405), and a method it does not document gets the
//   router's 405 whose `Allow` names exactly the documented methods; paths it does not document
//   get the router's 404;
// - real answers, from a sweep that reaches every operation as the right and the wrong callers,
//   validate against it: documented status, required headers, content type, body schema.
// schemathesis (tools/scripts/api-fuzz.sh) then fuzzes every operation against the same document.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { Webhook } from "svix";
import { Contract, endpointTable, loadDocument, operations, README_MARKERS } from "../contract/contract.mjs";
import { liftRateLimit } from "./lift-limit.mjs";
import { call, env, newUser } from "./lib.mjs";

const document = loadDocument();
const contract = new Contract(document);
const PREFIX = "/functions/v1";
/** The router's own refusals: an unknown path below a function, an unknown function. */
const ROUTER_404 = /has no route|no function named|no route for/;

function functionsOf(paths) {
  return [...new Set(paths.map((path) => path.slice(PREFIX.length + 1).split("/")[0]))].sort();
}

/** A concrete path for a template: path parameters filled with well-formed values (`acme` is a
 * source tests/e2e/vars/webhooks.env configures). */
function concrete(template) {
  return template.replace("{service}", "openai").replace("{id}", randomUUID()).replace("{event}", randomUUID()).replace("{source}", "acme");
}

/** Paths whose resource exists only as configured: the webhooks router answers a method other
 * than POST on `/webhooks/<name>` with its 404, configured source or not. */
const CONFIGURED_RESOURCE = new Set(["/functions/v1/webhooks/{source}"]);

/** Calls `path` (below FUNCTIONS_URL's /functions/v1) the way a client would. */
function send(method, path, options = {}) {
  return call(method, path.slice(PREFIX.length), options);
}

// Sign-up is also limited per client IP (the seed's 10 a minute), and this file calls it often.
let restoreRateLimit = () => {};
before(async () => {
  restoreRateLimit = await liftRateLimit("signup");
});
after(() => restoreRateLimit());

describe("the OpenAPI document and the router", () => {
  test("GET /functions/v1/openapi.json serves src/openapi.json, as JSON", async () => {
    const answer = await send("GET", `${PREFIX}/openapi.json`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get("content-type"), /^application\/json/);
    assert.deepEqual(answer.body, document);
    assert.equal(document.openapi, "3.1.0");
  });

  test("README's endpoint list is the one rendered from the document (node tests/contract/readme.mjs)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const [start, end] = README_MARKERS;
    assert.equal(readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end)).trim(), endpointTable(document));
  });

  test("documents exactly the functions the Worker serves (health's list) and itself", async () => {
    const health = await send("GET", `${PREFIX}/health`, { headers: { apikey: env.secretKey } });
    assert.ok(Array.isArray(health.body.functions), JSON.stringify(health.body));
    assert.deepEqual(functionsOf(Object.keys(document.paths)), [...health.body.functions, "openapi.json"].sort());
  });

  for (const template of Object.keys(document.paths)) {
    const documented = operations(document)
      .filter((operation) => operation.template === template)
      .map((operation) => operation.method);

    test(`${template}: ${documented.join(", ")} reach a handler; any other method gets 405 naming exactly those`, async () => {
      const path = concrete(template);
      for (const method of documented) {
        const answer = await send(method, path);
        assert.notEqual(answer.status, 405, `${method} ${path}: ${JSON.stringify(answer.body)}`);
        assert.ok(!(answer.status === 404 && ROUTER_404.test(answer.body?.error?.message ?? "")), `${method} ${path}: the router has no such route`);
      }
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "QUERY"].filter((method) => !documented.includes(method))) {
        const answer = await send(method, path);
        if (CONFIGURED_RESOURCE.has(template) && answer.status === 404) {
          assert.match(answer.body.error.message, ROUTER_404);
          continue;
        }
        assert.equal(answer.status, 405, `${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        assert.deepEqual(answer.headers.get("allow").split(", ").sort(), [...documented].sort(), `${method} ${path}`);
        assert.equal(answer.body.error.code, "method_not_allowed");
      }
    });
  }

  test("paths the document does not list get the router's 404 in the one error shape", async () => {
    const undocumented = [
      `${PREFIX}/no-such-function`,
      `${PREFIX}/openapi.json/more`,
      `${PREFIX}/health/details`,
      `${PREFIX}/signup/me`,
      `${PREFIX}/api-keys/openai/check/now`,
      `${PREFIX}/lead-scoring`,
      `${PREFIX}/lead-scoring/leads`,
      `${PREFIX}/lead-scoring/rules/${randomUUID()}`,
      `${PREFIX}/webhooks`,
      `${PREFIX}/webhooks/github`,
      `${PREFIX}/rate-limit`,
      `${PREFIX}/cleanup`,
      `${PREFIX}/cleanup/run/now`,
    ];
    for (const path of undocumented) {
      assert.equal(contract.operation("GET", path), undefined, `${path} is documented after all`);
      const answer = await send("GET", path);
      assert.equal(answer.status, 404, `${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, "not_found");
      assert.match(answer.body.error.message, ROUTER_404);
    }
  });
});

describe("real answers against the document", () => {
  const seen = new Map();
  const problems = [];
  let user;
  let stranger;
  let workspaceId;

  /** Sends a request and checks its answer against the document; returns the answer. */
  async function exchange(method, path, options = {}) {
    const answer = await send(method, path, options);
    const operation = contract.operation(method, path);
    assert.ok(operation, `${method} ${path} is not documented`);
    const key = `${method} ${operation.template}`;
    seen.set(key, [...(seen.get(key) ?? []), answer.status]);
    problems.push(...contract.problems(method, path, answer));
    return answer;
  }

  before(async () => {
    user = await newUser({ metadata: { full_name: "Contract Tester" } });
    stranger = await newUser();
  });

  test("signup: no token, created, repeated, read, refused fields, wrong content type, too large", async () => {
    await exchange("POST", `${PREFIX}/signup`);
    await exchange("GET", `${PREFIX}/signup`, { token: stranger.token });
    const created = await exchange("POST", `${PREFIX}/signup`, { token: user.token, json: { workspace_name: "Contract" } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workspaceId = created.body.workspace.id;
    assert.equal((await exchange("POST", `${PREFIX}/signup`, { token: user.token })).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/signup`, { token: user.token })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/signup`, { token: stranger.token, json: { role: "admin" } })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/signup`, { token: stranger.token, body: "{", headers: { "content-type": "application/json" } })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/signup`, { token: stranger.token, body: "x=1", headers: { "content-type": "text/plain" } })).status, 415);
    const huge = JSON.stringify({ full_name: "x".repeat(1024 * 1024) });
    assert.equal((await exchange("POST", `${PREFIX}/signup`, { token: stranger.token, body: huge, headers: { "content-type": "application/json" } })).status, 413);
  });

  test("api-keys: list, store, replace, refuse, check, delete, rotate", async () => {
    await exchange("GET", `${PREFIX}/api-keys`);
    assert.equal((await exchange("GET", `${PREFIX}/api-keys`, { token: user.token })).status, 200);
    const key = { key: `sk-contract-${randomUUID()}` };
    assert.equal((await exchange("PUT", `${PREFIX}/api-keys/openai`, { token: user.token, json: key })).status, 201);
    assert.equal((await exchange("PUT", `${PREFIX}/api-keys/openai`, { token: user.token, json: key })).status, 200);
    assert.equal((await exchange("PUT", `${PREFIX}/api-keys/openai`, { token: stranger.token, json: key })).status, 409);
    assert.equal((await exchange("PUT", `${PREFIX}/api-keys/nosuchservice`, { token: user.token, json: key })).status, 400);
    assert.equal((await exchange("PUT", `${PREFIX}/api-keys/openai`, { token: user.token, json: { key: "short" } })).status, 400);
    await exchange("POST", `${PREFIX}/api-keys/openai/check`, { token: user.token });
    assert.equal((await exchange("POST", `${PREFIX}/api-keys/anthropic/check`, { token: user.token })).status, 404);
    assert.equal((await exchange("DELETE", `${PREFIX}/api-keys/openai`, { token: user.token })).status, 204);
    assert.equal((await exchange("DELETE", `${PREFIX}/api-keys/openai`, { token: user.token })).status, 404);
    assert.equal((await exchange("DELETE", `${PREFIX}/api-keys/Not-A-Name`, { token: user.token })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/api-keys/rotate`)).status, 401);
    assert.equal((await exchange("POST", `${PREFIX}/api-keys/rotate`, { token: user.token })).status, 403);
    assert.equal((await exchange("POST", `${PREFIX}/api-keys/rotate`, { headers: { apikey: env.secretKey }, json: { limit: 5 } })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/api-keys/rotate`, { headers: { apikey: env.secretKey }, json: { limit: 0 } })).status, 400);
  });

  test("personal-keys: create, list, refused with a key, without a profile and to a stranger, revoke", async () => {
    assert.equal((await exchange("GET", `${PREFIX}/personal-keys`)).status, 401);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await exchange("POST", `${PREFIX}/personal-keys`, { token: user.token, json: { name: "contract", expires_at: expiresAt } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await exchange("GET", `${PREFIX}/personal-keys`, { token: user.token })).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/personal-keys`, { token: created.body.key })).status, 403);
    assert.equal((await exchange("POST", `${PREFIX}/personal-keys`, { token: user.token, json: { name: "x", access: "admin" } })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/personal-keys`, { token: user.token, json: { name: "x", owner: "me" } })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/personal-keys`, { token: stranger.token, json: { name: "no profile yet" } })).status, 403);
    assert.equal((await exchange("DELETE", `${PREFIX}/personal-keys/${created.body.id}`, { token: stranger.token })).status, 404);
    assert.equal((await exchange("DELETE", `${PREFIX}/personal-keys/${created.body.id}`, { token: user.token })).status, 200);
    assert.equal((await exchange("DELETE", `${PREFIX}/personal-keys/not-a-key`, { token: user.token })).status, 404);
  });

  test("lead-scoring: preview, rules, batch, one lead, as a member and as a stranger", async () => {
    const lead = { status: "active", tags: ["probate"], phone: "+14155550123", last_contacted_at: new Date().toISOString() };
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/preview`, { token: user.token, json: { lead } })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/preview`, { token: user.token, json: { lead, engagement_half_life_days: 0 } })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/preview`, { token: user.token, json: { lead, workspace_id: workspaceId } })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/preview`, { token: stranger.token, json: { lead, workspace_id: workspaceId } })).status, 404);
    assert.equal((await exchange("GET", `${PREFIX}/lead-scoring/rules?workspace_id=${workspaceId}`, { token: user.token })).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/lead-scoring/rules`, { token: user.token })).status, 400);
    const rule = { rule_key: "fit_phone", rule_group: "fit", points: 10, condition: { field: "phone_valid", op: "equals", value: true } };
    const saved = await exchange("PUT", `${PREFIX}/lead-scoring/rules`, { token: user.token, json: { workspace_id: workspaceId, rules: [rule], engagement_half_life_days: 14 } });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const broken = { ...rule, points: 500 };
    assert.equal((await exchange("PUT", `${PREFIX}/lead-scoring/rules`, { token: user.token, json: { workspace_id: workspaceId, rules: [broken] } })).status, 400);
    assert.equal((await exchange("PUT", `${PREFIX}/lead-scoring/rules`, { token: stranger.token, json: { workspace_id: workspaceId, rules: [] } })).status, 404);
    const batch = await exchange("POST", `${PREFIX}/lead-scoring/batch`, { token: user.token, json: { stale_before: new Date().toISOString(), limit: 10 } });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/batch`, { token: user.token, json: { lead_ids: [randomUUID()] } })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/batch`, { token: user.token, json: {} })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/leads/${randomUUID()}`, { token: user.token })).status, 404);
    assert.equal((await exchange("POST", `${PREFIX}/lead-scoring/leads/not-a-uuid`, { token: user.token })).status, 400);
    await exchange("POST", `${PREFIX}/lead-scoring/leads/${randomUUID()}`);
  });

  test("webhooks: signed deliveries stored, unsigned and forged ones refused", async () => {
    const vars = Object.fromEntries(
      readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
        .split("\n")
        .filter((line) => line && !line.startsWith("#"))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    const event = { id: `evt_contract_${randomUUID().slice(0, 8)}`, object: "event", type: "contract.tested", created: Math.floor(Date.now() / 1000), data: { object: {} } };
    const payload = JSON.stringify(event);
    const signature = new Stripe("sk_test_never_used").webhooks.generateTestHeaderString({ payload, secret: vars.STRIPE_WEBHOOK_SECRETS.split(",")[0] });
    const stored = await exchange("POST", `${PREFIX}/webhooks/stripe`, { body: payload, headers: { "content-type": "application/json", "stripe-signature": signature } });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/stripe`, { body: payload, headers: { "content-type": "application/json", "stripe-signature": signature } })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/stripe`, { body: payload, headers: { "content-type": "application/json" } })).status, 400);
    const message = { type: "email.delivered", created_at: new Date().toISOString(), data: { email_id: randomUUID() } };
    const id = `msg_${randomUUID()}`;
    const timestamp = new Date();
    const resendPayload = JSON.stringify(message);
    const svixSignature = new Webhook(vars.RESEND_WEBHOOK_SECRETS.split(",")[0]).sign(id, timestamp, resendPayload);
    const headers = { "content-type": "application/json", "svix-id": id, "svix-timestamp": String(Math.floor(timestamp / 1000)), "svix-signature": svixSignature };
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/resend`, { body: resendPayload, headers })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/resend`, { body: resendPayload, headers: { ...headers, "svix-signature": "v1,Zm9yZ2Vk" } })).status, 400);
    const sourceId = `msg_${randomUUID()}`;
    const sourcePayload = JSON.stringify({ type: "contract.tested", timestamp: new Date().toISOString(), data: {} });
    const sourceSignature = new Webhook(JSON.parse(vars.WEBHOOK_SOURCES).acme.secrets[0]).sign(sourceId, timestamp, sourcePayload);
    const sourceHeaders = { "content-type": "application/json", "webhook-id": sourceId, "webhook-timestamp": String(Math.floor(timestamp / 1000)), "webhook-signature": sourceSignature };
    // Stored once the source is registered in system_webhook_sources (webhook-sources.test.mjs
    // does that); until then an authentic delivery is a 500, so the sender retries it.
    const fromSource = await exchange("POST", `${PREFIX}/webhooks/acme`, { body: sourcePayload, headers: sourceHeaders });
    assert.ok([200, 500].includes(fromSource.status), JSON.stringify(fromSource.body));
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/no-such-source`, { body: sourcePayload, headers: sourceHeaders })).status, 404);
  });

  test("webhooks, for operators: list, replay, resolve, reconcile, alerts", async () => {
    const operator = { headers: { apikey: env.secretKey } };
    assert.equal((await exchange("GET", `${PREFIX}/webhooks/events`)).status, 401);
    assert.equal((await exchange("GET", `${PREFIX}/webhooks/events?limit=5&provider=stripe`, { token: user.token })).status, 403);
    assert.equal((await exchange("GET", `${PREFIX}/webhooks/events?limit=5&provider=stripe`, operator)).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/webhooks/events?limit=0`, operator)).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/events/replay`, { ...operator, json: { event: randomUUID() } })).status, 200);
    await exchange("POST", `${PREFIX}/webhooks/events/${randomUUID()}/replay`, operator);
    await exchange("POST", `${PREFIX}/webhooks/events/${randomUUID()}/resolve`, { ...operator, json: { reason: "contract test" } });
    assert.equal((await exchange("POST", `${PREFIX}/webhooks/events/not-a-uuid/resolve`, { ...operator, json: { reason: "x" } })).status, 400);
    await exchange("POST", `${PREFIX}/webhooks/reconcile/stripe`, operator);
    await exchange("POST", `${PREFIX}/webhooks/alerts/run`, operator);
  });

  test("rate-limit, cleanup, health and the document itself", async () => {
    assert.equal((await exchange("GET", `${PREFIX}/rate-limit/status`)).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/rate-limit/status`, { token: user.token })).status, 200);
    const check = { key: `contract:${randomUUID()}`, endpoint: "contract-test", cost: 1 };
    assert.equal((await exchange("POST", `${PREFIX}/rate-limit/check`, { json: check })).status, 401);
    assert.equal((await exchange("POST", `${PREFIX}/rate-limit/check`, { token: user.token, json: check })).status, 403);
    assert.equal((await exchange("POST", `${PREFIX}/rate-limit/check`, { headers: { apikey: env.secretKey }, json: check })).status, 200);
    assert.equal((await exchange("POST", `${PREFIX}/rate-limit/check`, { headers: { apikey: env.secretKey }, json: { ...check, cost: -1 } })).status, 400);
    assert.equal((await exchange("POST", `${PREFIX}/cleanup/run`)).status, 401);
    const run = await exchange("POST", `${PREFIX}/cleanup/run`, { headers: { apikey: env.secretKey }, json: { jobs: ["rate_limit_counters"], budget_ms: 5000 } });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal((await exchange("POST", `${PREFIX}/cleanup/run`, { headers: { apikey: env.secretKey }, json: { jobs: ["vacuum"] } })).status, 400);
    assert.equal((await exchange("GET", `${PREFIX}/health`)).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/health`, { headers: { apikey: env.secretKey } })).status, 200);
    assert.equal((await exchange("GET", `${PREFIX}/openapi.json`)).status, 200);
  });

  test("every operation was reached, and every answer is what the document says", () => {
    const missing = operations(document)
      .map((operation) => `${operation.method} ${operation.template}`)
      .filter((key) => !seen.has(key));
    assert.deepEqual(missing, [], "every operation is reached by the sweep");
    assert.deepEqual(problems, [], "every answer is what the document says");
  });
});
