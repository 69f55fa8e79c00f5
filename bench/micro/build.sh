#!/usr/bin/env bash
# Builds the micro-benchmark for wasm32 (wasm-bindgen --target nodejs, then wasm-opt -Oz as the
# bundle gets) and natively. Usage: build.sh <out-dir>; leaves <out-dir>/bench_micro.js and
# prints nothing on success. Sourced tools from tools/scripts/env.sh.
set -euo pipefail
source "$(dirname "$0")/../../tools/scripts/env.sh"
out=${1:?usage: build.sh <out-dir>}
cd "$RLS_EDGE_ROOT/bench/micro"
cargo build --release --quiet --lib --target wasm32-unknown-unknown
cargo build --release --quiet --bin bench-micro-native
mkdir -p "$out"
"$WASM_BINDGEN_BIN" --target nodejs --out-dir "$out" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/bench_micro.wasm"
"$WASM_OPT_BIN" -Oz --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling \
  "$out/bench_micro_bg.wasm" -o "$out/bench_micro_bg.wasm"
