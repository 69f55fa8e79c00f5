// A Worker of a test file's own: the same built bundle in a second `wrangler dev`, configured
// like the stack's Worker (its PostgREST, keys and tests/e2e/vars/*.env) plus the settings the
// file changes. For tests that need an isolate nobody else has touched (JWKS cache state) or a
// setting the shared Worker must not have (a JWKS URL the test serves, a wrong key).
//
//   const worker = await startOwnWorker({ port: 24620, vars: { JWKS_URL: "..." } });
//   await fetch(`${worker.functionsUrl}/health`); ... await worker.stop();
//
// `config` picks another wrangler config, e.g. workers/signup.wrangler.toml for that function's
// own Worker. tools/scripts/test.sh has already built the bundle and signup's own Worker;
// wrangler's build step (build.sh) finds them up to date. Every process started here is stopped by stop(), and on exit.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { env } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const START_DEADLINE_MS = 120_000;

/** NAME=VALUE lines of tests/e2e/vars/*.env, as test.sh passes them to the stack's Worker. */
function fileVars() {
  const dir = path.join(root, "tests/e2e/vars");
  const vars = {};
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".env")).sort()) {
    for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const at = line.indexOf("=");
      vars[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return vars;
}

/** The settings the stack gives its Worker (tools/scripts/stack.sh, stack_worker_vars), read
 * back from the environment the tests get. */
export function stackWorkerVars() {
  const vars = { POSTGREST_URL: env.postgrestUrl, SUPABASE_PUBLISHABLE_KEY: env.anonKey, ...fileVars() };
  if (env.stackKeys === "signing") {
    vars.JWT_SIGNING_KEY = JSON.stringify(JSON.parse(readFileSync(env.signingKeysFile, "utf8"))[1]);
    vars.JWKS_URL = `${env.authUrl}/.well-known/jwks.json`;
    vars.SUPABASE_SECRET_KEY = env.secretKey;
  } else {
    vars.SUPABASE_JWT_SECRET = env.jwtSecret;
  }
  return vars;
}

/**
 * Starts the bundle (or the Worker of `config`) in its own `wrangler dev` on `port` with the stack's settings, `vars` on top
 * (a `null` value removes a setting), and waits until it answers.
 */
export async function startOwnWorker({ port, vars = {}, config = "wrangler.toml" }) {
  const settings = { ...stackWorkerVars(), ...vars };
  const args = ["dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0", "--show-interactive-dev-session=false"];
  const state = mkdtempSync(path.join(tmpdir(), "rls-edge-own-worker-"));
  // Exactly these settings: an empty --env-file keeps wrangler from reading .dev.vars.
  args.push("--persist-to", state, "--env-file", "/dev/null");
  for (const [name, value] of Object.entries(settings)) {
    if (value !== null && value !== undefined) args.push("--var", `${name}:${value}`);
  }
  const log = [];
  const child = spawn(path.join(root, "node_modules/.bin/wrangler"), args, {
    cwd: root,
    env: { ...process.env, RLS_EDGE_SKIP_SETUP: "1", WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk) => log.push(chunk.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stopChild = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  };
  process.once("exit", stopChild);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log.join("").slice(-4000)}`);
    try {
      await fetch(`${url}/functions/v1/health`);
      break;
    } catch {
      if (Date.now() > deadline) {
        stopChild();
        throw new Error(`wrangler dev did not answer on ${url} within ${START_DEADLINE_MS / 1000} s:\n${log.join("").slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  return {
    url,
    functionsUrl: `${url}/functions/v1`,
    log: () => log.join(""),
    async stop() {
      stopChild();
      await exited;
      process.off("exit", stopChild);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
