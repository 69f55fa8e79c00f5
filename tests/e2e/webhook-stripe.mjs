// Stripe events for the webhook operations tests (webhook-operations.test.mjs,
// webhook-reconcile.test.mjs): built as Stripe sends them and delivered signed by the official
// `stripe` library with the secret tests/e2e/vars/webhooks.env gives the Worker.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { call, newUser, sql } from "./lib.mjs";

const secret = readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
  .split("\n")
  .find((line) => line.startsWith("STRIPE_WEBHOOK_SECRETS="))
  .slice("STRIPE_WEBHOOK_SECRETS=".length)
  .split(",")[0];
const stripe = new Stripe("sk_test_e2e_never_used_for_requests");

export const now = () => Math.floor(Date.now() / 1000);
export const unique = () => randomUUID().replaceAll("-", "").slice(0, 20);

export function stripeEvent(type, object, created = now()) {
  return { id: `evt_ops_${unique()}`, object: "event", api_version: "2024-06-20", created, livemode: false, pending_webhooks: 1, type, data: { object } };
}

export function subscription({ customer, id = `sub_${unique()}`, plan = "pro" }) {
  const start = now();
  return {
    id, object: "subscription", customer, status: "active", cancel_at_period_end: false, canceled_at: null,
    current_period_start: start, current_period_end: start + 30 * 86_400, metadata: {},
    items: { object: "list", data: [{ id: `si_${unique()}`, price: { id: `price_${plan}`, lookup_key: plan } }] },
  };
}

export function invoice({ customer, amount = 2_900 }) {
  return { id: `in_${unique()}`, object: "invoice", customer, subscription: null, amount_paid: amount, amount_due: amount, currency: "eur", status: "paid", billing_reason: "subscription_cycle" };
}

/** The Checkout completion that links `customer` to `user` (metadata.user_id, as 0025 requires). */
export function checkoutCompleted({ customer, user }) {
  return stripeEvent("checkout.session.completed", {
    id: `cs_test_${unique()}`, object: "checkout.session", customer, client_reference_id: null,
    metadata: { user_id: user.id }, customer_details: { email: user.email },
  });
}

/** Delivers `event` to the Worker as Stripe would. */
export function deliverStripe(event) {
  const payload = JSON.stringify(event);
  const signature = stripe.webhooks.generateTestHeaderString({ payload, secret });
  return call("POST", "/webhooks/stripe", { body: payload, headers: { "content-type": "application/json", "stripe-signature": signature } });
}

/** A user with a profile (what a Checkout link needs), not yet linked to any customer. */
export async function customerToBe() {
  const user = await newUser();
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  return user;
}
