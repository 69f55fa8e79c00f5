// End-to-end tests of /functions/v1/signup against the running stack: the Worker in wrangler
// dev, the PostgREST-compatible gateway and Postgres. What the endpoint answers is checked over
// HTTP; what it wrote (or did not write) is checked in Postgres as the superuser. Sign-up's rate
// limit is lifted while the file runs (see lift-limit.mjs); the limiter has its own suite.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { call, env, expectError, newUser, rows, token, userOutsideAuth } from "./lib.mjs";
import { liftRateLimit } from "./lift-limit.mjs";

let restoreRateLimit = () => {};
before(async () => {
  restoreRateLimit = await liftRateLimit("signup");
});
after(() => restoreRateLimit());

/** Every row sign-up may create for a user, counted per table. */
function footprint(userId) {
  const [counts] = rows(`
    select
      (select count(*) from public.user_profiles where id = '${userId}')::int as profiles,
      (select count(*) from public.workspaces where owner_id = '${userId}')::int as workspaces,
      (select count(*) from public.workspace_members where user_id = '${userId}')::int as memberships,
      (select count(*) from public.user_email_preferences where user_id = '${userId}')::int as email_preferences,
      (select count(*) from public.user_onboarding_status where user_id = '${userId}')::int as onboarding`);
  return counts;
}

const NOTHING = { profiles: 0, workspaces: 0, memberships: 0, email_preferences: 0, onboarding: 0 };
const ONE_OF_EACH = { profiles: 1, workspaces: 1, memberships: 1, email_preferences: 1, onboarding: 1 };

const signUp = (user, json) => call("POST", "/signup", { token: user.token, json });

/** A request to PostgREST directly, as a client holding `bearer` would make it. */
async function postgrest(method, path, bearer, body) {
  const headers = { apikey: env.anonKey, authorization: `Bearer ${bearer}`, prefer: "return=representation" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${env.postgrestUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe("first and repeated sign-up", () => {
  test("the first call creates a profile and personal workspace (201), a repeat returns them (200)", async () => {
    const user = await newUser();
    const first = await signUp(user, {
      full_name: "  Ada Lovelace  ",
      avatar_url: "https://cdn.example.com/ada.png",
      workspace_name: "Analytical Engines",
      timezone: "Europe/London",
      marketing_opt_in: true,
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.created, true);
    const { profile, workspace } = first.body;
    assert.equal(profile.id, user.id);
    assert.equal(profile.email, user.email);
    assert.equal(profile.full_name, "Ada Lovelace");
    assert.equal(profile.role, "user");
    assert.equal(profile.avatar_url, "https://cdn.example.com/ada.png");
    assert.equal(profile.timezone, "Europe/London");
    assert.equal(workspace.name, "Analytical Engines");
    assert.equal(workspace.owner_id, user.id);
    assert.equal(workspace.is_personal, true);

    const [stored] = rows(`
      select p.full_name, w.id as workspace_id, m.role as member_role, e.marketing_emails, o.current_step
      from public.user_profiles p
      join public.workspaces w on w.owner_id = p.id and w.is_personal
      join public.workspace_members m on m.workspace_id = w.id and m.user_id = p.id
      join public.user_email_preferences e on e.user_id = p.id
      join public.user_onboarding_status o on o.user_id = p.id
      where p.id = '${user.id}'`);
    assert.deepEqual(stored, {
      full_name: "Ada Lovelace",
      workspace_id: workspace.id,
      member_role: "owner",
      marketing_emails: true,
      current_step: "welcome",
    });

    // A repeat, even with a different body, returns what is stored and changes nothing.
    const second = await signUp(user, { full_name: "Someone Else", marketing_opt_in: false });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.created, false);
    assert.deepEqual(second.body.profile, profile);
    assert.deepEqual(second.body.workspace, workspace);
    assert.deepEqual(footprint(user.id), ONE_OF_EACH);
    assert.equal(rows(`select marketing_emails from public.user_email_preferences where user_id = '${user.id}'`)[0].marketing_emails, true);
  });

  test("without a body the name comes from the token's user_metadata and marketing stays off", async () => {
    const user = await newUser({ metadata: { full_name: "Grace Hopper" } });
    const response = await call("POST", "/signup", { token: user.token });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.profile.full_name, "Grace Hopper");
    assert.equal(response.body.workspace.name, "Grace Hopper's workspace");
    assert.equal(rows(`select marketing_emails from public.user_email_preferences where user_id = '${user.id}'`)[0].marketing_emails, false);
  });

  test("a name in user_metadata that breaks the rules is refused naming full_name; sending one fixes it", async () => {
    const user = await newUser({ metadata: { full_name: "n".repeat(200) } });
    const refused = await signUp(user, {});
    const error = expectError(assert, refused, 400, "invalid_field");
    assert.equal(error.details.field, "full_name");
    assert.deepEqual(footprint(user.id), NOTHING);
    const fixed = await signUp(user, { full_name: "Short Name" });
    assert.equal(fixed.status, 201, JSON.stringify(fixed.body));
    assert.equal(fixed.body.profile.full_name, "Short Name");
  });

  test("an empty JSON object and an empty body with a JSON content type both mean the defaults", async () => {
    const user = await newUser();
    const response = await signUp(user, {});
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.profile.full_name, null);
    assert.equal(response.body.workspace.name, `${user.email.split("@")[0]}'s workspace`);
    const other = await newUser();
    const empty = await call("POST", "/signup", { token: other.token, body: "", headers: { "content-type": "application/json" } });
    assert.equal(empty.status, 201, JSON.stringify(empty.body));
  });

  test("GET answers 404 before sign-up and the same profile and workspace after", async () => {
    const user = await newUser();
    expectError(assert, await call("GET", "/signup", { token: user.token }), 404, "profile_not_found");
    const created = await signUp(user, { full_name: "Katherine Johnson" });
    assert.equal(created.status, 201);
    const shown = await call("GET", "/signup", { token: user.token });
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.deepEqual(shown.body, { profile: created.body.profile, workspace: created.body.workspace });
  });

  test("ten concurrent first calls create exactly one profile and one workspace", async () => {
    const user = await newUser();
    const responses = await Promise.all(Array.from({ length: 10 }, () => signUp(user, { full_name: "Racing Rita" })));
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 201], JSON.stringify(responses.map((r) => r.body)));
    assert.equal(responses.filter((response) => response.body.created).length, 1);
    assert.equal(new Set(responses.map((response) => response.body.profile.id)).size, 1);
    assert.equal(new Set(responses.map((response) => response.body.workspace.id)).size, 1);
    assert.deepEqual(footprint(user.id), ONE_OF_EACH);
  });
});

describe("isolation between users", () => {
  test("another user's token never sees or changes the first user's rows", async () => {
    const alice = await newUser({ metadata: { full_name: "Alice Original" } });
    const bob = await newUser();
    const aliceSignup = await signUp(alice, {});
    assert.equal(aliceSignup.status, 201);
    const aliceWorkspace = aliceSignup.body.workspace.id;

    // Through the function: Bob gets 404 before his own sign-up, then only his own rows.
    expectError(assert, await call("GET", "/signup", { token: bob.token }), 404, "profile_not_found");
    const bobSignup = await signUp(bob, {});
    assert.equal(bobSignup.status, 201);
    const bobView = await call("GET", "/signup", { token: bob.token });
    assert.equal(bobView.body.profile.id, bob.id);
    assert.notEqual(bobView.body.workspace.id, aliceWorkspace);

    // Directly through PostgREST with Bob's token: reads come back empty, writes touch nothing.
    const profiles = await postgrest("GET", `/user_profiles?id=eq.${alice.id}`, bob.token);
    assert.deepEqual(profiles, { status: 200, body: [] });
    const allProfiles = await postgrest("GET", "/user_profiles?select=id", bob.token);
    assert.deepEqual(allProfiles.body, [{ id: bob.id }]);
    assert.deepEqual((await postgrest("GET", `/workspaces?id=eq.${aliceWorkspace}`, bob.token)).body, []);
    assert.deepEqual((await postgrest("GET", `/workspace_members?workspace_id=eq.${aliceWorkspace}`, bob.token)).body, []);
    assert.deepEqual((await postgrest("GET", `/user_email_preferences?user_id=eq.${alice.id}`, bob.token)).body, []);

    const rename = await postgrest("PATCH", `/user_profiles?id=eq.${alice.id}`, bob.token, { full_name: "Hijacked" });
    assert.deepEqual(rename, { status: 200, body: [] });
    const renameWorkspace = await postgrest("PATCH", `/workspaces?id=eq.${aliceWorkspace}`, bob.token, { name: "Hijacked" });
    assert.deepEqual(renameWorkspace, { status: 200, body: [] });
    const remove = await postgrest("DELETE", `/workspaces?id=eq.${aliceWorkspace}`, bob.token);
    assert.deepEqual(remove, { status: 200, body: [] });
    const optIn = await postgrest("PATCH", `/user_email_preferences?user_id=eq.${alice.id}`, bob.token, { marketing_emails: true });
    assert.deepEqual(optIn, { status: 200, body: [] });
    // Joining Alice's workspace is refused by the insert policy.
    const join = await postgrest("POST", "/workspace_members", bob.token, { workspace_id: aliceWorkspace, user_id: bob.id, role: "member" });
    assert.equal(join.status, 403, JSON.stringify(join.body));

    const [stored] = rows(`
      select p.full_name, w.name as workspace_name, e.marketing_emails,
             (select count(*) from public.workspace_members m where m.workspace_id = w.id)::int as members
      from public.user_profiles p
      join public.workspaces w on w.id = '${aliceWorkspace}'
      join public.user_email_preferences e on e.user_id = p.id
      where p.id = '${alice.id}'`);
    assert.deepEqual(stored, {
      full_name: "Alice Original",
      workspace_name: "Alice Original's workspace",
      marketing_emails: false,
      members: 1,
    });
  });

  test("a token carrying another user's email cannot take over that address", async () => {
    const owner = await newUser();
    assert.equal((await signUp(owner, {})).status, 201);
    // The intruder's confirmed address is their own; the one in the token is not theirs.
    const intruder = await newUser();
    const forgedEmail = await token({ sub: intruder.id, email: owner.email });
    expectError(assert, await call("POST", "/signup", { token: forgedEmail, json: {} }), 403);
    assert.deepEqual(footprint(intruder.id), NOTHING);
    // Another account that did confirm the address, in other letters' case, finds it taken.
    const twin = await userOutsideAuth({ email: owner.email.toUpperCase() });
    expectError(assert, await signUp(twin, {}), 409, "email_taken");
    assert.deepEqual(footprint(twin.id), NOTHING);
  });

  test("an address nobody confirmed cannot be claimed, and stays free for its owner", async () => {
    const address = `ceo-${randomUUID().slice(0, 8)}@victim.test`;
    const squatter = await newUser({ email: address, confirmed: false });
    expectError(assert, await signUp(squatter, {}), 403, "email_not_confirmed");
    assert.deepEqual(footprint(squatter.id), NOTHING);
    assert.deepEqual(rows(`select id from public.user_profiles where lower(email) = '${address}'`), []);

    const owner = await userOutsideAuth({ email: address });
    const claimed = await signUp(owner, {});
    assert.equal(claimed.status, 201, JSON.stringify(claimed.body));
    assert.equal(claimed.body.profile.email, address);
  });
});

describe("refused callers", () => {
  test("missing, forged and expired tokens get 401 in the one error shape and nothing is written", async () => {
    const user = await newUser();
    const forged = await token({ sub: user.id, email: user.email }, { secret: "not-the-project-secret-but-long-enough-to-sign" });
    const expired = await token({ sub: user.id, email: user.email }, { expiresIn: -3600 });
    const cases = {
      missing: await call("POST", "/signup", { json: {} }),
      forged: await call("POST", "/signup", { token: forged, json: {} }),
      expired: await call("POST", "/signup", { token: expired, json: {} }),
      "not a JWT": await call("POST", "/signup", { token: "definitely-not-a-jwt", json: {} }),
      "missing on GET": await call("GET", "/signup"),
      "forged on GET": await call("GET", "/signup", { token: forged }),
    };
    for (const [name, response] of Object.entries(cases)) {
      const error = expectError(assert, response, 401, "unauthorized");
      assert.equal(response.headers.get("x-request-id"), error.request_id, name);
      assert.equal(response.headers.get("www-authenticate"), "Bearer", name);
    }
    assert.deepEqual(footprint(user.id), NOTHING);
  });

  test("anonymous sign-ins are refused with 403 anonymous_not_allowed", async () => {
    const anonymous = await newUser({ claims: { is_anonymous: true, email: undefined } });
    const error = expectError(assert, await signUp(anonymous, {}), 403, "anonymous_not_allowed");
    assert.match(error.message, /anonymous/);
    // Refused even when the anonymous token happens to carry an email.
    const withEmail = await newUser({ claims: { is_anonymous: true } });
    expectError(assert, await signUp(withEmail, {}), 403, "anonymous_not_allowed");
    assert.deepEqual(footprint(anonymous.id), NOTHING);
    assert.deepEqual(footprint(withEmail.id), NOTHING);
  });

  test("an anonymous user cannot create a profile through PostgREST either, whatever its token says", async () => {
    const anonymous = await newUser({ claims: { is_anonymous: true } });
    const direct = await postgrest("POST", "/rpc/create_profile_on_signup", anonymous.token, {});
    assert.equal(direct.status, 403, JSON.stringify(direct.body));
    // Its auth.users row says anonymous even when the token leaves the claim out.
    const unmarked = await token({ sub: anonymous.id, email: anonymous.email });
    assert.equal((await postgrest("POST", "/rpc/create_profile_on_signup", unmarked, {})).status, 403);
    assert.deepEqual(footprint(anonymous.id), NOTHING);
  });

  test("tokens without an email are refused with 422 email_required", async () => {
    const phoneOnly = await newUser({ claims: { email: undefined, phone: "15550100" } });
    expectError(assert, await signUp(phoneOnly, {}), 422, "email_required");
    const blank = await newUser({ claims: { email: "" } });
    expectError(assert, await signUp(blank, {}), 422, "email_required");
    assert.deepEqual(footprint(phoneOnly.id), NOTHING);
    assert.deepEqual(footprint(blank.id), NOTHING);
  });

  test("a valid token that belongs to no user is refused with 403 user_token_required", async () => {
    const serviceLike = await token({ role: "service_role", email: "ops@example.test" });
    expectError(assert, await call("POST", "/signup", { token: serviceLike, json: {} }), 403, "user_token_required");
  });
});

describe("refused bodies write nothing", () => {
  /** Sends `request` for a fresh user and checks the refusal and that the user has no rows. */
  async function refused(request, status, code) {
    const user = await newUser();
    const response = await call("POST", "/signup", { token: user.token, ...request });
    const error = expectError(assert, response, status, code);
    assert.deepEqual(footprint(user.id), NOTHING);
    return error;
  }

  test("malformed JSON is a 400 that says where", async () => {
    const error = await refused({ body: '{"full_name": "Ada",', headers: { "content-type": "application/json" } }, 400, "invalid_json");
    assert.match(error.message, /line 1, column \d+/);
  });

  test("a body that is not a JSON object is a 400", async () => {
    await refused({ body: '["Ada"]', headers: { "content-type": "application/json" } }, 400, "invalid_body");
  });

  test("a non-JSON content type is a 415", async () => {
    await refused({ body: "full_name=Ada", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415, "unsupported_media_type");
    await refused({ body: '{"full_name":"Ada"}', headers: { "content-type": "text/plain" } }, 415, "unsupported_media_type");
  });

  test("a 2 MiB body is a 413", async () => {
    const huge = JSON.stringify({ full_name: "x".repeat(2 * 1024 * 1024) });
    await refused({ body: huge, headers: { "content-type": "application/json" } }, 413, "payload_too_large");
  });

  test("unknown fields are refused naming the field", async () => {
    const error = await refused({ json: { full_name: "Ada", is_admin: true } }, 400, "invalid_field");
    assert.equal(error.details.field, "is_admin");
    assert.match(error.message, /unknown field 'is_admin'/);
  });

  test("email and role in the body are refused with their reason", async () => {
    const email = await refused({ json: { email: "someone-else@example.test" } }, 400, "invalid_field");
    assert.equal(email.details.field, "email");
    assert.match(email.message, /access token/);
    const role = await refused({ json: { full_name: "Ada", role: "admin" } }, 400, "invalid_field");
    assert.equal(role.details.field, "role");
    assert.match(role.message, /cannot be set by a client/);
  });

  test("each field's rule names the field", async () => {
    const cases = [
      [{ full_name: "   " }, "full_name", /must not be blank/],
      [{ full_name: "x".repeat(121) }, "full_name", /at most 120 characters/],
      [{ full_name: "Ada\nLovelace" }, "full_name", /control characters/],
      [{ workspace_name: "Ops\u202Egnp.exe" }, "workspace_name", /text-direction/],
      [{ avatar_url: "http://cdn.example.com/a.png" }, "avatar_url", /https/],
      [{ avatar_url: "not a url" }, "avatar_url", /spaces/],
      [{ avatar_url: "https://user:secret@cdn.example.com/a.png" }, "avatar_url", /user name or password/],
      [{ avatar_url: `https://cdn.example.com/${"a".repeat(2100)}` }, "avatar_url", /2048/],
      [{ timezone: "../../etc/passwd" }, "timezone", /IANA/],
      [{ marketing_opt_in: "yes" }, "marketing_opt_in", /true or false/],
      [{ full_name: 42 }, "full_name", /must be a string/],
    ];
    for (const [json, field, message] of cases) {
      const error = await refused({ json }, 400, "invalid_field");
      assert.equal(error.details.field, field, JSON.stringify(json));
      assert.match(error.message, message, JSON.stringify(json));
    }
  });

  test("a well-formed but unknown time zone is refused by the database, still naming the field", async () => {
    const error = await refused({ json: { timezone: "Mars/Olympus_Mons" } }, 400, "invalid_field");
    assert.equal(error.details.field, "timezone");
    assert.match(error.message, /not a known IANA time zone/);
  });
});

describe("routing", () => {
  test("other methods get 405 with Allow, other paths 404", async () => {
    const user = await newUser();
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const response = await call(method, "/signup", { token: user.token, json: {} });
      expectError(assert, response, 405, "method_not_allowed");
      assert.equal(response.headers.get("allow"), "GET, POST");
    }
    expectError(assert, await call("POST", "/signup/again", { token: user.token, json: {} }), 404, "not_found");
    assert.deepEqual(footprint(user.id), NOTHING);
  });

  test("a fresh id never seen by auth.users cannot sign up", async () => {
    const stranger = await token({ sub: randomUUID(), email: `stranger-${randomUUID().slice(0, 8)}@example.test` });
    const response = await call("POST", "/signup", { token: stranger, json: {} });
    expectError(assert, response, 403, "forbidden");
  });
});
