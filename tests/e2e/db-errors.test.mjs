// End-to-end: what a client reads when the database refuses a request. The
// database's own words (constraint names, the values that broke a rule, hints) must not reach
// the client, which gets a fixed message and the SQLSTATE; they go to the Worker's log line,
// with the request id. Each test makes Postgres refuse a real function's write with such words
// (a trigger a deployment might have, or the signup RPC's own check) and reads both sides.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { call, expectError, newUser, sql } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";
import { workerLog } from "./worker-log.mjs";

/** A user with a profile, as signup would leave them. */
async function member() {
  const user = await newUser();
  sql(`insert into public.user_profiles (id, email) values ('${user.id}', '${user.email}')`);
  return user;
}

/** Runs `body` while every write to security_api_keys raises `raise` (PL/pgSQL) in a trigger. */
async function whileKeyWritesRaise(raise, body) {
  const name = `e2e_refuse_${randomUUID().replaceAll("-", "").slice(0, 8)}`;
  sql(`create function public.${name}() returns trigger language plpgsql as $$ begin ${raise}; end $$;
       create trigger ${name} before insert or update on public.security_api_keys for each row execute function public.${name}();`);
  try {
    await body();
  } finally {
    sql(`drop trigger ${name} on public.security_api_keys; drop function public.${name}();`);
  }
}

/** The response hides every fragment; the request's log line has them all as its error cause. */
async function onlyTheLogKnows(response, fragments) {
  const text = JSON.stringify(response.body);
  for (const fragment of fragments) assert.ok(!text.includes(fragment), `${fragment} reached the client: ${text}`);
  const requestId = response.headers.get("x-request-id");
  const request = (await workerLog(requestId)).find((line) => line.msg === "request");
  assert.equal(request.request_id, requestId);
  for (const fragment of fragments) assert.ok(request.error_cause?.includes(fragment), `${fragment} is not in the log: ${request.error_cause}`);
}

describe("database errors", () => {
  test("a check's message, details and hint (a constraint name, a row's values) stay in the log", async () => {
    const user = await member();
    const key = `sk-proj-${"k".repeat(40)}`;
    await whileKeyWritesRaise(
      `raise exception using errcode = '23514', message = 'new row violates check constraint "security_api_keys_secret_rule"',
         detail = 'Failing row contains (' || new.user_id || ', owner-note-7f3a).', hint = 'ask the DBA about internal_table_x'`,
      async () => {
        const response = await call("PUT", "/api-keys/openai", { token: user.token, json: { key } });
        const error = expectError(assert, response, 400, "invalid_request");
        assert.equal(error.details.db_code, "23514", "the client still gets the SQLSTATE");
        assert.equal(error.message, "the database refused a value in this request");
        await onlyTheLogKnows(response, ["security_api_keys_secret_rule", "owner-note-7f3a", user.id, "internal_table_x"]);
      },
    );
  });

  test("a unique violation is a 409 conflict that names neither the constraint nor the value", async () => {
    const user = await member();
    await whileKeyWritesRaise(
      `raise exception using errcode = '23505', message = 'duplicate key value violates unique constraint "keys_by_owner_email_idx"',
         detail = 'Key (email)=(someone-else@example.test) already exists.'`,
      async () => {
        const response = await call("PUT", "/api-keys/openai", { token: user.token, json: { key: `sk-proj-${"u".repeat(40)}` } });
        const error = expectError(assert, response, 409, "conflict");
        assert.equal(error.details.db_code, "23505");
        await onlyTheLogKnows(response, ["keys_by_owner_email_idx", "someone-else@example.test"]);
      },
    );
  });

  test("a value the signup RPC refuses is named by field, not repeated back", async () => {
    const restore = await liftRateLimit("signup");
    try {
      const user = await newUser();
      const response = await call("POST", "/signup", { token: user.token, json: { timezone: "Mars/Olympus_Mons" } });
      const error = expectError(assert, response, 400, "invalid_field");
      assert.equal(error.details.field, "timezone");
      assert.match(error.message, /not a known IANA time zone/);
      await onlyTheLogKnows(response, ["Mars/Olympus_Mons"]);
    } finally {
      restore();
    }
  });
});
