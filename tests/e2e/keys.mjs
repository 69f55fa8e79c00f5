// Privileged tokens of the stack's project, as the e2e tests present them (its secret API key is
// env.secretKey): a service-role JWT shaped as Supabase issues it, and role tokens shaped and
// signed as the Worker mints them (shared::auth::RoleTokenSigner). The key mode follows the stack:
// STACK_KEYS=signing signs with the stack's signing-keys file (key 0 is the local Auth's, key 1
// the Worker's role-token key), legacy with the HS256 secret.
import { SignJWT } from "jose";
import { env, stackSigningKey } from "./lib.mjs";

async function signWith(claims, index) {
  if (env.stackKeys !== "signing") {
    return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(env.jwtSecret));
  }
  const { kid, alg, key } = await stackSigningKey(index);
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT", kid }).sign(key);
}

/**
 * A service_role JWT as Supabase issues it: no `aud`. Legacy: the CLI's service_role key shape
 * (HS256, `iss` "supabase-demo"); signing keys: signed with the project's (local Auth's) key.
 */
export async function serviceRoleKey() {
  const now = Math.floor(Date.now() / 1000);
  return signWith({ iss: env.stackKeys === "signing" ? "supabase" : "supabase-demo", role: "service_role", iat: now, exp: now + 3600 }, 0);
}

/** A token for a narrow database role, shaped and signed as the Worker mints its own. */
export async function roleToken(role, sub = "e2e") {
  const now = Math.floor(Date.now() / 1000);
  return signWith({ role, sub, iss: "rls-edge", iat: now - 5, exp: now + 60 }, 1);
}
