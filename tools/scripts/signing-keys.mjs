// Writes the local stack's signing-keys file, in the Supabase CLI's `signing_keys_path` format:
// a JSON array of private JWKs shaped exactly like `supabase gen signing-key --algorithm ES256`
// prints them. Two keys (/work/helpers/CONTRACT-keys.md):
//   0  the local Auth's key: signs user access tokens and the origin's anon/service_role tokens
//   1  the Worker's role-token key (JWT_SIGNING_KEY), as a user generates one with the CLI and
//      imports it into a project; nothing but the Worker signs with it, the JWKS publishes it
// Usage: node tools/scripts/signing-keys.mjs <file>
// Keeps an existing file (tokens signed with it stay valid); the file is written mode 0600.
import { existsSync, writeFileSync } from "node:fs";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node tools/scripts/signing-keys.mjs <file>");
  process.exit(2);
}
if (existsSync(file)) process.exit(0);

async function es256Key() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const { x, y, d } = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { kty: "EC", kid: crypto.randomUUID(), use: "sig", key_ops: ["sign", "verify"], alg: "ES256", ext: true, crv: "P-256", x, y, d };
}

const keys = [await es256Key(), await es256Key()];
// "wx": never overwrite a file another process wrote in the meantime.
writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: "wx" });
console.log(`signing-keys.mjs: wrote ${file} (kids ${keys.map((k) => k.kid).join(", ")})`);
