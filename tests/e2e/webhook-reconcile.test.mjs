// End-to-end tests of the Stripe reconcile job (POST /functions/v1/webhooks/reconcile/stripe):
// the Worker pulls the events Stripe could not deliver from a local fake of GET /v1/events
// (webhook-fake-stripe.mjs, at STRIPE_API_BASE_URL from tests/e2e/vars/webhooks.env) and feeds
// them through the intake; one of them had reached us after all and must not apply twice.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { call, env, expectError, newUser, rows } from "./lib.mjs";
import { startFakeStripe } from "./webhook-fake-stripe.mjs";
import { checkoutCompleted, customerToBe, deliverStripe, invoice, now, stripeEvent, unique } from "./webhook-stripe.mjs";

const vars = Object.fromEntries(
  readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const fake = startFakeStripe({ port: Number(new URL(vars.STRIPE_API_BASE_URL).port), apiKey: vars.STRIPE_RECONCILE_API_KEY, pageSize: 2 });
before(() => fake.listening);
after(() => fake.close());

const reconcile = (headers = { apikey: env.secretKey }) => call("POST", "/webhooks/reconcile/stripe", { headers });
const billed = (customer) =>
  rows(`select stripe_event_id from billing_subscription_events where stripe_customer_id = '${customer}' order by stripe_event_id`)
    .map((row) => row.stripe_event_id);

describe("Stripe reconcile", () => {
  test("pulls the three events Stripe could not deliver, page by page, and applies each once", async () => {
    const user = await customerToBe();
    const customer = `cus_${unique()}`;
    const link = checkoutCompleted({ customer, user });
    assert.equal((await deliverStripe(link)).body.status, "processed");
    fake.add(link, { delivered: true });

    const missed = [0, 1, 2].map((i) => stripeEvent("invoice.paid", invoice({ customer, amount: 1_000 + i }), now() - 60 + i));
    // The first of them did reach us after all (Stripe recorded a failed attempt before it).
    assert.equal((await deliverStripe(missed[0])).body.status, "processed");
    for (const event of missed) fake.add(event, { delivered: false });

    const first = await reconcile();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(
      [first.body.pulled, first.body.stored, first.body.duplicates, first.body.failed, first.body.error],
      [3, 2, 1, 0, null],
      JSON.stringify(first.body),
    );
    assert.equal(first.body.pages, 2, "three events at two a page");
    assert.deepEqual(billed(customer), missed.map((event) => event.id).sort(), "each missed invoice is recorded once");

    const asked = fake.requests.filter((request) => request.path === "/v1/events");
    assert.equal(asked[0].authorization, `Bearer ${vars.STRIPE_RECONCILE_API_KEY}`);
    assert.equal(asked[0].query.delivery_success, "false");
    assert.ok(Number(asked[0].query["created[gte]"]) <= now() - 29 * 86_400, "the first run looks back Stripe's 30 days");
    assert.equal(asked[1].query.starting_after, missed[1].id, "the second page starts after the first page's last event");

    const second = await reconcile();
    assert.deepEqual([second.body.pulled, second.body.stored, second.body.duplicates], [3, 0, 3], JSON.stringify(second.body));
    const window = Number(fake.requests.at(-1).query["created[gte]"]);
    assert.ok(window > now() - 2 * 3600, "the next run starts an hour before the last one");
    assert.deepEqual(billed(customer), missed.map((event) => event.id).sort(), "a second run changes nothing");

    const runs = rows(`select run_trigger, counts, error from system_webhook_reconcile_runs where id in ('${first.body.run}', '${second.body.run}') order by started_at`);
    assert.deepEqual(runs.map((run) => [run.run_trigger, run.counts.stored, run.error]), [["request", 2, null], ["request", 0, null]]);
    const audit = rows(`select credential from system_webhook_operator_actions where action = 'reconcile' and outcome ->> 'run' = '${first.body.run}'`);
    assert.deepEqual(audit, [{ credential: "secret_key" }]);
  });

  test("a Stripe outage stops the run with a 502, recorded, and the window is kept for the next run", async () => {
    fake.failWith = 500;
    try {
      const response = await reconcile();
      const error = expectError(assert, response, 502, "reconcile_incomplete");
      assert.match(error.message, /answered 500/);
      const run = rows(`select error, finished_at is not null as finished from system_webhook_reconcile_runs where id = '${error.details.run}'`);
      assert.equal(run[0].finished, true);
      assert.match(run[0].error, /answered 500/);
    } finally {
      fake.failWith = null;
    }
  });

  test("a user's token may not run it", async () => {
    const user = await newUser();
    expectError(assert, await reconcile({ apikey: env.anonKey, authorization: `Bearer ${user.token}` }), 403);
    expectError(assert, await reconcile({ apikey: env.anonKey }), 401);
  });
});
