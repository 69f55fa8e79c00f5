// Writes vectors.json: webhook deliveries signed by the official `stripe` and `svix` npm
// libraries, each with the verdict those libraries give and the verdict our Rust verifier
// must give (tests/vectors.rs reads the file on native and wasm32).
//
// Regenerate from the repository root after `npm ci`:
//     node functions/webhooks/tests/vectors/generate.mjs
// The output is deterministic (fixed secrets, ids and times), so a diff shows only real
// changes, for example a library upgrade that signs differently.

import { writeFileSync, readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";
import { Webhook } from "svix";

const require = createRequire(import.meta.url);
const here = fileURLToPath(new URL(".", import.meta.url));
// Neither package exports its package.json, so walk up from its entry point to find it.
function versionOf(name) {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name: found, version } = JSON.parse(readFileSync(manifest, "utf8"));
      if (found === name) return version;
    }
  }
  throw new Error(`cannot find the version of ${name}`);
}

const T = 1_732_000_000;
const TOLERANCE = 300;

const bodies = {
  plain: JSON.stringify({
    id: "evt_1QVectorPlain",
    object: "event",
    type: "customer.subscription.updated",
    created: T - 2,
    data: { object: { id: "sub_1", status: "active", cancel_at_period_end: false } },
  }),
  // Multi-byte UTF-8: 2-, 3- and 4-byte sequences, signed as UTF-8 bytes by both libraries.
  nonAscii: JSON.stringify({
    id: "evt_1QVectorUnicode",
    object: "event",
    type: "checkout.session.completed",
    created: T - 1,
    data: { object: { customer_details: { name: "Zoë Ångström — 東京 🚀" } } },
  }),
  resend: JSON.stringify({
    type: "email.bounced",
    created_at: "2024-11-19T07:06:38.000Z",
    data: { email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c", to: ["bounce@example.com"] },
  }),
  resendNonAscii: JSON.stringify({
    type: "email.delivered",
    created_at: "2024-11-19T07:06:39.000Z",
    data: { email_id: "b3f4c2d1-0000-4000-8000-000000000001", subject: "Grüße aus Zürich — 你好 👋" },
  }),
};

// Changes exactly one byte: an ASCII digit inside the body, so the result is still UTF-8.
function tamper(body) {
  const index = body.search(/[0-9]/);
  const digit = body[index] === "9" ? "8" : String(Number(body[index]) + 1);
  return body.slice(0, index) + digit + body.slice(index + 1);
}

// ---- Stripe ----------------------------------------------------------------------------

const stripe = new Stripe("sk_test_vectors_never_used_for_requests");
const stripeSecrets = {
  current: "whsec_rlsEdgeVectorsCurrentSecret7f3a9c2e1b",
  previous: "whsec_rlsEdgeVectorsPreviousSecret04d8e6a5c",
  stranger: "whsec_rlsEdgeVectorsSomeoneElsesSecret99b1",
};

function stripeHeader(secret, payload, timestamp = T) {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
const v1Of = (header) => header.split(",").find((part) => part.startsWith("v1="));

function stripeOfficialAccepts({ secrets, header, body, now_seconds, tolerance_seconds }) {
  return secrets.some((secret) => {
    try {
      stripe.webhooks.constructEvent(body, header, secret, tolerance_seconds, undefined, now_seconds * 1000);
      return true;
    } catch {
      return false;
    }
  });
}

function stripeCase(name, fields) {
  const vector = { name, secrets: [stripeSecrets.current], tolerance_seconds: TOLERANCE, now_seconds: T, body: bodies.plain, ...fields };
  vector.official_accepts = stripeOfficialAccepts(vector);
  return vector;
}

const signed = stripeHeader(stripeSecrets.current, bodies.plain);
const signedByPrevious = stripeHeader(stripeSecrets.previous, bodies.plain);
const bothSignatures = `${signed},${v1Of(signedByPrevious)}`;

const stripeVectors = [
  stripeCase("one secret, one v1", { header: signed, expect: "ok" }),
  stripeCase("rotation: delivery signed with the previous secret, both configured", {
    secrets: [stripeSecrets.current, stripeSecrets.previous],
    header: signedByPrevious,
    expect: "ok",
  }),
  stripeCase("rotation: two v1 signatures, only the second matches the configured secret", {
    secrets: [stripeSecrets.previous],
    header: bothSignatures,
    expect: "ok",
  }),
  stripeCase("rotation: two v1 signatures and two configured secrets", {
    secrets: [stripeSecrets.stranger, stripeSecrets.previous],
    header: bothSignatures,
    expect: "ok",
  }),
  stripeCase("a v0 signature next to the v1 is ignored", {
    header: `${signed},v0=${"0".repeat(64)}`,
    expect: "ok",
  }),
  stripeCase("several v1 signatures, none from a configured secret", {
    secrets: [stripeSecrets.stranger],
    header: bothSignatures,
    expect: "invalid_signature",
  }),
  stripeCase("timestamp exactly at the tolerance in the past", { now_seconds: T + TOLERANCE, header: signed, expect: "ok" }),
  stripeCase("timestamp one second past the tolerance in the past", {
    now_seconds: T + TOLERANCE + 1,
    header: signed,
    expect: "timestamp_outside_tolerance",
  }),
  stripeCase("timestamp exactly at the tolerance in the future", { now_seconds: T - TOLERANCE, header: signed, expect: "ok" }),
  stripeCase("timestamp one second past the tolerance in the future", {
    now_seconds: T - TOLERANCE - 1,
    header: signed,
    expect: "timestamp_outside_tolerance",
    divergence: "Stripe's libraries accept any future timestamp; we apply the tolerance both ways, as Svix does",
  }),
  stripeCase("a custom tolerance of 60 s, one second past", {
    tolerance_seconds: 60,
    now_seconds: T + 61,
    header: signed,
    expect: "timestamp_outside_tolerance",
  }),
  stripeCase("replay of a day-old delivery", { now_seconds: T + 86_400, header: signed, expect: "timestamp_outside_tolerance" }),
  stripeCase("body tampered by one byte", { header: signed, body: tamper(bodies.plain), expect: "invalid_signature" }),
  stripeCase("signed with a secret we do not hold", {
    header: stripeHeader(stripeSecrets.stranger, bodies.plain),
    expect: "invalid_signature",
  }),
  stripeCase("t= changed after signing", {
    header: signed.replace(`t=${T}`, `t=${T + 1}`),
    expect: "invalid_signature",
  }),
  stripeCase("non-ASCII body", {
    body: bodies.nonAscii,
    header: stripeHeader(stripeSecrets.current, bodies.nonAscii),
    expect: "ok",
  }),
  stripeCase("non-ASCII body tampered by one byte", {
    body: tamper(bodies.nonAscii),
    header: stripeHeader(stripeSecrets.current, bodies.nonAscii),
    expect: "invalid_signature",
  }),
  stripeCase("header missing", { header: null, expect: "missing_signature_header" }),
  stripeCase("header empty", { header: "", expect: "missing_signature_header" }),
  stripeCase("no t=", { header: v1Of(signed), expect: "malformed_signature_header" }),
  stripeCase("t= not a number", { header: signed.replace(`t=${T}`, "t=soon"), expect: "malformed_signature_header" }),
  stripeCase("only a v0 signature", { header: signed.replace("v1=", "v0="), expect: "malformed_signature_header" }),
  stripeCase("not key=value pairs", { header: "garbage", expect: "malformed_signature_header" }),
];

// ---- Svix (Resend) -----------------------------------------------------------------------

const svixSecret = (text) => `whsec_${Buffer.from(text).toString("base64")}`;
const svixSecrets = {
  current: svixSecret("rls-edge vectors: current svix key"),
  previous: svixSecret("rls-edge vectors: previous svix key"),
  stranger: svixSecret("rls-edge vectors: someone else's key"),
};
const MESSAGE_ID = "msg_2pVectorsResendDelivery01";

function svixSign(secret, payload, id = MESSAGE_ID, timestamp = T) {
  return new Webhook(secret).sign(id, new Date(timestamp * 1000), payload);
}

const svixHeaders = (signature, { id = MESSAGE_ID, timestamp = String(T), prefix = "svix" } = {}) => ({
  [`${prefix}-id`]: id,
  [`${prefix}-timestamp`]: timestamp,
  [`${prefix}-signature`]: signature,
});

function svixOfficialAccepts({ secrets, headers, body, now_seconds }) {
  const realNow = Date.now;
  Date.now = () => now_seconds * 1000;
  try {
    return secrets.some((secret) => {
      try {
        new Webhook(secret).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    });
  } finally {
    Date.now = realNow;
  }
}

function svixCase(name, fields) {
  const vector = { name, secrets: [svixSecrets.current], now_seconds: T, body: bodies.resend, ...fields };
  vector.official_accepts = svixOfficialAccepts(vector);
  return vector;
}

const svixSigned = svixSign(svixSecrets.current, bodies.resend);
const svixSignedByPrevious = svixSign(svixSecrets.previous, bodies.resend);
const without = (headers, name) => Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));

const svixVectors = [
  svixCase("svix-* headers", { headers: svixHeaders(svixSigned), expect: "ok" }),
  svixCase("webhook-* headers (Standard Webhooks names)", {
    headers: svixHeaders(svixSigned, { prefix: "webhook" }),
    expect: "ok",
  }),
  svixCase("secret without the whsec_ prefix", {
    secrets: [svixSecrets.current.slice("whsec_".length)],
    headers: svixHeaders(svixSigned),
    expect: "ok",
  }),
  svixCase("rotation: signed with the previous secret, both configured", {
    secrets: [svixSecrets.current, svixSecrets.previous],
    headers: svixHeaders(svixSignedByPrevious),
    expect: "ok",
  }),
  svixCase("rotation: two v1 signatures, only the second matches", {
    secrets: [svixSecrets.previous],
    headers: svixHeaders(`${svixSigned} ${svixSignedByPrevious}`),
    expect: "ok",
  }),
  svixCase("other signature versions are ignored", {
    headers: svixHeaders(`v1a,${svixSigned.slice(3)} v2,AAAA ${svixSigned}`),
    expect: "ok",
  }),
  svixCase("several v1 signatures, none from a configured secret", {
    secrets: [svixSecrets.stranger],
    headers: svixHeaders(`${svixSigned} ${svixSignedByPrevious}`),
    expect: "invalid_signature",
  }),
  svixCase("timestamp exactly five minutes old", { now_seconds: T + 300, headers: svixHeaders(svixSigned), expect: "ok" }),
  svixCase("timestamp five minutes and one second old", {
    now_seconds: T + 301,
    headers: svixHeaders(svixSigned),
    expect: "timestamp_outside_tolerance",
  }),
  svixCase("timestamp exactly five minutes ahead", { now_seconds: T - 300, headers: svixHeaders(svixSigned), expect: "ok" }),
  svixCase("timestamp five minutes and one second ahead", {
    now_seconds: T - 301,
    headers: svixHeaders(svixSigned),
    expect: "timestamp_outside_tolerance",
  }),
  svixCase("body tampered by one byte", {
    body: tamper(bodies.resend),
    headers: svixHeaders(svixSigned),
    expect: "invalid_signature",
  }),
  svixCase("signed with a secret we do not hold", {
    headers: svixHeaders(svixSign(svixSecrets.stranger, bodies.resend)),
    expect: "invalid_signature",
  }),
  svixCase("message id changed after signing", {
    headers: svixHeaders(svixSigned, { id: "msg_2pVectorsResendDelivery02" }),
    expect: "invalid_signature",
  }),
  svixCase("non-ASCII body", {
    body: bodies.resendNonAscii,
    headers: svixHeaders(svixSign(svixSecrets.current, bodies.resendNonAscii)),
    expect: "ok",
  }),
  svixCase("non-ASCII body tampered by one byte", {
    body: tamper(bodies.resendNonAscii),
    headers: svixHeaders(svixSign(svixSecrets.current, bodies.resendNonAscii)),
    expect: "invalid_signature",
  }),
  svixCase("id header missing", { headers: without(svixHeaders(svixSigned), "svix-id"), expect: "missing_signature_header" }),
  svixCase("timestamp header missing", {
    headers: without(svixHeaders(svixSigned), "svix-timestamp"),
    expect: "missing_signature_header",
  }),
  svixCase("signature header missing", {
    headers: without(svixHeaders(svixSigned), "svix-signature"),
    expect: "missing_signature_header",
  }),
  svixCase("timestamp not a number", {
    headers: svixHeaders(svixSigned, { timestamp: "yesterday" }),
    expect: "malformed_signature_header",
  }),
  svixCase("only a v2 signature", {
    headers: svixHeaders(svixSigned.replace("v1,", "v2,")),
    expect: "malformed_signature_header",
  }),
];

const vectors = {
  generated_by: { stripe: versionOf("stripe"), svix: versionOf("svix"), script: "generate.mjs" },
  stripe: stripeVectors,
  svix: svixVectors,
};
writeFileSync(`${here}vectors.json`, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${stripeVectors.length} stripe and ${svixVectors.length} svix vectors to ${here}vectors.json`);
