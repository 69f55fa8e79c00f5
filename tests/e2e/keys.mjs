// The privileged credentials of the stack's project, as the e2e tests present them: its secret
// API key, a service-role JWT shaped as Supabase issues it, and role tokens shaped and signed as
// the Worker mints them (shared::auth::RoleTokenSigner). The key mode follows the stack:
// STACK_KEYS=signing signs with the stack's signing-keys file (key 0 is the local Auth's, key 1
// the Worker's role-token key), anything else with the legacy JWT secret.
import { readFileSync } from "node:fs";
import { SignJWT, importJWK } from "jose";
import { env } from "./lib.mjs";

const signingMode = process.env.STACK_KEYS === "signing";

/** NAME=VALUE of a tests/e2e/vars file, for settings the stack does not pass in the environment. */
function fileVar(file, name) {
  const line = readFileSync(new URL(`./vars/${file}`, import.meta.url), "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${name}=`));
  return line?.slice(name.length + 1);
}

/** The project's secret API key (sb_secret_...), which the Worker has as SUPABASE_SECRET_KEY. */
export function secretKey() {
  const key = process.env.SECRET_KEY ?? fileVar("auth.env", "SUPABASE_SECRET_KEY");
  if (!key) throw new Error("no secret key: set SECRET_KEY or SUPABASE_SECRET_KEY in tests/e2e/vars/auth.env");
  return key;
}

async function signWith(claims, index) {
  if (!signingMode) {
    return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(env.jwtSecret));
  }
  const jwk = JSON.parse(readFileSync(process.env.SIGNING_KEYS_FILE, "utf8"))[index];
  return new SignJWT(claims).setProtectedHeader({ alg: jwk.alg, typ: "JWT", kid: jwk.kid }).sign(await importJWK(jwk, jwk.alg));
}

/**
 * A service_role JWT as Supabase issues it: no `aud`. Legacy: the CLI's service_role key shape
 * (HS256, `iss` "supabase-demo"); signing keys: signed with the project's (local Auth's) key.
 */
export async function serviceRoleKey() {
  const now = Math.floor(Date.now() / 1000);
  return signWith({ iss: signingMode ? "supabase" : "supabase-demo", role: "service_role", iat: now, exp: now + 3600 }, 0);
}

/** A token for a narrow database role, shaped and signed as the Worker mints its own. */
export async function roleToken(role, sub = "e2e") {
  const now = Math.floor(Date.now() / 1000);
  return signWith({ role, sub, iss: "rls-edge", iat: now - 5, exp: now + 60 }, 1);
}
