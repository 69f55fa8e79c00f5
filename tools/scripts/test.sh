#!/usr/bin/env bash
# `npm test`: every suite, on a fresh machine or a warm one. Installs what it needs (setup.sh),
# then runs, in order: native Rust tests (including the gateway's integration suite), the core
# tests again on wasm32 in Node, the pgTAP suite, and the end-to-end tests over HTTP: the gateway
# under @supabase/postgrest-js, then the functions against the local stack (Postgres + sql/ +
# gateway + the built bundle in wrangler dev). Every process it
# starts is stopped on exit, also on failure and Ctrl-C.
#
# Ports (override when taken): TEST_PG_PORT 25432, TEST_GATEWAY_PORT 25321, TEST_WRANGLER_PORT 28787
# (below Linux's ephemeral range, so an outgoing connection never holds them).
# Run one stage only: `npm test -- native|wasm|sql|e2e`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

TEST_PG_PORT=${TEST_PG_PORT:-25432}
TEST_GATEWAY_PORT=${TEST_GATEWAY_PORT:-25321}
TEST_WRANGLER_PORT=${TEST_WRANGLER_PORT:-28787}
TEST_DIR=$RLS_EDGE_LOCAL/test-$TEST_PG_PORT
stages=${*:-native wasm sql e2e}

trap stack_stop EXIT
trap 'exit 130' INT TERM
mkdir -p "$TEST_DIR"
bash tools/scripts/setup.sh

# Crates whose core tests also run on wasm32 (the gateway and the bundle are native-only / glue).
WASM_TEST_CRATES=(shared signup api-keys lead-scoring rate-limit webhooks cleanup)

run_native() {
  log "native Rust tests"
  cargo test --workspace --exclude rls-edge
}

run_wasm() {
  log "wasm32 tests in Node (wasm-bindgen-test)"
  local args=()
  for crate in "${WASM_TEST_CRATES[@]}"; do args+=(-p "$crate"); done
  cargo test --target wasm32-unknown-unknown "${args[@]}"
}

ensure_postgres() {
  if [ -z "$STACK_PG_DATA" ]; then
    stack_start_postgres "$TEST_DIR/postgres" "$TEST_PG_PORT" rls_edge_e2e --seed
  fi
}

run_sql() {
  ensure_postgres
  log "pgTAP suite"
  PGHOST=127.0.0.1 PGPORT=$TEST_PG_PORT bash tools/scripts/test-sql.sh
}

# Each function's test settings live in tests/e2e/vars/<function>.env (NAME=VALUE lines), passed
# to wrangler dev as --var so the Worker under test reads them like deployed vars and secrets.
e2e_vars() {
  local file line
  for file in tests/e2e/vars/*.env; do
    [ -f "$file" ] || continue
    while IFS= read -r line; do
      case "$line" in ''|'#'*) continue ;; esac
      printf -- '--var\n%s\n' "${line/=/:}"
    done <"$file"
  done
}

run_e2e() {
  ensure_postgres
  stack_build_gateway
  log "gateway against @supabase/postgrest-js"
  GATEWAY_PROFILE=release GATEWAY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/postgres" \
    bash tools/gateway/run-js-tests.sh
  log "local Auth against @supabase/supabase-js"
  AUTH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/postgres" bash tools/auth/run-js-tests.sh
  stack_start_gateway "$TEST_PG_PORT" rls_edge_e2e "$TEST_GATEWAY_PORT" "$TEST_DIR/gateway.log"
  RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
  local rest="http://127.0.0.1:$TEST_GATEWAY_PORT/rest/v1" function_vars=()
  mapfile -t function_vars < <(e2e_vars)
  stack_start_wrangler "$TEST_WRANGLER_PORT" "$TEST_DIR/wrangler.log" \
    --var "POSTGREST_URL:$rest" --var "SUPABASE_ANON_KEY:$DEV_ANON_KEY" --var "SUPABASE_JWT_SECRET:$DEV_JWT_SECRET" \
    "${function_vars[@]}"
  log "end-to-end tests"
  WORKER_URL="http://127.0.0.1:$TEST_WRANGLER_PORT" FUNCTIONS_URL="http://127.0.0.1:$TEST_WRANGLER_PORT/functions/v1" \
  POSTGREST_URL="$rest" GATEWAY_LOG="$TEST_DIR/gateway.log" \
  DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/rls_edge_e2e" \
  JWT_SECRET=$DEV_JWT_SECRET ANON_KEY=$DEV_ANON_KEY \
  PG_DATA_DIR="$TEST_DIR/postgres" PG_PORT=$TEST_PG_PORT WRANGLER_LOG="$TEST_DIR/wrangler.log" \
    node --test --test-concurrency=1 tests/e2e/
}

for stage in $stages; do
  case "$stage" in
    native) run_native ;;
    wasm) run_wasm ;;
    sql) run_sql ;;
    e2e) run_e2e ;;
    *) die "unknown stage '$stage' (native, wasm, sql, e2e)" ;;
  esac
done
log "all suites passed: $stages"
