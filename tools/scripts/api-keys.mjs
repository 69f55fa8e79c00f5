// Writes the local stack's API keys: a publishable key (sb_publishable_..., runs as anon) and a
// secret key (sb_secret_..., runs as service_role), shaped like the keys Supabase issues: the
// prefix, 22 random base64url characters, `_` and an 8-character checksum (as Supabase's
// self-hosting script docker/utils/add-new-auth-keys.js derives it, here over the project ref
// "local"). `npm run dev` prints them like `supabase status`.
// Usage: node tools/scripts/api-keys.mjs <file>
// Keeps an existing file; the file is written mode 0600.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node tools/scripts/api-keys.mjs <file>");
  process.exit(2);
}
if (existsSync(file)) process.exit(0);

function apiKey(prefix) {
  const key = prefix + randomBytes(17).toString("base64url").slice(0, 22);
  const checksum = createHash("sha256").update(`local|${key}`).digest("base64url").slice(0, 8);
  return `${key}_${checksum}`;
}

const keys = { publishable_key: apiKey("sb_publishable_"), secret_key: apiKey("sb_secret_") };
writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: "wx" });
console.log(`api-keys.mjs: wrote ${file}`);
