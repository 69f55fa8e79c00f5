#!/usr/bin/env bash
# Runs js-tests/ (supabase-js from npm as the client) against the local Auth binary: starts a
# throwaway Postgres on a free port in 56100-56199 (or uses AUTH_TEST_DATABASE_URL, a superuser
# URL), creates a database with migrations/, writes a signing-keys file, builds and starts the
# `auth` binary (AUTH_TEST_PROFILE=release for the release build), runs `node --test`, and stops
# everything on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/rls-edge/target}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

port_in_use() {
  if command -v ss >/dev/null; then [ -n "$(ss -Htan "sport = :$1")" ]; else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}

free_port() {
  for port in $(seq "$1" 56199); do
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  echo "run-js-tests.sh: no free port in $1-56199" >&2
  return 1
}

work=$(mktemp -d /tmp/auth-js-XXXXXX)
chmod 755 "$work"
auth_pid=""
cluster_dir=""
super_url=""
database="auth_js_$$"

cleanup() {
  if [ -n "$auth_pid" ]; then kill "$auth_pid" 2>/dev/null || true; wait "$auth_pid" 2>/dev/null || true; fi
  if [ -n "$super_url" ]; then "$PG_BIN/psql" -q "$super_url" -c "drop database if exists $database with (force)" >/dev/null 2>&1 || true; fi
  if [ -n "$cluster_dir" ]; then "$root/tools/scripts/postgres.sh" stop "$cluster_dir" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${AUTH_TEST_DATABASE_URL:-}" ]; then
  super_url=$AUTH_TEST_DATABASE_URL
else
  pg_port=$(free_port 56140)
  cluster_dir="$work/pg"
  if ! "$root/tools/scripts/postgres.sh" start "$cluster_dir" "$pg_port"; then
    cat "$cluster_dir/server.log" >&2 2>/dev/null || true
    exit 1
  fi
  super_url="postgres://postgres@127.0.0.1:$pg_port/postgres"
fi
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$super_url" -c "create database $database" >/dev/null
db_url="${super_url%/*}/$database"
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
http_port=$(free_port 56160)
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
