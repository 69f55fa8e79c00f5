// End-to-end tests of POST /functions/v1/webhooks/{stripe,resend}: deliveries signed at test
// time by the official `stripe` and `svix` libraries, sent over HTTP to the Worker in wrangler
// dev, with their effects checked in Postgres. The signing secrets are the ones
// tests/e2e/vars/webhooks.env gives the Worker.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { Webhook } from "svix";
import { call, expectError, newUser, rows, sql } from "./lib.mjs";

const vars = Object.fromEntries(
  readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const [stripeSecret, stripePreviousSecret] = vars.STRIPE_WEBHOOK_SECRETS.split(",");
const [resendSecret, resendPreviousSecret] = vars.RESEND_WEBHOOK_SECRETS.split(",");
const stripe = new Stripe("sk_test_e2e_never_used_for_requests");

const now = () => Math.floor(Date.now() / 1000);
const unique = () => randomUUID().replaceAll("-", "").slice(0, 20);

// ---- delivering ---------------------------------------------------------------------------

/** A Stripe delivery as Stripe would send it: the raw JSON and its Stripe-Signature. */
function signStripe(event, { secret = stripeSecret, timestamp = now() } = {}) {
  const payload = JSON.stringify(event);
  return { payload, signature: stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }) };
}

function sendStripe({ payload, signature }, headers = {}) {
  const signatureHeader = signature === undefined ? {} : { "stripe-signature": signature };
  return call("POST", "/webhooks/stripe", {
    body: payload,
    headers: { "content-type": "application/json; charset=utf-8", ...signatureHeader, ...headers },
  });
}

const deliverStripe = (event, options) => sendStripe(signStripe(event, options));

function signResend(event, { id = `msg_${unique()}`, secret = resendSecret, timestamp = now() } = {}) {
  const payload = JSON.stringify(event);
  const signature = new Webhook(secret).sign(id, new Date(timestamp * 1000), payload);
  return { payload, headers: { "svix-id": id, "svix-timestamp": String(timestamp), "svix-signature": signature } };
}

function sendResend({ payload, headers }) {
  return call("POST", "/webhooks/resend", { body: payload, headers: { "content-type": "application/json", ...headers } });
}

const deliverResend = (event, options) => sendResend(signResend(event, options));

function expectStored(response, status) {
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.received, true);
  assert.equal(response.body.status, status, JSON.stringify(response.body));
  assert.match(response.body.event, /^[0-9a-f-]{36}$/);
}

// ---- building events ----------------------------------------------------------------------

function stripeEvent(type, object, created = now()) {
  return {
    id: `evt_e2e_${unique()}`,
    object: "event",
    api_version: "2024-06-20",
    created,
    livemode: false,
    pending_webhooks: 1,
    type,
    data: { object },
  };
}

function subscription({ id, customer, status = "active", plan = "pro", cancelAtPeriodEnd = false, start = now() }) {
  return {
    id,
    object: "subscription",
    customer,
    status,
    cancel_at_period_end: cancelAtPeriodEnd,
    canceled_at: null,
    current_period_start: start,
    current_period_end: start + 30 * 86_400,
    metadata: {},
    items: { object: "list", data: [{ id: `si_${unique()}`, price: { id: `price_${plan}`, lookup_key: plan } }] },
  };
}

function invoice({ customer, subscriptionId, amount = 2_900 }) {
  return {
    id: `in_${unique()}`,
    object: "invoice",
    customer,
    subscription: subscriptionId,
    amount_paid: amount,
    amount_due: amount,
    currency: "eur",
    status: "paid",
    billing_reason: "subscription_cycle",
  };
}

function resendEvent(type, data, createdAt = new Date()) {
  return { type, created_at: createdAt.toISOString(), data };
}

// ---- people -------------------------------------------------------------------------------

/** A user with a profile and marketing mail switched on, as after signup with opt-in. */
async function subscriber() {
  const user = await newUser();
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  sql(`insert into public.user_email_preferences (user_id, marketing_emails) values ('${user.id}', true)`);
  return user;
}

/**
 * A completed Checkout Session. `user_id` goes where the app's server puts it when it creates
 * the session (metadata); `client_reference_id` is what anyone can add to a Payment Link URL.
 */
function checkoutSession({ customer, userId, clientReferenceId, email }) {
  return {
    id: `cs_test_${unique()}`,
    object: "checkout.session",
    customer,
    ...(clientReferenceId ? { client_reference_id: clientReferenceId } : {}),
    customer_details: { email: email ?? null },
    metadata: userId ? { user_id: userId } : {},
  };
}

/** A subscriber whose Stripe customer is linked, as after a completed checkout. */
async function payingCustomer() {
  const user = await subscriber();
  const customer = `cus_${unique()}`;
  const checkout = stripeEvent("checkout.session.completed", checkoutSession({ customer, userId: user.id, email: user.email }));
  expectStored(await deliverStripe(checkout), "processed");
  return { user, customer };
}

const inbox = (provider, eventId) =>
  rows(`select status, attempts, last_error, next_attempt_at from public.system_webhook_events
        where provider = '${provider}' and event_id = '${eventId}'`);

// ---- Stripe effects -----------------------------------------------------------------------

describe("Stripe deliveries", () => {
  test("a completed checkout links the Stripe customer to the user", async () => {
    const { user, customer } = await payingCustomer();
    const linked = rows(`select user_id, email from public.billing_stripe_customers where stripe_customer_id = '${customer}'`);
    assert.deepEqual(linked, [{ user_id: user.id, email: user.email }]);
  });

  test("a subscription's life sets the subscription and the user's plan", async () => {
    const { user, customer } = await payingCustomer();
    const id = `sub_${unique()}`;
    const t = now();
    const plan = () =>
      rows(`select plan_name, status, cancel_at_period_end from public.user_plans where user_id = '${user.id}'`)[0];

    expectStored(await deliverStripe(stripeEvent("customer.subscription.created", subscription({ id, customer }), t)), "processed");
    assert.deepEqual(plan(), { plan_name: "pro", status: "active", cancel_at_period_end: false });
    const stored = rows(`select user_id, status, plan_name, stripe_price_id from public.user_subscriptions where stripe_subscription_id = '${id}'`);
    assert.deepEqual(stored, [{ user_id: user.id, status: "active", plan_name: "pro", stripe_price_id: "price_pro" }]);

    const cancelling = subscription({ id, customer, cancelAtPeriodEnd: true });
    expectStored(await deliverStripe(stripeEvent("customer.subscription.updated", cancelling, t + 10)), "processed");
    assert.deepEqual(plan(), { plan_name: "pro", status: "active", cancel_at_period_end: true });

    const ended = subscription({ id, customer, status: "canceled", cancelAtPeriodEnd: true });
    expectStored(await deliverStripe(stripeEvent("customer.subscription.deleted", ended, t + 20)), "processed");
    assert.deepEqual(plan(), { plan_name: "free", status: "canceled", cancel_at_period_end: true });
  });

  test("an update older than the one applied is recorded but changes nothing", async () => {
    const { customer } = await payingCustomer();
    const id = `sub_${unique()}`;
    const t = now();
    const newer = stripeEvent("customer.subscription.updated", subscription({ id, customer, status: "past_due" }), t);
    const older = stripeEvent("customer.subscription.updated", subscription({ id, customer, status: "active" }), t - 60);

    expectStored(await deliverStripe(newer), "processed");
    const late = await deliverStripe(older);
    expectStored(late, "ignored");
    assert.equal(inbox("stripe", older.id)[0].status, "ignored");
    const status = rows(`select status from public.user_subscriptions where stripe_subscription_id = '${id}'`);
    assert.deepEqual(status, [{ status: "past_due" }]);
  });

  test("paid and failed invoices are recorded as billing events", async () => {
    const { user, customer } = await payingCustomer();
    const subscriptionId = `sub_${unique()}`;
    const paid = invoice({ customer, subscriptionId, amount: 2_900 });
    const failed = { ...invoice({ customer, subscriptionId, amount: 4_900 }), status: "open" };
    expectStored(await deliverStripe(stripeEvent("invoice.paid", paid)), "processed");
    expectStored(await deliverStripe(stripeEvent("invoice.payment_failed", failed)), "processed");
    const recorded = rows(`select event_type, amount_cents, stripe_invoice_id, stripe_subscription_id
                           from public.billing_subscription_events where user_id = '${user.id}' order by amount_cents`);
    assert.deepEqual(recorded, [
      { event_type: "invoice.paid", amount_cents: 2900, stripe_invoice_id: paid.id, stripe_subscription_id: subscriptionId },
      { event_type: "invoice.payment_failed", amount_cents: 4900, stripe_invoice_id: failed.id, stripe_subscription_id: subscriptionId },
    ]);
  });

  test("a delivery signed with the previous secret is accepted during rotation", async () => {
    const event = stripeEvent("customer.created", { id: `cus_${unique()}`, object: "customer" });
    expectStored(await deliverStripe(event, { secret: stripePreviousSecret }), "ignored");
  });

  test("an unknown event type is stored as ignored", async () => {
    const event = stripeEvent("charge.refunded", { id: `ch_${unique()}`, object: "charge" });
    expectStored(await deliverStripe(event), "ignored");
    assert.equal(inbox("stripe", event.id)[0].status, "ignored");
  });

  test("an event that cannot be applied yet is kept as failed for retry and still acknowledged", async () => {
    const event = stripeEvent("customer.subscription.created", subscription({ id: `sub_${unique()}`, customer: `cus_${unique()}` }));
    expectStored(await deliverStripe(event), "failed");
    const [stored] = inbox("stripe", event.id);
    assert.equal(stored.status, "failed");
    assert.equal(stored.attempts, 1);
    assert.match(stored.last_error, /no user is linked to Stripe customer/);
    assert.ok(stored.next_attempt_at, "a failed event has a next attempt time");
  });
});

// ---- duplicates ---------------------------------------------------------------------------

// ---- billing links ---------------------------------------------------------------------------

describe("A checkout cannot move someone else's billing", () => {
  const link = (user) => rows(`select stripe_customer_id from public.billing_stripe_customers where user_id = '${user.id}'`);
  const plan = (user) => rows(`select plan_name, status from public.user_plans where user_id = '${user.id}'`)[0];
  const relinkAttempts = (user) =>
    rows(`select details ->> 'reason' as reason, details ->> 'provider_event_id' as event_id from public.security_event_logs
          where user_id = '${user.id}' and event_type = 'billing.customer_relink_refused' order by created_at`);

  /** Stored failed for good: Stripe got its 2xx, the reason is kept, no retry is planned. */
  function refusedForGood(response, event, reason) {
    expectStored(response, "failed");
    const [stored] = inbox("stripe", event.id);
    assert.equal(stored.next_attempt_at, null, "a refusal is not retried");
    assert.match(stored.last_error, new RegExp(`^refused \\(${reason}\\)`));
  }

  test("a Payment Link buyer naming someone in client_reference_id links nothing to them", async () => {
    const { user: victim, customer } = await payingCustomer();
    const attack = stripeEvent("checkout.session.completed", checkoutSession({ customer: `cus_${unique()}`, clientReferenceId: victim.id }));
    refusedForGood(await deliverStripe(attack), attack, "no_trusted_user");
    assert.deepEqual(link(victim), [{ stripe_customer_id: customer }], "the victim keeps their own customer");
    assert.deepEqual(relinkAttempts(victim), [{ reason: "no_trusted_user", event_id: attack.id }], "the victim can see the attempt");
  });

  test("a user's link is never replaced, so a stranger's subscription cannot take over or end their plan", async () => {
    const { user: victim, customer } = await payingCustomer();
    expectStored(await deliverStripe(stripeEvent("customer.subscription.created", subscription({ id: `sub_${unique()}`, customer }))), "processed");
    assert.deepEqual(plan(victim), { plan_name: "pro", status: "active" });

    const strangersCustomer = `cus_${unique()}`;
    const relink = stripeEvent("checkout.session.completed", checkoutSession({ customer: strangersCustomer, userId: victim.id }));
    refusedForGood(await deliverStripe(relink), relink, "customer_link_conflict");
    assert.deepEqual(link(victim), [{ stripe_customer_id: customer }]);

    const ended = subscription({ id: `sub_${unique()}`, customer: strangersCustomer, status: "canceled" });
    expectStored(await deliverStripe(stripeEvent("customer.subscription.deleted", ended)), "failed");
    assert.deepEqual(plan(victim), { plan_name: "pro", status: "active" }, "the stranger's cancellation did not reach the victim");

    const thief = await subscriber();
    const takeover = stripeEvent("checkout.session.completed", checkoutSession({ customer, userId: thief.id }));
    refusedForGood(await deliverStripe(takeover), takeover, "customer_linked_to_another_user");
    assert.deepEqual(link(victim), [{ stripe_customer_id: customer }]);
    assert.deepEqual(link(thief), []);
    assert.deepEqual(relinkAttempts(victim).map((attempt) => attempt.reason), ["customer_link_conflict", "customer_linked_to_another_user"]);
  });

  test("the same customer checking out again still refreshes its link", async () => {
    const { user, customer } = await payingCustomer();
    const again = stripeEvent("checkout.session.completed", checkoutSession({ customer, userId: user.id, email: `new-${user.email}` }));
    expectStored(await deliverStripe(again), "processed");
    assert.deepEqual(rows(`select email from public.billing_stripe_customers where user_id = '${user.id}'`), [{ email: `new-${user.email}` }]);
    assert.deepEqual(relinkAttempts(user), []);
  });
});

describe("Duplicate deliveries", () => {
  test("the same delivery twice is acknowledged twice and applied once", async () => {
    const { user, customer } = await payingCustomer();
    const event = stripeEvent("invoice.paid", invoice({ customer, subscriptionId: `sub_${unique()}` }));
    const delivery = signStripe(event);
    expectStored(await sendStripe(delivery), "processed");
    expectStored(await sendStripe(delivery), "duplicate");
    assert.equal(inbox("stripe", event.id).length, 1);
    assert.equal(rows(`select 1 from public.billing_subscription_events where user_id = '${user.id}'`).length, 1);
  });

  test("20 concurrent deliveries of one event have exactly one effect", async () => {
    const { user, customer } = await payingCustomer();
    const event = stripeEvent("invoice.paid", invoice({ customer, subscriptionId: `sub_${unique()}` }));
    const delivery = signStripe(event);
    const responses = await Promise.all(Array.from({ length: 20 }, () => sendStripe(delivery)));
    for (const response of responses) assert.equal(response.status, 200, JSON.stringify(response.body));
    const statuses = responses.map((response) => response.body.status).sort();
    assert.deepEqual(statuses, [...Array(19).fill("duplicate"), "processed"]);
    assert.equal(new Set(responses.map((response) => response.body.event)).size, 1, "every answer names the same stored event");
    assert.equal(inbox("stripe", event.id).length, 1);
    assert.equal(rows(`select 1 from public.billing_subscription_events where user_id = '${user.id}'`).length, 1);
  });

  test("the same Resend message id is applied once", async () => {
    const user = await subscriber();
    const delivery = signResend(resendEvent("email.sent", { email_id: randomUUID(), to: [user.email], subject: "Hi" }));
    expectStored(await sendResend(delivery), "processed");
    expectStored(await sendResend(delivery), "duplicate");
    assert.equal(inbox("resend", delivery.headers["svix-id"]).length, 1);
  });
});

// ---- Resend effects -----------------------------------------------------------------------

describe("Resend deliveries", () => {
  test("delivery events move an email's status forward", async () => {
    const user = await subscriber();
    const emailId = randomUUID();
    const sentAt = new Date(Date.now() - 60_000);
    const data = { email_id: emailId, from: "hello@example.test", to: [user.email], subject: "Welcome" };
    expectStored(await deliverResend(resendEvent("email.sent", data, sentAt)), "processed");
    expectStored(await deliverResend(resendEvent("email.delivered", data, new Date(sentAt.getTime() + 2_000))), "processed");
    expectStored(await deliverResend(resendEvent("email.opened", data, new Date(sentAt.getTime() + 30_000))), "processed");
    const [log] = rows(`select user_id, status, to_email, sent_at is not null as sent, delivered_at is not null as delivered,
                               opened_at is not null as opened
                        from public.comms_email_logs where provider_message_id = '${emailId}'`);
    assert.deepEqual(log, { user_id: user.id, status: "opened", to_email: user.email, sent: true, delivered: true, opened: true });
  });

  test("an older delivery event does not move the status back", async () => {
    const user = await subscriber();
    const emailId = randomUUID();
    const data = { email_id: emailId, to: [user.email], subject: "Receipt" };
    const t = Date.now();
    expectStored(await deliverResend(resendEvent("email.delivered", data, new Date(t))), "processed");
    expectStored(await deliverResend(resendEvent("email.sent", data, new Date(t - 5_000))), "ignored");
    assert.deepEqual(rows(`select status from public.comms_email_logs where provider_message_id = '${emailId}'`), [{ status: "delivered" }]);
  });

  test("a hard bounce turns marketing mail off", async () => {
    const user = await subscriber();
    const data = { email_id: randomUUID(), to: [user.email], subject: "News", bounce: { type: "Permanent", subType: "General" } };
    expectStored(await deliverResend(resendEvent("email.bounced", data)), "processed");
    const [preferences] = rows(`select marketing_emails, suppressed_reason from public.user_email_preferences where user_id = '${user.id}'`);
    assert.deepEqual(preferences, { marketing_emails: false, suppressed_reason: "hard_bounce" });
  });

  test("a complaint turns marketing mail off", async () => {
    const user = await subscriber();
    const data = { email_id: randomUUID(), to: [user.email], subject: "News" };
    expectStored(await deliverResend(resendEvent("email.complained", data)), "processed");
    const [preferences] = rows(`select marketing_emails, suppressed_reason from public.user_email_preferences where user_id = '${user.id}'`);
    assert.deepEqual(preferences, { marketing_emails: false, suppressed_reason: "complaint" });
  });

  test("a soft bounce leaves marketing mail on", async () => {
    const user = await subscriber();
    const data = { email_id: randomUUID(), to: [user.email], bounce: { type: "Transient" } };
    expectStored(await deliverResend(resendEvent("email.bounced", data)), "processed");
    const [preferences] = rows(`select marketing_emails from public.user_email_preferences where user_id = '${user.id}'`);
    assert.equal(preferences.marketing_emails, true);
  });

  test("webhook-* header names and the previous secret are accepted", async () => {
    const user = await subscriber();
    const { payload, headers } = signResend(resendEvent("email.sent", { email_id: randomUUID(), to: [user.email] }), {
      secret: resendPreviousSecret,
    });
    const renamed = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.replace("svix-", "webhook-"), value]));
    expectStored(await sendResend({ payload, headers: renamed }), "processed");
  });
});

// ---- refusals -----------------------------------------------------------------------------

describe("Refused deliveries store nothing", () => {
  const nothingStored = (provider, eventId) => assert.equal(inbox(provider, eventId).length, 0, "nothing may be stored");

  test("a replayed delivery with an old timestamp is refused", async () => {
    const event = stripeEvent("invoice.paid", invoice({ customer: `cus_${unique()}`, subscriptionId: null }));
    const error = expectError(assert, await deliverStripe(event, { timestamp: now() - 3_600 }), 400, "timestamp_outside_tolerance");
    assert.match(error.message, /in the past, outside the tolerance of 300 s/);
    nothingStored("stripe", event.id);

    const id = `msg_${unique()}`;
    const resend = await deliverResend(resendEvent("email.sent", { email_id: randomUUID() }), { id, timestamp: now() - 600 });
    expectError(assert, resend, 400, "timestamp_outside_tolerance");
    nothingStored("resend", id);
  });

  test("a body changed by one byte is refused", async () => {
    const event = stripeEvent("charge.refunded", { id: `ch_${unique()}`, amount: 1000 });
    const delivery = signStripe(event);
    const tampered = delivery.payload.replace('"amount":1000', '"amount":9000');
    expectError(assert, await sendStripe({ ...delivery, payload: tampered }), 400, "invalid_signature");
    nothingStored("stripe", event.id);
  });

  test("a delivery signed with another secret is refused", async () => {
    const event = stripeEvent("charge.refunded", { id: `ch_${unique()}` });
    const error = expectError(assert, await deliverStripe(event, { secret: "whsec_someone_else" }), 400, "invalid_signature");
    assert.ok(!error.message.includes(stripeSecret), "the message never shows a secret");
    nothingStored("stripe", event.id);

    const id = `msg_${unique()}`;
    const foreign = `whsec_${Buffer.from("another application's key").toString("base64")}`;
    expectError(assert, await deliverResend(resendEvent("email.sent", {}), { id, secret: foreign }), 400, "invalid_signature");
    nothingStored("resend", id);
  });

  test("missing or malformed signature headers are refused, naming the header", async () => {
    const event = stripeEvent("charge.refunded", { id: `ch_${unique()}` });
    const { payload } = signStripe(event);
    const missing = expectError(assert, await sendStripe({ payload }), 400, "missing_signature_header");
    assert.equal(missing.message, "the Stripe-Signature header is missing");
    expectError(assert, await sendStripe({ payload, signature: "v1=abc" }), 400, "malformed_signature_header");
    nothingStored("stripe", event.id);

    const { payload: resendPayload, headers } = signResend(resendEvent("email.sent", {}));
    const { "svix-id": id, ...withoutId } = headers;
    const noId = expectError(assert, await sendResend({ payload: resendPayload, headers: withoutId }), 400, "missing_signature_header");
    assert.match(noId.message, /svix-id/);
    nothingStored("resend", id);
  });

  test("an authentic body that is not an event is refused", async () => {
    const delivery = signStripe({ hello: "world" });
    const error = expectError(assert, await sendStripe(delivery), 400, "invalid_event");
    assert.match(error.message, /`id`/);
  });

  test("a body over the size limit is refused before verification", async () => {
    const event = stripeEvent("charge.refunded", { id: `ch_${unique()}`, padding: "x".repeat(1_100_000) });
    expectError(assert, await deliverStripe(event), 413, "payload_too_large");
    nothingStored("stripe", event.id);
  });

  test("only POST is accepted, and only the two provider paths exist", async () => {
    const wrongMethod = await call("GET", "/webhooks/stripe");
    expectError(assert, wrongMethod, 405, "method_not_allowed");
    assert.equal(wrongMethod.headers.get("allow"), "POST");
    expectError(assert, await call("POST", "/webhooks/paypal", { body: "{}" }), 404, "not_found");
  });
});

// ---- the database goes away ---------------------------------------------------------------

describe("Database outage", () => {
  const postgres = (...args) =>
    execFileSync("bash", ["tools/scripts/postgres.sh", ...args], { cwd: new URL("../..", import.meta.url).pathname, stdio: "inherit" });
  let stopped = false;

  after(() => {
    if (stopped) postgres("start", process.env.PG_DATA_DIR, process.env.PG_PORT);
  });

  test("while Postgres is down deliveries get a 5xx, and the provider's retry is stored once it is back", async () => {
    assert.ok(process.env.PG_DATA_DIR && process.env.PG_PORT, "test.sh passes PG_DATA_DIR and PG_PORT");
    const { user, customer } = await payingCustomer();
    const event = stripeEvent("invoice.paid", invoice({ customer, subscriptionId: `sub_${unique()}` }));
    const delivery = signStripe(event);

    postgres("stop", process.env.PG_DATA_DIR);
    stopped = true;
    const during = await sendStripe(delivery);
    assert.ok(during.status >= 500, `expected a 5xx while the database is down, got ${during.status}`);
    assert.equal(during.body.error.code, "service_unavailable", JSON.stringify(during.body));

    postgres("start", process.env.PG_DATA_DIR, process.env.PG_PORT);
    stopped = false;
    // The gateway reconnects on its own; the provider retries until it gets a 2xx.
    let retry;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      retry = await sendStripe(delivery);
      if (retry.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expectStored(retry, "processed");
    assert.equal(inbox("stripe", event.id).length, 1);
    assert.equal(rows(`select 1 from public.billing_subscription_events where user_id = '${user.id}'`).length, 1);
  });
});
