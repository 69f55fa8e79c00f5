#!/usr/bin/env bash
# Builds a deployable Worker with worker-build, offline: wasm-bindgen, esbuild and wasm-opt come
# from the registries (see setup.sh), never from GitHub. Prints the .wasm size.
#   build.sh             the bundle, every function (build/worker/, wrangler.toml)
#   build.sh <function>  that function's own Worker: the same entry (src/lib.rs) with only its
#                        cargo feature (build/<function>/, workers/<function>.wrangler.toml)
# Installs nothing: `npm run deploy` needs only the Rust toolchain and node_modules, which
# tools/scripts/setup.sh --build checks for.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RLS_EDGE_ROOT"
name=${1:-}
[ "${RLS_EDGE_SKIP_SETUP:-}" = 1 ] || bash tools/scripts/setup.sh --build

if [ -n "$name" ]; then
  grep -q "feature = \"$name\"" src/registry.rs \
    || die "no function '$name' in src/registry.rs (one of: $(bash tools/scripts/functions.sh | tr '\n' ' '))"
  out_dir=build/$name features=(--no-default-features --features "$name") label="$name alone"
else
  out_dir=build features=() label=bundle
fi

mkdir -p "$RLS_EDGE_LOCAL" "$out_dir"
# wasm-bindgen and wasm-opt take seconds even when nothing changed; skip them when the module
# cargo produced is the one the current build was made from.
cargo build --lib --release --target wasm32-unknown-unknown -p rls-edge "${features[@]}" --quiet
source_hash=$(sha256sum "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/rls_edge.wasm" | cut -d' ' -f1)
wasm=$out_dir/index_bg.wasm
if [ -f "$out_dir/worker/shim.mjs" ] && [ -f "$wasm" ] && [ "$(cat "$out_dir/.source-hash" 2>/dev/null)" = "$source_hash" ]; then
  log "$label up to date"
else
  log_file=$RLS_EDGE_LOCAL/build${name:+-$name}.log
  worker-build --release --out-dir "$out_dir" "${features[@]}" >"$log_file" 2>&1 \
    || { cat "$log_file" >&2; die "worker-build failed ($label)"; }
  # worker-build keeps the name section (Rust function names in panic traces). It is an eighth of
  # the gzipped module and buys nothing at run time, so the deployable module goes without it.
  # Same feature list as worker-build's own wasm-opt run, so no newer encoding sneaks in.
  wasm-opt "$wasm" -o "$wasm" --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling
  echo "$source_hash" >"$out_dir/.source-hash"
fi
raw=$(stat -c %s "$wasm")
gzipped=$(gzip -9 -c "$wasm" | wc -c)
log "$label built: $wasm $((raw / 1024)) KiB raw, $((gzipped / 1024)) KiB gzipped"
