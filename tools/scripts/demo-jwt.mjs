// Prints an access token for a user, shaped like one Supabase Auth issues. Signed ES256 with key 0
// of a signing-keys file (the local Auth's key, so /rest/v1 and the Worker verify it through the
// JWKS) or, given the legacy JWT secret instead, HS256.
// Usage: node tools/scripts/demo-jwt.mjs <signing-keys.json | jwt-secret> [sub] [email] [ttl-seconds]
// Default user: the seed's alice@example.com. `npm run dev` prints one.
import { existsSync, readFileSync } from "node:fs";
import { SignJWT, importJWK } from "jose";

const [keyOrSecret, sub = "a11ce000-0000-4000-8000-000000000001", email = "alice@example.com", ttl = "86400"] =
  process.argv.slice(2);
if (!keyOrSecret) {
  console.error("usage: node tools/scripts/demo-jwt.mjs <signing-keys.json | jwt-secret> [sub] [email] [ttl-seconds]");
  process.exit(2);
}
const now = Math.floor(Date.now() / 1000);
const token = new SignJWT({
  role: "authenticated",
  email,
  phone: "",
  app_metadata: { provider: "email", providers: ["email"] },
  user_metadata: { full_name: email.split("@")[0] },
  session_id: crypto.randomUUID(),
  is_anonymous: false,
  aal: "aal1",
  amr: [{ method: "password", timestamp: now }],
})
  .setSubject(sub)
  .setAudience("authenticated")
  .setIssuedAt(now)
  .setExpirationTime(now + Number(ttl));
if (existsSync(keyOrSecret)) {
  // key_ops lists "verify" too, which WebCrypto refuses on a private key.
  const [{ key_ops: _, ...key }] = JSON.parse(readFileSync(keyOrSecret, "utf8"));
  token.setIssuer(process.env.AUTH_URL ?? "http://127.0.0.1:54321/auth/v1").setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key.kid });
  console.log(await token.sign(await importJWK(key, "ES256")));
} else {
  token.setProtectedHeader({ alg: "HS256", typ: "JWT" });
  console.log(await token.sign(new TextEncoder().encode(keyOrSecret)));
}
