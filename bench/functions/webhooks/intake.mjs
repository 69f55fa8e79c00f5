// Requests per second and latency of webhook intake end to end: signed deliveries over HTTP to
// the Worker (wrangler dev), verified, stored through the gateway in Postgres. Three loads:
//   stripe-new        unique Stripe events of a type we do not apply (verify + insert, ignored)
//   resend-new        unique Resend email.sent events (verify + insert + an email log row)
//   stripe-duplicate  one Stripe event delivered again and again (verify + duplicate lookup)
//
// Usage (against a running stack, e.g. the one `npm run dev` or tools/scripts/test.sh starts,
// whose Worker was given the secrets in tests/e2e/vars/webhooks.env):
//   FUNCTIONS_URL=http://127.0.0.1:8787/functions/v1 node bench/functions/webhooks/intake.mjs [requests] [concurrency]
// The seed limits `webhooks` to 600 verified deliveries a minute per provider (system_rate_limits),
// which a run of more than 600 deliveries hits; for a benchmark database raise it first:
//   update system_rate_limits set max_requests = 1000000 where endpoint = 'webhooks';
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { Webhook } from "svix";

const functionsUrl = process.env.FUNCTIONS_URL ?? "http://127.0.0.1:8787/functions/v1";
const requests = Number(process.argv[2] ?? 400);
const concurrency = Number(process.argv[3] ?? 8);

const vars = Object.fromEntries(
  readFileSync(new URL("../../../tests/e2e/vars/webhooks.env", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const stripeSecret = process.env.STRIPE_WEBHOOK_SECRET ?? vars.STRIPE_WEBHOOK_SECRETS.split(",")[0];
const resendSecret = process.env.RESEND_WEBHOOK_SECRET ?? vars.RESEND_WEBHOOK_SECRETS.split(",")[0];
const stripe = new Stripe("sk_test_bench_never_used_for_requests");
const now = () => Math.floor(Date.now() / 1000);

function stripeDelivery(id = `evt_bench_${randomUUID()}`) {
  const payload = JSON.stringify({
    id,
    object: "event",
    api_version: "2024-06-20",
    created: now(),
    type: "charge.succeeded",
    data: { object: { id: `ch_${randomUUID()}`, object: "charge", amount: 2900, currency: "eur", metadata: {} } },
  });
  const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret });
  return { path: "/webhooks/stripe", payload, headers: { "stripe-signature": signature } };
}

function resendDelivery() {
  const id = `msg_bench_${randomUUID()}`;
  const timestamp = now();
  const payload = JSON.stringify({
    type: "email.sent",
    created_at: new Date().toISOString(),
    data: { email_id: randomUUID(), from: "bench@example.test", to: ["bench@example.test"], subject: "Benchmark" },
  });
  const signature = new Webhook(resendSecret).sign(id, new Date(timestamp * 1000), payload);
  return {
    path: "/webhooks/resend",
    payload,
    headers: { "svix-id": id, "svix-timestamp": String(timestamp), "svix-signature": signature },
  };
}

async function send({ path, payload, headers }) {
  const started = performance.now();
  const response = await fetch(`${functionsUrl}${path}`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", ...headers },
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${body}`);
  return performance.now() - started;
}

async function load(name, makeDelivery) {
  const deliveries = Array.from({ length: requests }, makeDelivery);
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < deliveries.length) latencies.push(await send(deliveries[next++]));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (fraction) => latencies[Math.min(latencies.length - 1, Math.floor(fraction * latencies.length))].toFixed(1);
  console.log(
    `${name.padEnd(17)} ${(requests / seconds).toFixed(0).padStart(5)} req/s   p50 ${at(0.5)} ms   p95 ${at(0.95)} ms   p99 ${at(0.99)} ms`,
  );
}

console.log(`${requests} deliveries per load, ${concurrency} at a time, to ${functionsUrl}`);
await send(stripeDelivery()); // warm the isolate
await load("stripe-new", () => stripeDelivery());
await load("resend-new", () => resendDelivery());
const duplicate = stripeDelivery();
await load("stripe-duplicate", () => duplicate);
