# Sourced by every script: where build outputs and installed tools live.
RLS_EDGE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Installed tools (wasm-bindgen, worker-build): outside the clone, so every clone shares them.
RLS_EDGE_CACHE=${RLS_EDGE_CACHE:-$HOME/.cache/rls-edge}
# Compiled code: cargo's own default, <root>/target (git-ignored), so a plain `cargo build` or
# `cargo test` and the scripts share one target directory and nothing is compiled twice. Set
# CARGO_TARGET_DIR to move it; cargo and the scripts both follow that variable.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$RLS_EDGE_ROOT/target}
RLS_EDGE_TOOLS=$RLS_EDGE_CACHE/tools
export PATH="$RLS_EDGE_TOOLS/bin:$RLS_EDGE_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# worker-build would download these from GitHub; point it at the ones installed from the registries.
export WASM_BINDGEN_BIN=$RLS_EDGE_TOOLS/bin/wasm-bindgen
export ESBUILD_BIN=$RLS_EDGE_ROOT/node_modules/.bin/esbuild
export WASM_OPT_BIN=$RLS_EDGE_ROOT/node_modules/.bin/wasm-opt
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$RLS_EDGE_TOOLS/bin/wasm-bindgen-test-runner
# Local state (Postgres data, logs), git-ignored.
RLS_EDGE_LOCAL=$RLS_EDGE_ROOT/.local

log() { printf '\033[1m[rls-edge]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[rls-edge] %s\033[0m\n' "$*" >&2; exit 1; }

# The version of a package as resolved in Cargo.lock.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$RLS_EDGE_ROOT/Cargo.lock"
}
