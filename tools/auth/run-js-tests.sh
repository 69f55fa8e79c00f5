#!/usr/bin/env bash
# Runs js-tests/ (supabase-js from npm as the client) against the local Auth binary: starts a
# throwaway Postgres on a free port in 56100-56199 (or uses AUTH_TEST_DATABASE_URL, a superuser
# URL), creates a database with migrations/, writes a signing-keys file, builds and starts the
# `auth` binary (AUTH_TEST_PROFILE=release for the release build), runs `node --test`, and stops
# everything on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

source "$root/tools/scripts/throwaway-db.sh"

work=$(mktemp -d /tmp/auth-js-XXXXXX)
chmod 755 "$work"
auth_pid=""

cleanup() {
  if [ -n "$auth_pid" ]; then kill "$auth_pid" 2>/dev/null || true; wait "$auth_pid" 2>/dev/null || true; fi
  throwaway_db_stop
  rm -rf "$work"
}
trap cleanup EXIT

throwaway_db_start "$work" 56140 56199 "auth_js_$$" "${AUTH_TEST_DATABASE_URL:-}"
db_url=$THROWAWAY_DB_URL
for file in "$here"/migrations/*.sql; do
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 "$db_url" -f "$file" >/dev/null
done

# Two ES256 keys in the Supabase CLI's signing-keys format, made with Node's WebCrypto.
node --input-type=module -e '
  import { writeFileSync } from "node:fs";
  const keys = [];
  for (let i = 0; i < 2; i++) {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    keys.push({ kty: "EC", kid: crypto.randomUUID(), use: "sig", key_ops: ["sign", "verify"], alg: "ES256", ext: true, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d });
  }
  writeFileSync(process.argv[1], JSON.stringify(keys, null, 2), { mode: 0o600 });
' "$work/signing-keys.json"

profile=${AUTH_TEST_PROFILE:-debug}
case "$profile" in
  debug) (cd "$root" && cargo build -q -p auth --bin auth) ;;
  release) (cd "$root" && cargo build -q --release -p auth --bin auth) ;;
  *) echo "run-js-tests.sh: AUTH_TEST_PROFILE must be debug or release" >&2; exit 2 ;;
esac
http_port=$(free_port 56160 56199)
AUTH_DATABASE_URL="$db_url" \
AUTH_ISSUER="http://127.0.0.1:$http_port/auth/v1" \
AUTH_SIGNING_KEYS_FILE="$work/signing-keys.json" \
AUTH_MAILBOX_FILE="$work/mailbox.jsonl" \
AUTH_REFRESH_TOKEN_REUSE_INTERVAL=1 \
AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS=10000 AUTH_RATE_LIMIT_TOKEN_REFRESH=10000 AUTH_RATE_LIMIT_ANONYMOUS_USERS=10000 \
AUTH_PORT="$http_port" \
  "$CARGO_TARGET_DIR/$profile/auth" >"$work/auth.log" 2>&1 &
auth_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/auth.log" && break
  if ! kill -0 "$auth_pid" 2>/dev/null; then cat "$work/auth.log" >&2; exit 1; fi
  sleep 0.1
done
grep -q "listening on" "$work/auth.log" || { echo "auth did not start" >&2; cat "$work/auth.log" >&2; exit 1; }

cd "$root"
AUTH_BASE_URL="http://127.0.0.1:$http_port" SIGNING_KEYS_FILE="$work/signing-keys.json" node --experimental-websocket --test "$here/js-tests/"
