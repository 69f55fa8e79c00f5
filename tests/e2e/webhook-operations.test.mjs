// End-to-end tests of the webhook operator's endpoints (GET /functions/v1/webhooks/events,
// POST .../events/replay, .../events/<id>/replay, .../events/<id>/resolve): real Stripe
// deliveries that fail until their cause is fixed, replayed once and again, fifty replayed by a
// filter, one resolved by hand, every action in the audit, and user tokens refused.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, env, expectError, newUser, rows } from "./lib.mjs";
import { checkoutCompleted, customerToBe, deliverStripe, invoice, stripeEvent, subscription, unique } from "./webhook-stripe.mjs";

const asOperator = { apikey: env.secretKey };
const operator = (method, path, json) => call(method, `/webhooks${path}`, { headers: asOperator, json });

async function delivered(event, status) {
  const response = await deliverStripe(event);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.status, status, JSON.stringify(response.body));
  return response.body.event;
}

const auditOf = (eventId) =>
  rows(`select action, credential, fingerprint, reason, outcome from system_webhook_operator_actions
        where '${eventId}' = any(events) order by created_at`);

describe("webhook operator API", () => {
  test("operator endpoints refuse user tokens and missing or wrong credentials", async () => {
    const user = await newUser();
    const id = "00000000-0000-4000-8000-000000000000";
    const attempts = [
      ["GET", "/events", undefined],
      ["POST", "/events/replay", { status: "failed" }],
      ["POST", `/events/${id}/replay`, undefined],
      ["POST", `/events/${id}/resolve`, { reason: "mine now" }],
    ];
    for (const [method, path, json] of attempts) {
      const asUser = await call(method, `/webhooks${path}`, { token: user.token, headers: { apikey: env.anonKey }, json });
      expectError(assert, asUser, 403);
      const anonymous = await call(method, `/webhooks${path}`, { headers: { apikey: env.anonKey }, json });
      assert.equal(anonymous.status, 401, `${method} ${path} without a credential: ${JSON.stringify(anonymous.body)}`);
      const wrong = await call(method, `/webhooks${path}`, { headers: { apikey: `${env.secretKey}0` }, json });
      expectError(assert, wrong, 401);
    }
    const refused = rows(`select count(*)::int as n from security_event_logs
                          where event_type = 'privileged.refused'
                            and coalesce(user_id::text, details ->> 'user_id') = '${user.id}'`);
    assert.equal(refused[0].n, 4, "each refusal of the user's token is a security event the user can see");
  });

  test("an event fails until its cause is fixed, then a replay applies it once and a second changes nothing", async () => {
    const user = await customerToBe();
    const customer = `cus_${unique()}`;
    const sub = subscription({ customer });
    const event = await delivered(stripeEvent("customer.subscription.created", sub), "failed");

    const listed = await operator("GET", `/events?provider=stripe&status=failed&type=customer.subscription.created&limit=500`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const mine = listed.body.events.find((row) => row.id === event);
    assert.ok(mine, "the failed event is listed");
    assert.equal(mine.attempts, 1);
    assert.match(mine.last_error, /no user is linked/);
    assert.equal(mine.payload, undefined, "no payload unless asked for");
    const withPayload = await operator("GET", `/events?event=${event}&payload=true`);
    assert.equal(withPayload.body.events[0].payload.data.object.id, sub.id);

    const tooEarly = await operator("POST", `/events/${event}/replay`);
    assert.equal(tooEarly.status, 200, JSON.stringify(tooEarly.body));
    assert.deepEqual([tooEarly.body.replayed, tooEarly.body.failed], [1, 1], "still failing while the customer is unknown");

    await delivered(checkoutCompleted({ customer, user }), "processed");
    const replayed = await operator("POST", `/events/${event}/replay`);
    assert.deepEqual([replayed.body.replayed, replayed.body.processed], [1, 1], JSON.stringify(replayed.body));
    const applied = rows(`select to_jsonb(s) as row from user_subscriptions s where stripe_subscription_id = '${sub.id}'`);
    assert.equal(applied.length, 1);
    assert.equal(applied[0].row.user_id, user.id);
    assert.deepEqual(rows(`select plan_name from user_plans where user_id = '${user.id}'`), [{ plan_name: "pro" }]);

    const again = await operator("POST", `/events/${event}/replay`);
    assert.deepEqual([again.body.replayed, again.body.skipped, again.body.events[0].reason], [0, 1, "not_replayable"]);
    assert.deepEqual(rows(`select to_jsonb(s) as row from user_subscriptions s where stripe_subscription_id = '${sub.id}'`), applied,
      "the second replay changed nothing");
    assert.deepEqual(rows(`select status::text, attempts from system_webhook_events where id = '${event}'`), [{ status: "processed", attempts: 3 }]);

    const audit = auditOf(event);
    assert.deepEqual(audit.map((row) => row.action), ["replay", "replay", "replay"]);
    for (const row of audit) {
      assert.equal(row.credential, "secret_key");
      assert.match(row.fingerprint, /^[0-9a-f]{12}$/);
      assert.ok(!JSON.stringify(row).includes(env.secretKey), "the audit never holds the credential");
      assert.ok(!JSON.stringify(row).includes(customer), "the audit holds nothing from the payload");
    }
  });

  test("a filter replays 50 failed events once their cause is fixed", async () => {
    const user = await customerToBe();
    const customer = `cus_${unique()}`;
    const since = rows("select now() as t")[0].t;
    for (let i = 0; i < 50; i += 1) {
      await delivered(stripeEvent("invoice.paid", invoice({ customer, amount: 100 + i })), "failed");
    }
    await delivered(checkoutCompleted({ customer, user }), "processed");
    const filter = { provider: "stripe", status: "failed", type: "invoice.paid", since, limit: 500 };
    const replayed = await operator("POST", "/events/replay", filter);
    assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
    assert.deepEqual([replayed.body.matched, replayed.body.replayed, replayed.body.processed, replayed.body.failed], [50, 50, 50, 0]);
    const billed = rows(`select count(*)::int as n, sum(amount_cents)::int as total from billing_subscription_events where stripe_customer_id = '${customer}'`);
    assert.deepEqual(billed, [{ n: 50, total: 50 * 100 + (49 * 50) / 2 }]);
    const again = await operator("POST", "/events/replay", filter);
    assert.deepEqual([again.body.matched, again.body.replayed], [0, 0], "nothing failed is left to replay");

    const badFilter = await operator("POST", "/events/replay", { status: "broken" });
    assert.equal(expectError(assert, badFilter, 400, "invalid_field").details.field, "status");
    const unknownKey = await operator("POST", "/events/replay", { state: "failed" });
    expectError(assert, unknownKey, 400);
  });

  test("an operator resolves a failed event by hand, with a reason, and it is never retried", async () => {
    const event = await delivered(stripeEvent("customer.subscription.created", subscription({ customer: `cus_${unique()}` })), "failed");
    const noReason = await operator("POST", `/events/${event}/resolve`, { reason: " " });
    assert.equal(expectError(assert, noReason, 400, "invalid_field").details.field, "reason");
    const resolved = await operator("POST", `/events/${event}/resolve`, { reason: "test customer deleted in Stripe" });
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    assert.equal(resolved.body.status, "resolved");
    const listed = await operator("GET", `/events?event=${event}`);
    assert.deepEqual(
      [listed.body.events[0].status, listed.body.events[0].resolution],
      ["resolved", "test customer deleted in Stripe"],
    );
    assert.deepEqual(rows(`select next_attempt_at from system_webhook_events where id = '${event}'`), [{ next_attempt_at: null }]);
    const twice = await operator("POST", `/events/${event}/resolve`, { reason: "again" });
    expectError(assert, twice, 400);
    const audit = auditOf(event).filter((row) => row.action === "resolve");
    assert.deepEqual(audit.map((row) => [row.reason, row.outcome.previous_status]), [["test customer deleted in Stripe", "failed"]]);
  });
});
