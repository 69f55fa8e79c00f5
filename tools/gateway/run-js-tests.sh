#!/usr/bin/env bash
# Runs js-tests/postgrest-js.test.mjs (@supabase/postgrest-js as a real client) against the
# gateway: starts a throwaway Postgres on a free port in 56000-56099 (or uses
# GATEWAY_TEST_DATABASE_URL, a superuser URL, of a cluster with PostGIS), creates a database
# with tests/fixture.sql, builds and starts the gateway binary (GATEWAY_PROFILE=release for
# the release build), runs `node --test`, and stops everything on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/rls-edge/target}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
secret='super-secret-jwt-token-with-at-least-32-characters-long'

# A port is free when no socket uses it locally, listening or not: outgoing connections take
# ephemeral ports from this range too.
port_in_use() {
  if command -v ss >/dev/null; then [ -n "$(ss -Htan "sport = :$1")" ]; else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}

free_port() {
  for port in $(seq "$1" 56099); do
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  echo "run-js-tests.sh: no free port in $1-56099" >&2
  return 1
}

work=$(mktemp -d /tmp/gateway-js-XXXXXX)
chmod 755 "$work"
gateway_pid=""
cluster_dir=""
super_url=""
database="gw_js_$$"

cleanup() {
  if [ -n "$gateway_pid" ]; then kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; fi
  if [ -n "$super_url" ]; then "$PG_BIN/psql" -q "$super_url" -c "drop database if exists $database with (force)" >/dev/null 2>&1 || true; fi
  if [ -n "$cluster_dir" ]; then "$root/tools/scripts/postgres.sh" stop "$cluster_dir" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${GATEWAY_TEST_DATABASE_URL:-}" ]; then
  super_url=$GATEWAY_TEST_DATABASE_URL
else
  pg_port=$(free_port 56040)
  cluster_dir="$work/pg"
  if ! "$root/tools/scripts/postgres.sh" start "$cluster_dir" "$pg_port"; then
    cat "$cluster_dir/server.log" >&2 2>/dev/null || true
    exit 1
  fi
  super_url="postgres://postgres@127.0.0.1:$pg_port/postgres"
fi
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$super_url" -c "create database $database" >/dev/null
db_super_url="${super_url%/*}/$database"
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$db_super_url" -f "$here/tests/fixture.sql" >/dev/null
host_part=${db_super_url#*@}

profile=${GATEWAY_PROFILE:-debug}
case "$profile" in
  debug) (cd "$root" && cargo build -q -p gateway) ;;
  release) (cd "$root" && cargo build -q --release -p gateway) ;;
  *) echo "run-js-tests.sh: GATEWAY_PROFILE must be debug or release" >&2; exit 2 ;;
esac
http_port=$(free_port 56060)
PGRST_DB_URI="postgres://gw_authenticator:gw-test@$host_part" \
PGRST_DB_SCHEMAS="public,extra" \
PGRST_DB_EXTRA_SEARCH_PATH="public,extensions" \
PGRST_DB_ANON_ROLE="gw_anon" \
PGRST_DB_AGGREGATES_ENABLED=true \
PGRST_DB_PLAN_ENABLED=true \
PGRST_JWT_SECRET="$secret" \
PGRST_JWT_AUD="authenticated" \
PGRST_SERVER_PORT="$http_port" \
  "$CARGO_TARGET_DIR/$profile/gateway" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/gateway.log" && break
  if ! kill -0 "$gateway_pid" 2>/dev/null; then cat "$work/gateway.log" >&2; exit 1; fi
  sleep 0.1
done
grep -q "listening on" "$work/gateway.log" || { echo "gateway did not start" >&2; cat "$work/gateway.log" >&2; exit 1; }

cd "$root"
GATEWAY_URL="http://127.0.0.1:$http_port/rest/v1" GATEWAY_JWT_SECRET="$secret" node --test "$here/js-tests/"
