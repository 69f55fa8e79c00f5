// End-to-end tests of /functions/v1/api-keys: storing, listing, checking against a local fake
// provider, deleting, isolation between users, and master-key rotation, over HTTP against the
// Worker in wrangler dev, with what landed in Postgres checked through psql.
//
// Sealed rows are also opened and written here with node:crypto, an implementation independent
// of the Worker's Rust one, using the master keys tests/e2e/vars/api-keys.env gives the Worker.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import http from "node:http";
import { call, env, expectError, newUser, rows, sql } from "./lib.mjs";
import { roleToken } from "./keys.mjs";

const vars = Object.fromEntries(
  readFileSync(new URL("./vars/api-keys.env", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const masterKeys = Object.fromEntries(
  vars.API_KEYS_MASTER_KEYS.split(",").map((entry) => {
    const [label, key] = [entry.slice(0, entry.indexOf(":")), entry.slice(entry.indexOf(":") + 1)];
    return [Number(label.slice(1)), Buffer.from(key, "base64")];
  }),
);
const FAKE_PROVIDER_PORT = 24410;

// ---- the scheme, independently -------------------------------------------------------------

const AAD_DOMAIN = Buffer.from("rls-edge/api-keys/aad/v1");
const RECORD_KEY_INFO = Buffer.from("rls-edge/api-keys/record-key/v1");

function lengthPrefixed(...fields) {
  return Buffer.concat(
    fields.flatMap((field) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(field.length);
      return [length, field];
    }),
  );
}

function associatedData(userId, service, version) {
  const versionBytes = Buffer.alloc(4);
  versionBytes.writeUInt32BE(version);
  return lengthPrefixed(AAD_DOMAIN, Buffer.from(userId.toLowerCase()), Buffer.from(service), versionBytes);
}

function recordKey(version, salt) {
  return Buffer.from(hkdfSync("sha256", masterKeys[version], salt, RECORD_KEY_INFO, 32));
}

/** Seals `plaintext` as the Worker would, under master key `version`: the row's key columns. */
function seal(userId, service, plaintext, version) {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", recordKey(version, salt), nonce);
  cipher.setAAD(associatedData(userId, service, version));
  const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { key_ciphertext: sealed.toString("base64"), nonce: nonce.toString("base64"), salt: salt.toString("base64"), key_version: version };
}

/** Opens a stored row; throws when authentication fails. */
function open(row) {
  const sealed = Buffer.from(row.key_ciphertext, "base64");
  const decipher = createDecipheriv("aes-256-gcm", recordKey(row.key_version, Buffer.from(row.salt, "base64")), Buffer.from(row.nonce, "base64"));
  decipher.setAAD(associatedData(row.user_id, row.service, row.key_version));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString("utf8");
}

// ---- a fake provider -----------------------------------------------------------------------

/**
 * One HTTP server standing for every provider, by path prefix. A key is accepted when the test
 * registered it as good; resend always fails with 503, like a provider having an outage.
 */
const goodKeys = new Set();
/** Keys whose check the fake never answers, standing for a provider that hangs. */
const hangingKeys = new Set();
const received = [];
const fakeProvider = http.createServer((req, res) => {
  received.push({ method: req.method, url: req.url, headers: req.headers });
  const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
  const basic = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString("utf8");
  const routes = [
    [/^\/openai\/v1\/models$/, () => goodKeys.has(bearer)],
    [/^\/stripe\/v1\/balance$/, () => goodKeys.has(bearer)],
    [/^\/anthropic\/v1\/models$/, () => goodKeys.has(req.headers["x-api-key"]) && req.headers["anthropic-version"] === "2023-06-01"],
    [/^\/twilio\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\.json$/, (sid) => goodKeys.has(basic) && basic.startsWith(`${sid}:`)],
  ];
  if (hangingKeys.has(bearer)) return;
  if (req.url.startsWith("/resend/")) {
    res.writeHead(503, { "content-type": "application/json" }).end('{"message":"outage"}');
    return;
  }
  for (const [pattern, accepts] of routes) {
    const match = pattern.exec(req.url);
    if (match && req.method === "GET") {
      const ok = accepts(...match.slice(1));
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" }).end(ok ? '{"ok":true}' : '{"error":"invalid key"}');
      return;
    }
  }
  res.writeHead(404).end();
});

before(() => new Promise((resolve) => fakeProvider.listen(FAKE_PROVIDER_PORT, "127.0.0.1", resolve)));
after(() => {
  fakeProvider.closeAllConnections();
  return new Promise((resolve) => fakeProvider.close(resolve));
});

// ---- helpers -------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` (synchronous) until it holds; fails naming `what` after 10 s. */
async function until(condition, what) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (condition()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/**
 * A psql session that stays open across awaits (lib.mjs's `sql` runs one statement per
 * process), for holding a transaction while the Worker works.
 */
function psqlSession() {
  const child = spawn("psql", [env.databaseUrl, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => { output += chunk; });
  child.stderr.on("data", (chunk) => { output += chunk; });
  const closed = new Promise((resolve) => child.on("close", resolve));
  return {
    send: (statement) => child.stdin.write(`${statement}\n`),
    waitFor: (text) => until(() => output.includes(text), `psql to print ${text} (it printed: ${output})`),
    async close() {
      child.stdin.end();
      const code = await closed;
      assert.equal(code, 0, `psql failed: ${output}`);
    },
  };
}

const randomTail = (length) => randomBytes(length).toString("base64url").replace(/[-_]/g, "x").slice(0, length);
const openaiKey = () => `sk-proj-${randomTail(40)}`;
const stripeKey = () => `sk_test_${randomTail(40)}`;
const hex = (bytes) => randomBytes(bytes).toString("hex");

/** A user with a profile, as signup would leave them (the key rows reference user_profiles). */
async function member() {
  const user = await newUser();
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  return user;
}

const put = (user, service, key) => call("PUT", `/api-keys/${service}`, { token: user.token, json: { key } });
const check = (user, service) => call("POST", `/api-keys/${service}/check`, { token: user.token });
const storedRow = (user, service) =>
  rows(`select id, user_id, service, key_ciphertext, nonce, salt, key_version, key_hint, status::text, status_reason, last_checked
        from public.security_api_keys where user_id = '${user.id}' and service = '${service}'`)[0];

/** Fails when any response text contains the key or any of the row's sealed columns. */
function assertNoSecrets(response, key, row) {
  const text = JSON.stringify(response.body);
  assert.ok(!text.includes(key), "the response must not contain the key");
  if (row) {
    for (const column of ["key_ciphertext", "nonce", "salt"]) {
      assert.ok(!text.includes(row[column]), `the response must not contain ${column}`);
    }
  }
  for (const field of ["key", "key_ciphertext", "ciphertext", "nonce", "salt"]) {
    assert.ok(!new RegExp(`"${field}"\\s*:\\s*"`).test(text), `no "${field}" string field in ${text}`);
  }
}

// ---- storing -------------------------------------------------------------------------------

describe("storing a key", () => {
  test("a new key is sealed under the current master key and answered with its hint only", async () => {
    const user = await member();
    const key = openaiKey();
    const response = await put(user, "openai", key);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.api_key.service, "openai");
    assert.equal(response.body.api_key.hint, key.slice(-4));
    assert.equal(response.body.api_key.status, "active");
    assert.equal(response.body.api_key.key_version, 2);

    const row = storedRow(user, "openai");
    assertNoSecrets(response, key, row);
    assert.ok(!row.key_ciphertext.includes(key.slice(8, 20)), "the database holds ciphertext, not the key");
    assert.equal(row.key_version, 2);
    assert.equal(row.key_hint, key.slice(-4));
    assert.equal(open(row), key, "node:crypto opens what the Worker sealed");
  });

  test("replacing a key answers 200, reseals with a fresh salt and nonce and resets its health", async () => {
    const user = await member();
    assert.equal((await put(user, "stripe", stripeKey())).status, 201);
    const first = storedRow(user, "stripe");
    sql(`update public.security_api_keys set status = 'unhealthy', status_reason = 'old' where user_id = '${user.id}'`);
    const replacement = stripeKey();
    const response = await put(user, "stripe", replacement);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const second = storedRow(user, "stripe");
    assert.equal(open(second), replacement);
    assert.notEqual(second.salt, first.salt);
    assert.notEqual(second.nonce, first.nonce);
    assert.deepEqual([second.status, second.status_reason, second.key_hint], ["active", null, replacement.slice(-4)]);
    assert.equal(rows(`select 1 from public.security_api_keys where user_id = '${user.id}'`).length, 1);
  });

  test("bad input gets a 4xx naming the problem, and nothing is stored", async () => {
    const user = await member();
    const unknown = expectError(assert, await put(user, "mailgun", "key-0123456789abcdef0123"), 400, "invalid_field");
    assert.equal(unknown.details.field, "service");
    assert.ok(unknown.details.supported.includes("openai"));

    for (const [service, key, fragment] of [
      ["openai", "pk-0123456789abcdefghijklmnop", "must start with sk-"],
      ["openai", "sk-short", "too short"],
      ["openai", "sk-0123456789 abcdefghijklmnop", "whitespace"],
      ["stripe", `pk_live_${randomTail(30)}`, "publishable"],
      ["twilio", `AC${hex(16)}-${hex(16)}`, "account SID"],
    ]) {
      const error = expectError(assert, await put(user, service, key), 400, "invalid_field");
      assert.equal(error.details.field, "key");
      assert.ok(error.message.includes(fragment), error.message);
      assert.ok(!error.message.includes(key), "the error must not echo the key");
    }
    expectError(assert, await call("PUT", "/api-keys/openai", { token: user.token, json: { key: openaiKey(), extra: 1 } }), 400);
    expectError(assert, await call("PUT", "/api-keys/openai", { token: user.token, json: {} }), 400);
    expectError(assert, await call("PUT", "/api-keys/openai", { token: user.token, body: "key=x", headers: { "content-type": "text/plain" } }), 415);
    expectError(assert, await call("PUT", "/api-keys/openai", { json: { key: openaiKey() } }), 401);
    assert.equal(rows(`select 1 from public.security_api_keys where user_id = '${user.id}'`).length, 0);
  });

  test("a key written with JSON escapes is stored as the key; a body over 8 KiB is refused unread", async () => {
    const user = await member();
    const key = openaiKey();
    goodKeys.add(key);
    const escaped = [...key].map((character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
    const stored = await call("PUT", "/api-keys/openai", { token: user.token, body: `{"key": "${escaped}"}`, headers: { "content-type": "application/json" } });
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    assert.equal(open(storedRow(user, "openai")), key);
    assert.equal((await check(user, "openai")).body.healthy, true);
    assert.equal(received.at(-1).headers.authorization, `Bearer ${key}`);

    const padded = `{"key": "${openaiKey()}"${" ".repeat(8 * 1024)}}`;
    const tooLarge = await call("PUT", "/api-keys/openai", { token: user.token, body: padded, headers: { "content-type": "application/json" } });
    assert.match(expectError(assert, tooLarge, 413, "payload_too_large").message, /8192 bytes/);
    assert.equal(open(storedRow(user, "openai")), key, "the refused body replaced nothing");
  });

  test("a caller without a profile is told to sign up first", async () => {
    const stranger = await newUser();
    const error = expectError(assert, await put(stranger, "openai", openaiKey()), 409, "conflict");
    assert.ok(error.message.includes("signup"), error.message);
  });
});

// ---- listing, deleting, isolation ----------------------------------------------------------

describe("listing and deleting", () => {
  test("the list shows the caller's keys without secret material, and delete removes one", async () => {
    const user = await member();
    const keys = { openai: openaiKey(), stripe: stripeKey() };
    for (const [service, key] of Object.entries(keys)) assert.equal((await put(user, service, key)).status, 201);

    const listed = await call("GET", "/api-keys", { token: user.token });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.keys.map((key) => key.service), ["openai", "stripe"]);
    for (const entry of listed.body.keys) {
      assert.deepEqual(Object.keys(entry).sort(), ["created_at", "hint", "key_version", "last_checked", "service", "status", "status_reason", "updated_at"]);
      assert.equal(entry.hint, keys[entry.service].slice(-4));
      assertNoSecrets(listed, keys[entry.service], storedRow(user, entry.service));
    }

    assert.equal((await call("DELETE", "/api-keys/openai", { token: user.token })).status, 204);
    expectError(assert, await call("DELETE", "/api-keys/openai", { token: user.token }), 404, "not_found");
    const remaining = await call("GET", "/api-keys", { token: user.token });
    assert.deepEqual(remaining.body.keys.map((key) => key.service), ["stripe"]);
  });

  test("another user cannot list, delete or check someone else's key", async () => {
    const owner = await member();
    const other = await member();
    const key = openaiKey();
    goodKeys.add(key);
    assert.equal((await put(owner, "openai", key)).status, 201);

    const listed = await call("GET", "/api-keys", { token: other.token });
    assert.deepEqual(listed.body.keys, []);
    expectError(assert, await call("DELETE", "/api-keys/openai", { token: other.token }), 404);
    const before = received.length;
    expectError(assert, await check(other, "openai"), 404);
    assert.equal(received.length, before, "no provider call for a key the caller does not have");
    assert.equal(storedRow(owner, "openai").status, "active", "the owner's row is untouched");
    assert.equal((await call("GET", "/api-keys", { token: owner.token })).body.keys.length, 1);
  });

  test("wrong methods and paths are refused in the one error shape", async () => {
    const user = await member();
    const wrong = expectError(assert, await call("POST", "/api-keys", { token: user.token }), 405, "method_not_allowed");
    assert.ok(wrong.message.includes("GET"));
    expectError(assert, await call("GET", "/api-keys/openai/check", { token: user.token }), 405);
    expectError(assert, await call("GET", "/api-keys/openai/x/y", { token: user.token }), 404);
    expectError(assert, await call("GET", "/api-keys"), 401);
  });
});

// ---- health checks -------------------------------------------------------------------------

describe("checking a key against its provider", () => {
  test("a key the provider accepts is recorded healthy; the provider saw exactly that key", async () => {
    const user = await member();
    const key = openaiKey();
    goodKeys.add(key);
    await put(user, "openai", key);
    const before = received.length;
    const response = await check(user, "openai");
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.healthy, true);
    assert.equal(response.body.api_key.status, "healthy");
    assert.equal(response.body.api_key.status_reason, null);
    assertNoSecrets(response, key);
    const calls = received.slice(before);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].url, "/openai/v1/models");
    assert.equal(calls[0].headers.authorization, `Bearer ${key}`);
    const row = storedRow(user, "openai");
    assert.equal(row.status, "healthy");
    assert.ok(Math.abs(Date.parse(row.last_checked) - Date.now()) < 60_000, `last_checked ${row.last_checked}`);
  });

  test("a key the provider rejects is recorded unhealthy with the reason", async () => {
    const user = await member();
    await put(user, "stripe", stripeKey());
    const response = await check(user, "stripe");
    assert.equal(response.status, 200);
    assert.equal(response.body.healthy, false);
    assert.equal(response.body.api_key.status, "unhealthy");
    assert.match(response.body.api_key.status_reason, /rejected the key \(HTTP 401\)/);
    assert.equal(storedRow(user, "stripe").status, "unhealthy");
  });

  test("twilio is checked with basic auth on the account path, anthropic with x-api-key", async () => {
    const user = await member();
    const sid = `AC${hex(16)}`;
    const twilio = `${sid}:${hex(16)}`;
    const anthropic = `sk-ant-api03-${randomTail(40)}`;
    goodKeys.add(twilio);
    goodKeys.add(anthropic);
    await put(user, "twilio", twilio);
    await put(user, "anthropic", anthropic);
    const before = received.length;
    assert.equal((await check(user, "twilio")).body.healthy, true);
    assert.equal((await check(user, "anthropic")).body.healthy, true);
    const [twilioCall, anthropicCall] = received.slice(before);
    assert.equal(twilioCall.url, `/twilio/2010-04-01/Accounts/${sid}.json`);
    assert.equal(twilioCall.headers.authorization, `Basic ${Buffer.from(twilio).toString("base64")}`);
    assert.equal(anthropicCall.headers["x-api-key"], anthropic);
    assert.equal(anthropicCall.headers.authorization, undefined);
  });

  test("a provider that is down is recorded unhealthy with the reason, and the call answers 200", async () => {
    const user = await member();
    await put(user, "resend", `re_${randomTail(30)}`);
    await put(user, "sendgrid", `SG.${randomTail(22)}.${randomTail(43)}`);
    const outage = await check(user, "resend");
    assert.equal(outage.status, 200);
    assert.equal(outage.body.api_key.status, "unhealthy");
    assert.match(outage.body.api_key.status_reason, /HTTP 503/);
    const unreachable = await check(user, "sendgrid");
    assert.equal(unreachable.status, 200, JSON.stringify(unreachable.body));
    assert.equal(unreachable.body.api_key.status, "unhealthy");
    assert.match(unreachable.body.api_key.status_reason, /could not be reached|did not answer/);
  });

  test("a provider that does not answer in time is recorded unhealthy once the timeout passes", async () => {
    const user = await member();
    const key = openaiKey();
    hangingKeys.add(key);
    await put(user, "openai", key);
    const started = Date.now();
    const response = await check(user, "openai");
    const timeout = Number(vars.API_KEYS_CHECK_TIMEOUT_MS);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.api_key.status_reason, `the provider did not answer within ${timeout} ms`);
    assert.ok(Date.now() - started >= timeout, "the check waited for the timeout");
  });

  test("a ciphertext moved to another user's row does not decrypt, and the provider is not called", async () => {
    const victim = await member();
    const thief = await member();
    const key = openaiKey();
    goodKeys.add(key);
    await put(victim, "openai", key);
    await put(thief, "openai", openaiKey());
    sql(`update public.security_api_keys t set key_ciphertext = v.key_ciphertext, nonce = v.nonce, salt = v.salt, key_version = v.key_version
         from public.security_api_keys v
         where t.user_id = '${thief.id}' and t.service = 'openai' and v.user_id = '${victim.id}' and v.service = 'openai'`);
    const before = received.length;
    const response = await check(thief, "openai");
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.healthy, false);
    assert.match(response.body.api_key.status_reason, /could not be decrypted/);
    assert.equal(received.length, before, "the stolen key never reached the provider");
    assertNoSecrets(response, key);
  });
});

// ---- rotation ------------------------------------------------------------------------------

describe("master-key rotation", () => {
  const maintenance = () => roleToken("maintenance", "e2e-key-rotation");

  async function rotateAll() {
    const bearer = await maintenance();
    const totals = { rotated: 0, skipped: 0, failed: [] };
    let after;
    for (let batch = 0; batch < 100; batch += 1) {
      const response = await call("POST", "/api-keys/rotate", { token: bearer, json: { limit: 2, ...(after ? { after } : {}) } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.current_version, 2);
      totals.rotated += response.body.rotated;
      totals.skipped += response.body.skipped;
      totals.failed.push(...response.body.failed);
      after = response.body.next_after;
      if (!after) return totals;
    }
    throw new Error("rotation did not finish in 100 batches");
  }

  test("rows on the old master key are re-encrypted under the current one and all still decrypt", async () => {
    const seeded = [];
    for (let i = 0; i < 3; i += 1) {
      const user = await member();
      const key = openaiKey();
      goodKeys.add(key);
      const columns = seal(user.id, "openai", key, 1);
      sql(`insert into public.security_api_keys (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint)
           values ('${user.id}', 'openai', '${columns.key_ciphertext}', '${columns.nonce}', '${columns.salt}', 1, '${key.slice(-4)}')`);
      seeded.push({ user, key, before: storedRow(user, "openai") });
    }
    // A v1 row that was tampered with cannot be rotated: reported, left as it is.
    const tampered = await member();
    const forged = seal(randomUUID(), "openai", openaiKey(), 1);
    sql(`insert into public.security_api_keys (user_id, service, key_ciphertext, nonce, salt, key_version)
         values ('${tampered.id}', 'openai', '${forged.key_ciphertext}', '${forged.nonce}', '${forged.salt}', 1)`);
    const tamperedId = rows(`select id from public.security_api_keys where user_id = '${tampered.id}'`)[0].id;

    try {
      const totals = await rotateAll();
      assert.ok(totals.rotated >= seeded.length, JSON.stringify(totals));
      const failure = totals.failed.find((failed) => failed.id === tamperedId);
      assert.match(failure?.reason ?? "", /did not decrypt/, JSON.stringify(totals.failed));
      assert.equal(rows(`select key_version from public.security_api_keys where id = '${tamperedId}'`)[0].key_version, 1);
      const ids = seeded.map(({ before }) => `'${before.id}'`).join(", ");
      assert.deepEqual(rows(`select id from public.security_api_keys where key_version <> 2 and id in (${ids})`), []);

      for (const { user, key, before } of seeded) {
        const after = storedRow(user, "openai");
        assert.equal(after.key_version, 2);
        assert.notEqual(after.key_ciphertext, before.key_ciphertext);
        assert.notEqual(after.salt, before.salt);
        assert.equal(open(after), key, "node:crypto opens the rotated row with the v2 master key");
        const checked = await check(user, "openai");
        assert.equal(checked.body.healthy, true, JSON.stringify(checked.body));
        assert.equal(received.at(-1).headers.authorization, `Bearer ${key}`);
        const events = rows(`select details from public.security_event_logs where user_id = '${user.id}' and event_type = 'api_key.rotated'`);
        assert.deepEqual(events, [{ details: { service: "openai", from_version: 1, to_version: 2 } }], "the owner can see the key was re-sealed");
      }
      const again = await rotateAll();
      assert.equal(again.rotated, 0, "a second run finds nothing left to rotate");
    } finally {
      sql(`delete from public.security_api_keys where id = '${tamperedId}'`);
    }
  });

  test("a key stored again while rotation holds the old one survives: rotation only overwrites the ciphertext it read", async () => {
    // During a master-key rollout a Worker still on the old ring seals a re-stored key under the
    // old version. Rotation reads the row, then this session stores the user's new key between
    // that read and rotation's write: the write waits for the session's row lock, then finds
    // the row changed.
    const user = await member();
    const [oldKey, newKey] = [openaiKey(), openaiKey()];
    const before = seal(user.id, "openai", oldKey, 1);
    sql(`insert into public.security_api_keys (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint)
         values ('${user.id}', 'openai', '${before.key_ciphertext}', '${before.nonce}', '${before.salt}', 1, '${oldKey.slice(-4)}')`);
    const rowId = storedRow(user, "openai").id;
    const restored = seal(user.id, "openai", newKey, 1);

    const session = psqlSession();
    session.send("begin;");
    session.send(`select 'row locked' from public.security_api_keys where id = '${rowId}' for update;`);
    await session.waitFor("row locked");
    const rotating = call("POST", "/api-keys/rotate", { token: await maintenance(), json: { limit: 200 } });
    await until(() => rows(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%security_api_keys%'`).length > 0,
      "rotation's UPDATE waiting for the row");
    session.send(`update public.security_api_keys set key_ciphertext = '${restored.key_ciphertext}', nonce = '${restored.nonce}',
                  salt = '${restored.salt}', key_version = 1, key_hint = '${newKey.slice(-4)}' where id = '${rowId}';`);
    session.send("commit;");
    await session.close();

    const response = await rotating;
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.ok(response.body.skipped >= 1, JSON.stringify(response.body));
    const after = storedRow(user, "openai");
    assert.equal(open(after), newKey, "the key stored during rotation is the one kept");
    assert.equal(after.key_version, 1, "left for the next rotation run");

    await rotateAll();
    const rotated = storedRow(user, "openai");
    assert.deepEqual([rotated.key_version, open(rotated)], [2, newKey], "the next run rotates the new key");
  });

  test("only privileged callers may rotate (tests/e2e/privileged.test.mjs), and a maintenance token is no user", async () => {
    const user = await member();
    expectError(assert, await call("POST", "/api-keys/rotate", { token: user.token }), 403, "forbidden");
    expectError(assert, await call("POST", "/api-keys/rotate"), 401);
    const bearer = await maintenance();
    const refused = expectError(assert, await call("GET", "/api-keys", { token: bearer }), 401, "unauthorized");
    assert.equal(refused.details?.reason, "wrong_audience");
    const limit = expectError(assert, await call("POST", "/api-keys/rotate", { token: bearer, json: { limit: 0 } }), 400);
    assert.equal(limit.details.field, "limit");
  });
});
