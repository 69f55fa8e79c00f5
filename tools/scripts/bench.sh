#!/usr/bin/env bash
# `npm run bench`: measures the product on this machine and writes bench/results.json and the
# table between <!-- bench:start --> and <!-- bench:end --> in README.md. Benchmarks, not tests:
# they report and never fail on a figure (they do fail when a measurement itself cannot run).
#
# Stages (default all, in this order; `npm run bench -- micro e2e` runs some; a stage not run
# keeps its figures from the previous bench/results.json):
#   sizes    the bundle and each function alone as a Worker of its own (build.sh <function>):
#            raw and gzipped .wasm, and start-up (compile + instantiate in Node, fresh process)
#   micro    per-request CPU of the hot paths on wasm32 in Node and natively (bench/micro)
#   e2e      req/s and p50/p99 through wrangler dev and the local stack with wrk, next to the same
#            PostgREST calls straight to the gateway and, where it has the path, the JavaScript
#            peer (bench/peer, a second wrangler dev: same workerd), all in the same run (bench/e2e)
#   gateway  the gateway's own benchmark (bench/gateway/run.sh), merged as is
#
# Ports (override when taken): BENCH_PG_PORT 56810, BENCH_GATEWAY_PORT 56811,
# BENCH_WRANGLER_PORT 56812, BENCH_PROXY_PORT 56813, BENCH_PEER_PORT 56814. BENCH_SECONDS (3) and BENCH_CONNECTIONS
# ("1 8") shape each wrk run; BENCH_PEER_ROUNDS (3) is how many turns the bundle and the JavaScript
# peer take on each case they share; BENCH_STARTUP_RUNS (15) is the number of fresh Node processes
# per start-up figure. Stage outputs go to .local/bench/; bench/README.md describes the parts.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

BENCH_PG_PORT=${BENCH_PG_PORT:-56810}
BENCH_GATEWAY_PORT=${BENCH_GATEWAY_PORT:-56811}
BENCH_WRANGLER_PORT=${BENCH_WRANGLER_PORT:-56812}
BENCH_PROXY_PORT=${BENCH_PROXY_PORT:-56813}
BENCH_PEER_PORT=${BENCH_PEER_PORT:-56814}
WORK=$RLS_EDGE_LOCAL/bench
stages=${*:-sizes micro e2e gateway}
WASM_OPT_FEATURES=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory
  --enable-multivalue --enable-reference-types --enable-exception-handling)

trap stack_stop EXIT
trap 'exit 130' INT TERM
bash tools/scripts/setup.sh --bench
mkdir -p "$WORK"

machine() {
  local model
  model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
  node -e 'const [cpus, model, memory, kernel, node, rustc, wrk] = process.argv.slice(1);
    console.log(JSON.stringify({ cpus: Number(cpus), cpu_model: model, memory_gib: Math.round(Number(memory) / 1048576 * 10) / 10,
      kernel, node, rustc, wrk }))' \
    "$(nproc)" "$model" "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)" "$(uname -sr)" "$(node --version)" \
    "$(rustc --version)" "$(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')" >"$WORK/machine.json"
  log "machine: $(nproc) cores, $model"
}

wasm_size() { # file -> JSON
  printf '{"raw_bytes":%d,"gzip_bytes":%d}' "$(stat -c %s "$1")" "$(gzip -9 -c "$1" | wc -c)"
}

# Node 20's V8 cannot compile the exception-handling instructions worker-build's abort handler
# adds (workerd's newer V8 can), so start-up is timed on the same cargo output run through
# wasm-bindgen and wasm-opt -Oz without them: the same code, minus those wrappers.
startup() { # cargo .wasm output, label -> JSON on stdout
  local dir=$WORK/startup-$2
  rm -rf "$dir" && mkdir -p "$dir"
  "$WASM_BINDGEN_BIN" --target web --out-dir "$dir" --out-name module "$1"
  "$WASM_OPT_BIN" -Oz "${WASM_OPT_FEATURES[@]}" "$dir/module_bg.wasm" -o "$dir/module_bg.wasm"
  node bench/startup.mjs "$dir/module_bg.wasm" "${BENCH_STARTUP_RUNS:-15}"
}

run_sizes() {
  log "sizes and start-up: the bundle"
  RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
  local out=$WORK/sizes.jsonl
  printf '{"name":"bundle","built":true,"size":%s,"startup":%s}\n' "$(wasm_size build/index_bg.wasm)" \
    "$(startup "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/rls_edge.wasm" bundle)" >"$out"
  local name
  for name in $(bash tools/scripts/functions.sh); do
    log "sizes and start-up: $name alone"
    RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh "$name"
    printf '{"name":"%s","built":true,"size":%s,"startup":%s}\n' "$name" "$(wasm_size "build/$name/index_bg.wasm")" \
      "$(startup "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/rls_edge.wasm" "$name")" >>"$out"
  done
  # Leave the bundle's module where build.sh and wrangler expect it.
  RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
}

run_micro() {
  log "per-request CPU: building the micro-benchmark (wasm32 and native)"
  bash bench/micro/build.sh "$WORK/micro-pkg"
  log "per-request CPU on wasm32 (Node $(node --version))"
  node bench/micro/run.mjs "$WORK/micro-pkg" >"$WORK/micro-wasm32.json"
  log "per-request CPU natively"
  "$CARGO_TARGET_DIR/release/bench-micro-native" >"$WORK/micro-native.json"
}

e2e_setting() { # name -> its value in tests/e2e/vars/*.env
  sed -n "s/^$1=//p" tests/e2e/vars/*.env | head -n 1
}

start_worker() { # postgrest-url
  local vars=()
  # Production's cache times for system_rate_limits and personal keys rather than the tests' 1 s
  # and 2 s, and its limiter store (the Durable Object for every endpoint) rather than the tests'
  # Postgres for some, and its mode (lease for every endpoint) rather than the tests' exact for one.
  mapfile -t vars < <(stack_test_vars RATE_LIMIT_CACHE_SECONDS PERSONAL_KEY_CACHE_SECONDS RATE_LIMIT_STORE RATE_LIMIT_MODE)
  stack_start_wrangler "$BENCH_WRANGLER_PORT" "$WORK/stack/wrangler.log" \
    --var "POSTGREST_URL:$1" --var "SUPABASE_ANON_KEY:$DEV_ANON_KEY" --var "SUPABASE_JWT_SECRET:$DEV_JWT_SECRET" "${vars[@]}"
}

# The JavaScript peer (bench/peer/worker.mjs) in a wrangler dev of its own, straight on the
# gateway, with the keys and the Stripe secret the bundle gets.
start_peer() { # postgrest-url
  local stripe_secret
  stripe_secret=$(e2e_setting STRIPE_WEBHOOK_SECRETS | cut -d, -f1)
  require_free_port "$BENCH_PEER_PORT" BENCH_PEER_PORT
  log "starting the JavaScript peer on http://127.0.0.1:$BENCH_PEER_PORT"
  (cd "$RLS_EDGE_ROOT/bench/peer" && RLS_EDGE_SKIP_SETUP=1 WRANGLER_SEND_METRICS=false \
    exec wrangler dev --ip 127.0.0.1 --port "$BENCH_PEER_PORT" --inspector-port 0 \
      --persist-to "$WORK/stack/peer-state" --show-interactive-dev-session=false \
      --var "POSTGREST_URL:$1" --var "SUPABASE_ANON_KEY:$DEV_ANON_KEY" --var "SUPABASE_JWT_SECRET:$DEV_JWT_SECRET" \
      --var "JWT_AUDIENCE:authenticated" --var "STRIPE_WEBHOOK_SECRET:$stripe_secret" \
  ) >"$WORK/stack/peer.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_for_http "http://127.0.0.1:$BENCH_PEER_PORT/" 180 "the JavaScript peer" "$WORK/stack/peer.log"
}

stop_last() { # stops the most recently started stack process
  local last=$((${#STACK_PIDS[@]} - 1)) pid
  pid=${STACK_PIDS[$last]}
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "STACK_PIDS[$last]"
  STACK_PIDS=("${STACK_PIDS[@]}")
}

run_e2e() {
  local stack=$WORK/stack gateway=http://127.0.0.1:$BENCH_GATEWAY_PORT proxy_log=$WORK/stack/postgrest-calls.jsonl
  mkdir -p "$stack"
  rm -f "$proxy_log"
  stack_start_postgres "$stack/postgres" "$BENCH_PG_PORT" rls_edge_bench --fresh
  stack_build_gateway
  stack_start_gateway "$BENCH_PG_PORT" rls_edge_bench "$BENCH_GATEWAY_PORT" "$stack/gateway.log"
  RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh

  log "recording the PostgREST calls each endpoint makes (proxy on $BENCH_PROXY_PORT)"
  require_free_port "$BENCH_PROXY_PORT" BENCH_PROXY_PORT
  node bench/e2e/record-proxy.mjs "$BENCH_PROXY_PORT" "$gateway" "$proxy_log" &
  STACK_PIDS+=($!)
  wait_for_http "http://127.0.0.1:$BENCH_PROXY_PORT/rest/v1/" 10 "the recording proxy" /dev/null
  start_worker "http://127.0.0.1:$BENCH_PROXY_PORT/rest/v1"
  start_peer "$gateway/rest/v1"
  WORKER_URL="http://127.0.0.1:$BENCH_WRANGLER_PORT" GATEWAY_URL=$gateway PROXY_LOG=$proxy_log \
  DATABASE_URL="postgres://postgres@127.0.0.1:$BENCH_PG_PORT/rls_edge_bench" JWT_SECRET=$DEV_JWT_SECRET ANON_KEY=$DEV_ANON_KEY \
  STRIPE_WEBHOOK_SECRET=$(e2e_setting STRIPE_WEBHOOK_SECRETS | cut -d, -f1) RATE_LIMIT_CHECK_SECRET=$(e2e_setting RATE_LIMIT_CHECK_SECRET) \
  PEER_URL="http://127.0.0.1:$BENCH_PEER_PORT" node bench/e2e/prepare.mjs "$WORK/plans"
  local peer=${STACK_PIDS[-1]}
  unset "STACK_PIDS[-1]" # the peer keeps running, stopped with the rest below
  stop_last # wrangler
  stop_last # the proxy
  STACK_PIDS+=("$peer")

  log "end to end with wrk: through wrangler dev, and the same calls straight to the gateway"
  start_worker "$gateway/rest/v1"
  WORKER_URL="http://127.0.0.1:$BENCH_WRANGLER_PORT" GATEWAY_URL=$gateway PEER_URL="http://127.0.0.1:$BENCH_PEER_PORT" \
    node bench/e2e/run.mjs "$WORK/plans" >"$WORK/e2e.json"
  stack_stop
}

run_gateway() {
  if [ -x bench/gateway/run.sh ] || [ -f bench/gateway/run.sh ]; then
    log "the gateway's own benchmark (bench/gateway/run.sh)"
    bash bench/gateway/run.sh "$WORK/gateway.json"
  else
    log "no bench/gateway/run.sh; skipped"
  fi
}

machine
for stage in $stages; do
  case "$stage" in
    sizes) rm -f "$WORK/sizes.jsonl"; run_sizes ;;
    micro) rm -f "$WORK/micro-wasm32.json" "$WORK/micro-native.json"; run_micro ;;
    e2e) rm -f "$WORK/e2e.json"; run_e2e ;;
    gateway) rm -f "$WORK/gateway.json"; run_gateway ;;
    *) die "unknown stage '$stage' (sizes, micro, e2e, gateway)" ;;
  esac
done
node bench/report.mjs "$WORK" $stages
