#!/usr/bin/env bash
# Runs js-tests/postgrest-js.test.mjs (@supabase/postgrest-js as a real client) against the
# gateway: starts a throwaway Postgres on a free port in 56000-56099 (or uses
# GATEWAY_TEST_DATABASE_URL, a superuser URL, of a cluster with PostGIS), creates a database
# with tests/fixture.sql, builds and starts the gateway binary (GATEWAY_PROFILE=release for
# the release build), runs `node --test`, and stops everything on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
secret='super-secret-jwt-token-with-at-least-32-characters-long'

source "$root/tools/scripts/throwaway-db.sh"

work=$(mktemp -d /tmp/gateway-js-XXXXXX)
chmod 755 "$work"
gateway_pid=""

cleanup() {
  if [ -n "$gateway_pid" ]; then kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; fi
  throwaway_db_stop
  rm -rf "$work"
}
trap cleanup EXIT

throwaway_db_start "$work" 56040 56099 "gw_js_$$" "${GATEWAY_TEST_DATABASE_URL:-}"
db_super_url=$THROWAWAY_DB_URL
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$db_super_url" -f "$here/tests/fixture.sql" >/dev/null
host_part=${db_super_url#*@}

profile=${GATEWAY_PROFILE:-debug}
case "$profile" in
  debug) (cd "$root" && cargo build -q -p gateway) ;;
  release) (cd "$root" && cargo build -q --release -p gateway) ;;
  *) echo "run-js-tests.sh: GATEWAY_PROFILE must be debug or release" >&2; exit 2 ;;
esac
http_port=$(free_port 56060 56099)
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
