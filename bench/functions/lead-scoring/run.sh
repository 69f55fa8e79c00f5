#!/usr/bin/env bash
# Lead-scoring engine throughput, natively and on wasm32 (in Node), with the release profile
# the Worker ships with. Usage: bench/functions/lead-scoring/run.sh [leads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../../.."
leads="${1:-100000}"
rounds="${2:-10}"
target_dir="${CARGO_TARGET_DIR:-target}"

cargo run --quiet --release -p lead-scoring --example throughput -- "$leads" "$rounds"

cargo build --quiet --release -p lead-scoring --example wasm_throughput --target wasm32-unknown-unknown
module="$target_dir/wasm32-unknown-unknown/release/examples/wasm_throughput.wasm"
echo "wasm32 bench module (engine + unused edge code): $(stat -c %s "$module") bytes"
node bench/functions/lead-scoring/wasm-throughput.mjs "$module" "$leads" "$rounds"
