// Prints an HS256 access token for the seed's demo user, shaped like one Supabase Auth issues.
// Usage: node tools/scripts/demo-jwt.mjs <jwt-secret> [sub] [email] [ttl-seconds]
import { SignJWT } from "jose";

const [secret, sub = "a11ce000-0000-4000-8000-000000000001", email = "alice@example.com", ttl = "86400"] =
  process.argv.slice(2);
if (!secret) {
  console.error("usage: node tools/scripts/demo-jwt.mjs <jwt-secret> [sub] [email] [ttl-seconds]");
  process.exit(2);
}
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({
  role: "authenticated",
  email,
  app_metadata: { provider: "email", providers: ["email"] },
  user_metadata: { full_name: email.split("@")[0] },
  session_id: crypto.randomUUID(),
  is_anonymous: false,
  aal: "aal1",
})
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(sub)
  .setAudience("authenticated")
  .setIssuedAt(now)
  .setExpirationTime(now + Number(ttl))
  .sign(new TextEncoder().encode(secret));
console.log(token);
