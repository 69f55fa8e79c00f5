#!/usr/bin/env bash
# Benchmark (not a test): tools/gateway/bench/run.sh OUT.json
# Starts a throwaway Postgres on a free port in 56000-56099 (or uses
# GATEWAY_TEST_DATABASE_URL, a superuser URL), loads tests/fixture.sql and bench/bench.sql into
# a fresh database, builds the load generator optimised, runs it, writes OUT.json, cleans up.
set -euo pipefail

out=${1:?usage: bench/run.sh OUT.json}
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# The workspace release profile is tuned for small wasm; the benchmark wants speed, in its own
# target directory so the shared one is not rebuilt with different settings.
export CARGO_TARGET_DIR=${GATEWAY_BENCH_TARGET_DIR:-$HOME/.cache/rls-edge/gateway-bench-target}
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_STRIP=false

work=$(mktemp -d /tmp/gateway-bench-XXXXXX)
chmod 755 "$work"
cluster_dir=""
super_url=""
database="gw_bench_$$"
cleanup() {
  if [ -n "$super_url" ]; then "$PG_BIN/psql" -q "$super_url" -c "drop database if exists $database with (force)" >/dev/null 2>&1 || true; fi
  if [ -n "$cluster_dir" ]; then "$root/tools/scripts/postgres.sh" stop "$cluster_dir" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${GATEWAY_TEST_DATABASE_URL:-}" ]; then
  super_url=$GATEWAY_TEST_DATABASE_URL
else
  port=""
  for p in $(seq 56080 56099); do
    # Free means no local socket uses it at all; outgoing connections take ports from this range.
    if [ -z "$(ss -Htan "sport = :$p")" ]; then port=$p; break; fi
  done
  [ -n "$port" ] || { echo "no free port in 56080-56099" >&2; exit 1; }
  cluster_dir="$work/pg"
  if ! "$root/tools/scripts/postgres.sh" start "$cluster_dir" "$port"; then
    cat "$cluster_dir/server.log" >&2 2>/dev/null || true
    exit 1
  fi
  super_url="postgres://postgres@127.0.0.1:$port/postgres"
fi
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$super_url" -c "create database $database" >/dev/null
db_url="${super_url%/*}/$database"
"$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$db_url" -f "$here/tests/fixture.sql" -f "$here/bench/bench.sql" >/dev/null

cd "$root"
cargo build -q --release -p gateway --example bench
"$CARGO_TARGET_DIR/release/examples/bench" "$db_url" "$out"
