// End-to-end tests of webhook alerts: an event the cleanup job gives up on (really retried to its
// last attempt) is posted once, as Slack-compatible JSON, to WEBHOOK_ALERT_URL (a local fake
// Slack here), however often the alert run goes; a post that fails is sent by the next run.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import { call, env, expectError, rows, sql } from "./lib.mjs";
import { deliverStripe, stripeEvent, subscription, unique } from "./webhook-stripe.mjs";

const alertUrl = new URL(
  readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
    .split("\n")
    .find((line) => line.startsWith("WEBHOOK_ALERT_URL="))
    .slice("WEBHOOK_ALERT_URL=".length),
);
const slack = { posts: [], failNext: 0 };
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    if (slack.failNext > 0) {
      slack.failNext -= 1;
      res.writeHead(500, { "content-type": "text/plain" });
      return res.end("internal_error");
    }
    slack.posts.push({ path: req.url, contentType: req.headers["content-type"], body: JSON.parse(body) });
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
});
before(() => new Promise((resolve) => server.listen(Number(alertUrl.port), "127.0.0.1", resolve)));
after(() => new Promise((resolve) => server.close(resolve)));

const runAlerts = () => call("POST", "/webhooks/alerts/run", { headers: { apikey: env.secretKey } });
const mentioning = (eventId) => slack.posts.filter((post) => post.body.text.includes(eventId));

/** A Stripe event failing for good: delivered, then retried by the cleanup job until it gives up. */
async function givenUpEvent() {
  const event = stripeEvent("customer.subscription.created", subscription({ customer: `cus_${unique()}` }));
  const delivered = await deliverStripe(event);
  assert.equal(delivered.body.status, "failed", JSON.stringify(delivered.body));
  sql(`update system_webhook_events set attempts = 7, next_attempt_at = now() where id = '${delivered.body.event}'`);
  const retried = await call("POST", "/cleanup/run", { headers: { apikey: env.secretKey }, json: { jobs: ["webhook_retries"] } });
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  assert.deepEqual(rows(`select attempts, next_attempt_at from system_webhook_events where id = '${delivered.body.event}'`),
    [{ attempts: 8, next_attempt_at: null }], "given up at its eighth attempt");
  return { id: delivered.body.event, eventId: event.id };
}

describe("webhook alerts", () => {
  test("a given-up event is posted once, however often the alert run goes", async () => {
    const { id, eventId } = await givenUpEvent();
    const first = await runAlerts();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const posted = mentioning(eventId);
    assert.equal(posted.length, 1);
    assert.equal(posted[0].path, alertUrl.pathname);
    assert.match(posted[0].contentType, /application\/json/);
    assert.match(posted[0].body.text, /given up after 8 attempts: customer\.subscription\.created/);
    assert.match(posted[0].body.text, /no user is linked/);
    assert.ok(!JSON.stringify(posted[0].body).includes('"items"'), "no payload in the alert");

    const second = await runAlerts();
    assert.deepEqual(second.body, { sent: 0, failed: 0 });
    assert.equal(mentioning(eventId).length, 1, "never a second message for the same event");
    assert.deepEqual(rows(`select kind, status, sent_at is not null as sent from system_webhook_alerts where event = '${id}'`),
      [{ kind: "given_up", status: "sent", sent: true }]);
  });

  test("an alert whose post failed is recorded and sent by the next run", async () => {
    const { id, eventId } = await givenUpEvent();
    slack.failNext = 1;
    const failing = await runAlerts();
    assert.deepEqual(failing.body, { sent: 0, failed: 1 });
    assert.deepEqual(rows(`select status, error from system_webhook_alerts where event = '${id}'`),
      [{ status: "failed", error: "the alert URL answered 500" }]);
    const next = await runAlerts();
    assert.deepEqual(next.body, { sent: 1, failed: 0 });
    assert.equal(mentioning(eventId).length, 1);
  });

  test("a user's token may not run alerts", async () => {
    expectError(assert, await call("POST", "/webhooks/alerts/run", { headers: { apikey: env.anonKey } }), 401);
  });
});
