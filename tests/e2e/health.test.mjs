// End-to-end tests of GET /functions/v1/health (src/health.rs, shared::health): publicly only
// ok/degraded; the details (which check, which variable) only with a privileged credential; a key
// the project refuses, or a configuration without one, is degraded and named.
//
// The broken configurations run in Workers of this file's own (own-worker.mjs), so the stack's
// Worker stays healthy for every other file.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair } from "jose";
import { call, env } from "./lib.mjs";
import { startOwnWorker } from "./own-worker.mjs";

const UNTRUSTED_KEY_PORT = 24640;
const NO_KEY_PORT = 24641;
const WRONG_APIKEY_PORT = 24642;
const signingMode = process.env.STACK_KEYS === "signing";
const workers = [];

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
});

async function ownWorker(port, vars) {
  const worker = await startOwnWorker({ port, vars });
  workers.push(worker);
  return worker;
}

/** A private JWK as `supabase gen signing-key --algorithm ES256` prints it, never imported anywhere. */
async function untrustedSigningKey() {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: "e2e-never-imported", use: "sig", key_ops: ["sign", "verify"], alg: "ES256", ext: true };
}

const health = (options = {}) => call("GET", "/health", options);
const details = (base) => health({ base, headers: { apikey: env.secretKey } });

describe("health", () => {
  test("publicly: 200 and only the status", async () => {
    const response = await health();
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.match(response.headers.get("content-type"), /^application\/json/);
    assert.deepEqual(response.body, { status: "ok" });
  });

  test("to the secret key: every check, what signs the role tokens, nothing secret", async () => {
    const response = await health({ headers: { apikey: env.secretKey } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const body = response.body;
    assert.equal(body.status, "ok");
    assert.deepEqual(body.config, { ok: true, problems: [] });
    assert.deepEqual(body.postgrest.verdict, { ok: true, status: 200 });
    assert.equal(body.postgrest.check, "GET system_rate_limits as rate_limiter");
    assert.equal(body.role_tokens.alg, signingMode ? "ES256" : "HS256");
    for (const name of ["health", "signup", "cleanup"]) assert.ok(body.functions.includes(name), name);
    assert.deepEqual(Object.keys(body.function_config).sort(), [...body.functions].sort(), "every function's own settings are checked");
    for (const [name, checked] of Object.entries(body.function_config)) assert.deepEqual(checked, { ok: true, problems: [] }, name);
    assert.equal(body.caller, "secret_key");
    assert.ok(!JSON.stringify(body).includes(env.secretKey));
  });

  test("a role-token key the project does not trust is degraded, and the details name JWT_SIGNING_KEY", async () => {
    // A function's own broken setting rides along: it shows in the details, under that function.
    const vars = { JWT_SIGNING_KEY: JSON.stringify(await untrustedSigningKey()), LEAD_SCORING_BATCH_MAX: "lots" };
    const base = (await ownWorker(UNTRUSTED_KEY_PORT, vars)).functionsUrl;
    const response = await health({ base });
    assert.equal(response.status, 503);
    assert.deepEqual(response.body, { status: "degraded" });
    const detailed = await details(base);
    assert.equal(detailed.status, 503);
    const verdict = detailed.body.postgrest.verdict;
    assert.equal(verdict.ok, false);
    assert.equal(verdict.status, 401);
    assert.equal(verdict.variable, "JWT_SIGNING_KEY");
    assert.match(verdict.problem, /PGRST30\d/);
    assert.deepEqual(detailed.body.role_tokens, { alg: "ES256", kid: "e2e-never-imported" });
    const leadScoring = detailed.body.function_config["lead-scoring"];
    assert.equal(leadScoring.ok, false);
    assert.match(leadScoring.problems.join("\n"), /^LEAD_SCORING_BATCH_MAX: /);
    assert.ok(!JSON.stringify(leadScoring).includes("lots"), "the value itself is never shown");
    assert.deepEqual(detailed.body.function_config.signup, { ok: true, problems: [] });
  });

  test("no key to sign role tokens with: degraded, and the details name the variable", async () => {
    const base = (await ownWorker(NO_KEY_PORT, { JWT_SIGNING_KEY: null, SUPABASE_JWT_SECRET: null })).functionsUrl;
    const response = await health({ base });
    assert.equal(response.status, 503);
    assert.deepEqual(response.body, { status: "degraded" });
    const detailed = await details(base);
    assert.equal(detailed.body.config.ok, false);
    assert.ok(detailed.body.config.problems.some((problem) => problem.startsWith("JWT_SIGNING_KEY: is not set")), JSON.stringify(detailed.body.config));
    assert.equal(detailed.body.postgrest.verdict.ok, false);
    const run = await call("POST", "/cleanup/run", { base, headers: { apikey: env.secretKey } });
    assert.equal(run.status, 500, "a job that needs a role token says the server is misconfigured");
    assert.equal(run.body.error.details?.code, "config_invalid");
  });

  test(
    "an apikey the API gateway refuses is degraded, and the details name SUPABASE_PUBLISHABLE_KEY",
    { skip: !process.env.PUBLISHABLE_KEY && "the stack's PostgREST does not check the apikey (no API gateway in front of it)" },
    async () => {
      const base = (await ownWorker(WRONG_APIKEY_PORT, { SUPABASE_PUBLISHABLE_KEY: "sb_publishable_notThisProjects0123456789" })).functionsUrl;
      const response = await health({ base });
      assert.deepEqual([response.status, response.body], [503, { status: "degraded" }]);
      const verdict = (await details(base)).body.postgrest.verdict;
      assert.deepEqual([verdict.ok, verdict.status, verdict.variable], [false, 401, "SUPABASE_PUBLISHABLE_KEY"]);
    },
  );
});
