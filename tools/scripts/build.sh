#!/usr/bin/env bash
# Builds the deployable bundle (build/worker/) with worker-build, offline: wasm-bindgen, esbuild
# and wasm-opt come from the registries (see setup.sh), never from GitHub. Prints the .wasm size.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RLS_EDGE_ROOT"
[ "${RLS_EDGE_SKIP_SETUP:-}" = 1 ] || bash tools/scripts/setup.sh

mkdir -p "$RLS_EDGE_LOCAL"
# wasm-bindgen and wasm-opt take seconds even when nothing changed; skip them when the module
# cargo produced is the one the current bundle was made from.
cargo build --lib --release --target wasm32-unknown-unknown -p rls-edge --quiet
source_hash=$(sha256sum "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/rls_edge.wasm" | cut -d' ' -f1)
wasm=build/index_bg.wasm
if [ -f build/worker/shim.mjs ] && [ -f "$wasm" ] && [ "$(cat build/.source-hash 2>/dev/null)" = "$source_hash" ]; then
  log "bundle up to date"
else
  worker-build --release >"$RLS_EDGE_LOCAL/build.log" 2>&1 || { cat "$RLS_EDGE_LOCAL/build.log" >&2; die "worker-build failed"; }
  # worker-build keeps the name section (Rust function names in panic traces). It is an eighth of
  # the gzipped module and buys nothing at run time, so the deployable module goes without it.
  # Same feature list as worker-build's own wasm-opt run, so no newer encoding sneaks in.
  wasm-opt build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling
  echo "$source_hash" >build/.source-hash
fi
raw=$(stat -c %s "$wasm")
gzipped=$(gzip -9 -c "$wasm" | wc -c)
log "bundle built: $wasm $((raw / 1024)) KiB raw, $((gzipped / 1024)) KiB gzipped"
