// End-to-end tests of POST /functions/v1/webhooks/<source>: Standard Webhooks sources configured
// in WEBHOOK_SOURCES (tests/e2e/vars/webhooks.env) and processed by the SQL function registered
// for them in system_webhook_sources. `acme` deliveries are signed at test time by the official
// `standardwebhooks` library (v1, HMAC-SHA256); `acme-ed` ones with Ed25519 (v1a) by Node's
// crypto, the scheme's asymmetric version, which that library does not sign.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { call, expectError, rows, sql } from "./lib.mjs";

const sources = JSON.parse(
  readFileSync(new URL("./vars/webhooks.env", import.meta.url), "utf8")
    .split("\n")
    .find((line) => line.startsWith("WEBHOOK_SOURCES="))
    .slice("WEBHOOK_SOURCES=".length),
);
const acmeSecret = sources.acme.secrets[0];
// The private half of acme-ed's whpk_ public key (an Ed25519 seed), test only.
const acmeEdKey = createPrivateKey({
  key: Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.from("cmxzLWVkZ2UgZTJlIGFjbWUtZWQgZWQyNTUxOSBrZXk=", "base64"),
  ]),
  format: "der",
  type: "pkcs8",
});

const now = () => Math.floor(Date.now() / 1000);
const messageId = () => `msg_${randomUUID().replaceAll("-", "")}`;

function signedWithSecret(event, { id = messageId(), timestamp = now(), secret = acmeSecret } = {}) {
  const payload = JSON.stringify(event);
  const signature = new Webhook(secret).sign(id, new Date(timestamp * 1000), payload);
  return { payload, headers: { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature } };
}

function signedWithKey(event, { id = messageId(), timestamp = now() } = {}) {
  const payload = JSON.stringify(event);
  const signature = sign(null, Buffer.from(`${id}.${timestamp}.${payload}`), acmeEdKey).toString("base64");
  return { payload, headers: { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1a,${signature}` } };
}

function send(source, { payload, headers }) {
  return call("POST", `/webhooks/${source}`, { body: payload, headers: { "content-type": "application/json", ...headers } });
}

const acmeEvent = (kind) => ({ type: "acme.thing.created", timestamp: new Date().toISOString(), data: { kind } });

before(() => {
  // The user's one SQL function for both sources, registered as README's operator page shows.
  sql(`
    create table if not exists public.e2e_acme_things (event_id text primary key, source text not null, kind text not null);
    create or replace function public.e2e_apply_acme_event(event jsonb) returns text
    language plpgsql security definer set search_path = '' as $$
    begin
      if event ->> 'type' <> 'acme.thing.created' then
        return 'unknown_type';
      end if;
      insert into public.e2e_acme_things values (event ->> 'event_id', event ->> 'source', event -> 'payload' -> 'data' ->> 'kind');
      return 'processed';
    end $$;
    revoke execute on function public.e2e_apply_acme_event(jsonb) from public;
    grant execute on function public.e2e_apply_acme_event(jsonb) to webhook_ingest;
    insert into public.system_webhook_sources (name, handler)
    values ('acme', 'public.e2e_apply_acme_event(jsonb)'), ('acme-ed', 'public.e2e_apply_acme_event(jsonb)')
    on conflict (name) do update set handler = excluded.handler;
  `);
});

describe("Standard Webhooks sources", () => {
  test("an HMAC-signed delivery is verified, stored once and applied by the source's SQL function", async () => {
    const delivery = signedWithSecret(acmeEvent("hmac"));
    const first = await send("acme", delivery);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.received, first.body.status], [true, "processed"]);
    const again = await send("acme", delivery);
    assert.equal(again.body.status, "duplicate");
    assert.equal(again.body.event, first.body.event);
    const id = delivery.headers["webhook-id"];
    assert.deepEqual(rows(`select source, kind from e2e_acme_things where event_id = '${id}'`), [{ source: "acme", kind: "hmac" }]);
    assert.deepEqual(
      rows(`select provider::text, source, event_type, status::text from system_webhook_events where event_id = '${id}'`),
      [{ provider: "standard", source: "acme", event_type: "acme.thing.created", status: "processed" }],
    );
  });

  test("an Ed25519 (v1a) delivery is verified with the source's public key", async () => {
    const delivery = signedWithKey(acmeEvent("ed25519"));
    const response = await send("acme-ed", delivery);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.status, "processed");
    const id = delivery.headers["webhook-id"];
    assert.deepEqual(rows(`select source, kind from e2e_acme_things where event_id = '${id}'`), [{ source: "acme-ed", kind: "ed25519" }]);
  });

  test("tampered, stale and wrongly keyed deliveries are refused before anything is stored", async () => {
    const tamperedHmac = signedWithSecret(acmeEvent("tampered"));
    tamperedHmac.payload = tamperedHmac.payload.replace("tampered", "tempered");
    const tamperedEd = signedWithKey(acmeEvent("tampered"));
    tamperedEd.payload = tamperedEd.payload.replace("tampered", "tempered");
    const refusals = [
      ["acme", tamperedHmac, "invalid_signature"],
      ["acme-ed", tamperedEd, "invalid_signature"],
      ["acme", signedWithSecret(acmeEvent("stale"), { timestamp: now() - 600 }), "timestamp_outside_tolerance"],
      ["acme-ed", signedWithKey(acmeEvent("stale"), { timestamp: now() - 600 }), "timestamp_outside_tolerance"],
      ["acme", signedWithSecret(acmeEvent("other"), { secret: "whsec_b3RoZXIgc2VjcmV0IG9mIGFub3RoZXIgc291cmNl" }), "invalid_signature"],
      // An HMAC signature is no use at a source that only holds a public key; a source without
      // public keys does not take v1a signatures at all.
      ["acme-ed", signedWithSecret(acmeEvent("crossed")), "invalid_signature"],
      ["acme", signedWithKey(acmeEvent("crossed")), "malformed_signature_header"],
    ];
    for (const [source, delivery, code] of refusals) {
      const response = await send(source, delivery);
      expectError(assert, response, 400, code);
      const id = delivery.headers["webhook-id"];
      assert.equal(rows(`select 1 from system_webhook_events where event_id = '${id}'`).length, 0, `${source} ${code}: nothing stored`);
    }
    assert.equal(rows(`select 1 from e2e_acme_things where kind in ('tampered', 'tempered', 'stale', 'other', 'crossed')`).length, 0);
  });

  test("a source that is not configured is no route", async () => {
    const response = await send("nobody", signedWithSecret(acmeEvent("nobody")));
    expectError(assert, response, 404, "not_found");
  });
});
