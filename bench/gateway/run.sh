#!/usr/bin/env bash
# Benchmark (not a test) of the gateway (tools/gateway): bench/gateway/run.sh OUT.json
# Starts a throwaway Postgres on a free port in 56000-56099 (or uses
# GATEWAY_TEST_DATABASE_URL, a superuser URL), loads tools/gateway/tests/fixture.sql and bench.sql into
# a fresh database, builds the load generator optimised, runs it, writes OUT.json, cleans up.
set -euo pipefail

out=${1:?usage: bench/gateway/run.sh OUT.json}
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/../.." && pwd)
gateway=$root/tools/gateway
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# The workspace release profile is tuned for small wasm; the benchmark wants speed, in its own
# target directory so the shared one is not rebuilt with different settings.
export CARGO_TARGET_DIR=${GATEWAY_BENCH_TARGET_DIR:-$HOME/.cache/rls-edge/gateway-bench-target}
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_STRIP=false

work=$(mktemp -d /tmp/gateway-bench-XXXXXX)
chmod 755 "$work"
source "$root/tools/scripts/throwaway-db.sh"
cleanup() {
  throwaway_db_stop
  rm -rf "$work"
}
trap cleanup EXIT

throwaway_db_start "$work" 56080 56099 "gw_bench_$$" "${GATEWAY_TEST_DATABASE_URL:-}"
db_url=$THROWAWAY_DB_URL
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$db_url" -f "$gateway/tests/fixture.sql" -f "$bench/bench.sql" >/dev/null

cd "$root"
cargo build -q --release -p gateway --example bench
"$CARGO_TARGET_DIR/release/examples/bench" "$db_url" "$out"
