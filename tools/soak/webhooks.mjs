// Webhook deliveries as Stripe and Resend (Svix) send them: signed by the official `stripe` and
// `svix` libraries, retried with backoff until a 2xx acknowledges them (as both providers do),
// sent again after an acknowledgement now and then (providers deliver at least once), sometimes
// twice at the same moment, and out of order (the events of one subscription or one email are
// released together, shuffled, so they race and arrive newest-first as often as not).
//
// It remembers every event it made and what the newest event of each subscription and email
// says, so tools/soak/checks.mjs can compare acknowledged events with stored ones and the final
// rows with the newest event.
import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import { Webhook } from "svix";

const stripe = new Stripe("sk_test_soak_never_used_for_requests");
const unique = () => randomUUID().replaceAll("-", "").slice(0, 20);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Chance that an acknowledged delivery is sent again later, and that a first attempt goes out twice at once. */
const DUPLICATE_LATER = 0.25;
const DUPLICATE_AT_ONCE = 0.1;
/** Chance that the events of one subscription or email are released in a shuffled order. */
const SHUFFLED = 0.5;
const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

/** A subscription's life, newest last: [event type, status, cancel_at_period_end]. */
const SUBSCRIPTION_LIFE = [
  ["customer.subscription.created", "active", false],
  ["customer.subscription.updated", "past_due", false],
  ["customer.subscription.updated", "active", true],
  ["customer.subscription.deleted", "canceled", true],
];
/** An email's life, newest last: Resend event types. */
const EMAIL_LIFE = ["email.sent", "email.delivered", "email.opened", "email.clicked"];

function shuffle(items) {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const between = (low, high) => low + Math.floor(Math.random() * (high - low + 1));

export class WebhookSender {
  /**
   * `send` is Recorder.send; `secrets` the current Stripe and Resend signing secrets the Worker
   * has (tests/e2e/vars/webhooks.env); `ip` the address deliveries come from.
   */
  constructor({ send, functionsUrl, stripeSecret, resendSecret, ip }) {
    Object.assign(this, { send, functionsUrl, stripeSecret, resendSecret, ip });
    /** Every event made, by `${provider}:${id}`: { provider, id, type, acknowledged, answers }. */
    this.events = new Map();
    /** Deliveries not acknowledged yet, and duplicates waiting: { event, payload, dueAt, attempts, duplicate, inFlight, then }. */
    this.pending = [];
    /** Stripe subscription id -> its events: { id, created, status }. */
    this.subscriptions = new Map();
    /** Resend email id -> its events: { id, createdAt, status }. */
    this.emails = new Map();
    /** user id -> the Stripe customer linked to them (null while the checkout is on its way). */
    this.customers = new Map();
    // Event times: a clock of its own in the past, ten seconds per flow, so the events of one
    // subscription never share a `created` second and their order is the order made here.
    this.clock = nowSeconds() - 86_400;
    this.counts = { deliveries: 0, duplicates_sent: 0, sent_at_once: 0, answers: {} };
  }

  get unacknowledged() {
    return this.pending.filter((delivery) => !delivery.duplicate).length;
  }

  /** The next delivery due for `provider`, if any. */
  due(provider) {
    const now = Date.now();
    let best = null;
    for (const delivery of this.pending) {
      if (delivery.inFlight || delivery.event.provider !== provider || delivery.dueAt > now) continue;
      if (!best || delivery.dueAt < best.dueAt) best = delivery;
    }
    return best;
  }

  /**
   * Starts a Stripe flow for `user` (who has a profile): links a customer first (a checkout),
   * then a subscription's life and its invoices. False while the user's checkout is on its way:
   * a second checkout with another customer would be refused (0025), as it should be.
   */
  startStripe(user) {
    const customer = this.customers.get(user.id);
    if (customer === null) return false;
    const flowTime = (this.clock += 10);
    if (!customer) {
      const linked = `cus_soak_${unique()}`;
      this.customers.set(user.id, null);
      const session = { id: `cs_soak_${unique()}`, object: "checkout.session", customer: linked, customer_details: { email: user.email }, metadata: { user_id: user.id } };
      this.enqueue(this.stripeEvent("checkout.session.completed", session, flowTime), {
        then: () => {
          this.customers.set(user.id, linked);
          this.startStripe(user);
        },
      });
      return true;
    }
    const subscriptionId = `sub_soak_${unique()}`;
    const life = SUBSCRIPTION_LIFE.slice(0, between(2, SUBSCRIPTION_LIFE.length));
    const events = life.map(([type, status, cancelAtPeriodEnd], index) => {
      const created = flowTime + index;
      this.track(this.subscriptions, subscriptionId, { created, status });
      return this.stripeEvent(type, subscription(subscriptionId, customer, status, cancelAtPeriodEnd, flowTime), created);
    });
    const invoices = Array.from({ length: between(1, 2) }, (_, index) =>
      this.stripeEvent("invoice.paid", invoice(customer, subscriptionId), flowTime + life.length + index),
    );
    for (const event of this.release(events).concat(invoices)) this.enqueue(event);
    return true;
  }

  /** Starts a Resend flow: one email to `user` and the events of its life. */
  startResend(user) {
    const flowTime = (this.clock += 10);
    const emailId = `em_soak_${unique()}`;
    const life = EMAIL_LIFE.slice(0, between(2, EMAIL_LIFE.length));
    const events = life.map((type, index) => {
      const createdAt = new Date((flowTime + index) * 1000).toISOString();
      this.track(this.emails, emailId, { createdAt, status: type.slice("email.".length) });
      const data = { email_id: emailId, from: "Soak <soak@example.test>", to: [user.email], subject: "Soak test", created_at: createdAt };
      return this.event("resend", `msg_soak_${unique()}`, type, { type, created_at: createdAt, data });
    });
    for (const event of this.release(events)) this.enqueue(event);
  }

  /** Sends one delivery (or, now and then, two copies at once); schedules a retry unless acknowledged. */
  async deliver(delivery) {
    delivery.inFlight = true;
    const copies = !delivery.duplicate && delivery.attempts === 0 && Math.random() < DUPLICATE_AT_ONCE ? 2 : 1;
    if (copies === 2) this.counts.sent_at_once += 1;
    if (delivery.duplicate) this.counts.duplicates_sent += 1;
    const answers = await Promise.all(Array.from({ length: copies }, () => this.post(delivery)));
    delivery.inFlight = false;
    delivery.attempts += 1;
    const acknowledged = answers.find((answer) => answer.ok);
    if (!acknowledged) {
      delivery.dueAt = Date.now() + BACKOFF_MS[Math.min(delivery.attempts - 1, BACKOFF_MS.length - 1)];
      return;
    }
    this.pending.splice(this.pending.indexOf(delivery), 1);
    const { event } = delivery;
    if (delivery.duplicate) return;
    event.acknowledged = true;
    if (Math.random() < DUPLICATE_LATER) {
      this.pending.push({ event, payload: delivery.payload, dueAt: Date.now() + between(0, 3000), attempts: 0, duplicate: true, inFlight: false });
    }
    delivery.then?.();
  }

  async post({ event, payload }) {
    this.counts.deliveries += 1;
    const headers = { "content-type": "application/json", "cf-connecting-ip": this.ip };
    if (event.provider === "stripe") {
      headers["stripe-signature"] = stripe.webhooks.generateTestHeaderString({ payload, secret: this.stripeSecret, timestamp: nowSeconds() });
    } else {
      const timestamp = new Date();
      headers["svix-id"] = event.id;
      headers["svix-timestamp"] = String(Math.floor(timestamp.getTime() / 1000));
      headers["svix-signature"] = new Webhook(this.resendSecret).sign(event.id, timestamp, payload);
    }
    const answer = await this.send(`POST webhooks/${event.provider}`, `${this.functionsUrl}/webhooks/${event.provider}`, {
      method: "POST",
      headers,
      body: payload,
    });
    if (answer.ok) {
      const status = answer.body?.status ?? "unknown";
      this.counts.answers[status] = (this.counts.answers[status] ?? 0) + 1;
    }
    return answer;
  }

  /** A Stripe delivery signed with a secret the Worker does not have, for the unverified-delivery bursts. */
  forgedStripe(ip) {
    const payload = JSON.stringify({ id: `evt_forged_${unique()}`, object: "event", type: "invoice.paid", created: nowSeconds(), data: { object: {} } });
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_soakForgedNotTheWorkersSecret0000" });
    return {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature, "cf-connecting-ip": ip },
      body: payload,
    };
  }

  stripeEvent(type, object, created) {
    const id = `evt_soak_${unique()}`;
    return this.event("stripe", id, type, { id, object: "event", api_version: "2024-06-20", created, livemode: false, pending_webhooks: 1, type, data: { object } });
  }

  event(provider, id, type, body) {
    const event = { provider, id, type, acknowledged: false };
    this.events.set(`${provider}:${id}`, event);
    return { event, payload: JSON.stringify(body) };
  }

  enqueue({ event, payload }, { then } = {}) {
    this.pending.push({ event, payload, dueAt: Date.now(), attempts: 0, duplicate: false, inFlight: false, then });
  }

  release(events) {
    return Math.random() < SHUFFLED ? shuffle(events) : events;
  }

  track(map, key, entry) {
    if (!map.has(key)) map.set(key, []);
    map.get(key).push(entry);
  }
}

function subscription(id, customer, status, cancelAtPeriodEnd, start) {
  return {
    id,
    object: "subscription",
    customer,
    status,
    cancel_at_period_end: cancelAtPeriodEnd,
    canceled_at: status === "canceled" ? start : null,
    current_period_start: start,
    current_period_end: start + 30 * 86_400,
    metadata: {},
    items: { object: "list", data: [{ id: `si_${unique()}`, price: { id: "price_soak_pro", lookup_key: "pro" } }] },
  };
}

function invoice(customer, subscriptionId) {
  return {
    id: `in_soak_${unique()}`,
    object: "invoice",
    customer,
    subscription: subscriptionId,
    amount_paid: 2_900,
    amount_due: 2_900,
    currency: "eur",
    status: "paid",
    billing_reason: "subscription_cycle",
  };
}
