// A signed-up user for the API fuzzing (tools/scripts/api-fuzz.sh): created through the local
// Auth's admin API with the secret key, signed in with its password (Auth's own ES256 or HS256
// session token), and given a profile through POST /functions/v1/signup, so the user-token run
// reaches the handlers past "sign up first". Prints the access token.
//   node tests/contract/fuzz-user.mjs <auth-url> <functions-url> <apikey> <secret-key>
import { randomUUID } from "node:crypto";

const [authUrl, functionsUrl, apikey, secretKey] = process.argv.slice(2);
if (!secretKey) throw new Error("usage: fuzz-user.mjs <auth-url> <functions-url> <apikey> <secret-key>");

async function post(url, headers, body) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

const email = `api-fuzz-${randomUUID().slice(0, 8)}@example.test`;
const password = `pw-${randomUUID()}`;
await post(`${authUrl}/admin/users`, { apikey: secretKey }, { email, password, email_confirm: true, user_metadata: { full_name: "API Fuzzer" } });
const session = await post(`${authUrl}/token?grant_type=password`, { apikey }, { email, password });
await post(`${functionsUrl}/signup`, { authorization: `Bearer ${session.access_token}` }, { workspace_name: "Fuzzing" });
process.stdout.write(session.access_token);
