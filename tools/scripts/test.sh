#!/usr/bin/env bash
# `npm test`: every suite, on a fresh machine or a warm one. Installs what it needs (setup.sh),
# then runs, in order: formatting and clippy (warnings are errors) on every Rust workspace and
# target, native Rust tests (including the gateway's and the origin's integration
# suites), the core tests again on wasm32 in Node, the pgTAP suite, and the end-to-end tests over
# HTTP: the gateway under @supabase/postgrest-js, the stack scripts (a database that keeps its
# data, db reset, new migrations), then the functions against the local stack (Postgres + sql/ +
# the one origin + the built bundle in wrangler dev), once with signing keys (every file) and
# once with the legacy HS256 secret (LEGACY_E2E_FILES). Every process it starts is stopped on
# exit, also on failure and Ctrl-C.
#
# Ports (override when taken): TEST_PG_PORT 25432, TEST_ORIGIN_PORT 25321, TEST_WRANGLER_PORT 28787
# (below Linux's ephemeral range, so an outgoing connection never holds them); the stack-script
# tests use TEST_STACK_PG_PORT 25433.
# Run one stage only: `npm test -- lint|native|wasm|sql|e2e`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

TEST_PG_PORT=${TEST_PG_PORT:-25432}
TEST_ORIGIN_PORT=${TEST_ORIGIN_PORT:-25321}
TEST_WRANGLER_PORT=${TEST_WRANGLER_PORT:-28787}
TEST_DIR=$RLS_EDGE_LOCAL/test-$TEST_PG_PORT
stages=${*:-lint native wasm sql e2e}

trap stack_stop EXIT
trap 'exit 130' INT TERM
mkdir -p "$TEST_DIR"
bash tools/scripts/setup.sh

# Crates whose core tests also run on wasm32 (the gateway and the bundle are native-only / glue).
WASM_TEST_CRATES=(shared signup api-keys lead-scoring rate-limit webhooks cleanup personal-keys)

# Every Cargo workspace in the repository: the root one and the benchmarks' own.
RUST_MANIFESTS=(Cargo.toml tools/bench/Cargo.toml)

run_lint() {
  log "rustfmt --check and clippy -D warnings"
  local manifest
  for manifest in "${RUST_MANIFESTS[@]}"; do
    cargo fmt --manifest-path "$manifest" --all --check
  done
  cargo clippy --workspace --all-targets -- -D warnings
  local args=()
  for crate in "${WASM_TEST_CRATES[@]}"; do args+=(-p "$crate"); done
  cargo clippy --target wasm32-unknown-unknown -p rls-edge "${args[@]}" --all-targets -- -D warnings
  cargo clippy --manifest-path tools/bench/Cargo.toml --all-targets --all-features -- -D warnings
}

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
    stack_start_postgres "$TEST_DIR/postgres" "$TEST_PG_PORT" rls_edge_e2e --fresh
  fi
}

run_sql() {
  ensure_postgres
  log "pgTAP suite"
  PGHOST=127.0.0.1 PGPORT=$TEST_PG_PORT bash tools/scripts/test-sql.sh
}

# The smaller run on the legacy HS256 secret and JWT API keys: the basics, the functions that
# mint role tokens (webhook intake), the origin itself and the supabase-js flow through it.
LEGACY_E2E_FILES=(tests/e2e/foundation.test.mjs tests/e2e/signup.test.mjs tests/e2e/webhooks.test.mjs tests/e2e/origin.test.mjs
  tests/e2e/supabase-js.test.mjs)

# Starts the origin and wrangler dev in one key mode and runs the given e2e files against them.
e2e_run() { # key-mode files...
  local mode=$1 origin="http://127.0.0.1:$TEST_ORIGIN_PORT" apikey=$STACK_PUBLISHABLE_KEY jwt_secret="" worker_vars=() function_vars=()
  shift
  # The legacy secret exists only in legacy mode: with signing keys nothing may rely on it.
  [ "$mode" = legacy ] && apikey=$DEV_ANON_KEY jwt_secret=$DEV_JWT_SECRET
  # A rotated refresh token counts as reused after 1 s instead of GoTrue's 10, so the reuse test
  # need not wait.
  AUTH_REFRESH_TOKEN_REUSE_INTERVAL=1 \
    stack_start_origin "$TEST_PG_PORT" rls_edge_e2e "$TEST_ORIGIN_PORT" "$TEST_WRANGLER_PORT" "$mode" "$TEST_DIR/origin.log"
  mapfile -t worker_vars < <(stack_worker_vars "$origin" "$mode")
  # The test files' own settings come last, so a file can override a stack setting. An empty
  # --env-file keeps wrangler from reading a developer's .dev.vars (npm run dev writes one): the
  # Worker under test has exactly these settings.
  mapfile -t function_vars < <(stack_test_vars)
  stack_start_wrangler "$TEST_WRANGLER_PORT" "$TEST_DIR/wrangler.log" --env-file /dev/null "${worker_vars[@]}" "${function_vars[@]}"
  log "end-to-end tests, $mode keys"
  ORIGIN_URL=$origin FUNCTIONS_URL="$origin/functions/v1" POSTGREST_URL="$origin/rest/v1" AUTH_URL="$origin/auth/v1" \
  WORKER_URL="http://127.0.0.1:$TEST_WRANGLER_PORT" STACK_KEYS=$mode \
  PUBLISHABLE_KEY=$STACK_PUBLISHABLE_KEY SECRET_KEY=$STACK_SECRET_KEY SIGNING_KEYS_FILE=$STACK_SIGNING_KEYS \
  ANON_KEY=$apikey SERVICE_ROLE_KEY=$DEV_SERVICE_ROLE_KEY JWT_SECRET=$jwt_secret \
  DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/rls_edge_e2e" ORIGIN_LOG="$TEST_DIR/origin.log" \
  PG_DATA_DIR="$TEST_DIR/postgres" PG_PORT=$TEST_PG_PORT WRANGLER_LOG="$TEST_DIR/wrangler.log" \
    node --test --test-concurrency=1 "$@"
  stack_stop_processes
}

run_e2e() {
  ensure_postgres
  log "gateway against @supabase/postgrest-js"
  GATEWAY_PROFILE=release GATEWAY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/postgres" \
    bash tools/gateway/run-js-tests.sh
  log "local Auth against @supabase/supabase-js"
  AUTH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/postgres" bash tools/auth/run-js-tests.sh
  log "stack scripts: a database that keeps its data, db reset, new migrations"
  TEST_STACK_PG_PORT=${TEST_STACK_PG_PORT:-25433} node --test tests/stack/
  stack_build_origin
  RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
  stack_keys "$TEST_DIR"
  e2e_run signing tests/e2e/
  e2e_run legacy "${LEGACY_E2E_FILES[@]}"
}

for stage in $stages; do
  case "$stage" in
    lint) run_lint ;;
    native) run_native ;;
    wasm) run_wasm ;;
    sql) run_sql ;;
    e2e) run_e2e ;;
    *) die "unknown stage '$stage' (lint, native, wasm, sql, e2e)" ;;
  esac
done
log "all suites passed: $stages"
