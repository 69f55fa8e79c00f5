#!/usr/bin/env bash
# Builds one function as a Worker of its own: build.sh <function> -> build/<function>/ (the
# same worker-build, wasm-bindgen and wasm-opt -Oz as the bundle, offline). Used by the
# <function>.wrangler.toml files here and by tools/scripts/bench.sh.
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
function=${1:?usage: build.sh <function>}
cd "$RLS_EDGE_ROOT/tools/bench/standalone"
grep -q "^$function = \[\"dep:" Cargo.toml || die "no standalone feature for '$function' in tools/bench/standalone/Cargo.toml"
mkdir -p "$RLS_EDGE_LOCAL"
log_file=$RLS_EDGE_LOCAL/standalone-$function.build.log
worker-build --release --out-dir "build/$function" --features "$function" >"$log_file" 2>&1 \
  || { cat "$log_file" >&2; die "worker-build failed for $function"; }
# As tools/scripts/build.sh does for the bundle: no name section in the deployable module.
wasm-opt "build/$function/index_bg.wasm" -o "build/$function/index_bg.wasm" --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
