#!/usr/bin/env bash
# Installs everything the build, dev stack and tests need, from the package registries only
# (crates.io, npm, Debian). Safe to re-run: each step checks first and does nothing when done.
#   tools/scripts/setup.sh            build + dev + test tools
#   tools/scripts/setup.sh --build    only what building a Worker needs (`npm run build`, `npm run
#                                     deploy`): the wasm32 target, node_modules, wasm-bindgen,
#                                     worker-build; no apt, no Postgres
#   tools/scripts/setup.sh --bench    also the load generator for `npm run bench`
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RLS_EDGE_ROOT"
mode=${1:-}

apt_packages=()
if [ "$mode" != "--build" ]; then
  [ -x /usr/lib/postgresql/15/bin/initdb ] || apt_packages+=(postgresql-15)
  [ -f /usr/share/postgresql/15/extension/pgtap.control ] || apt_packages+=(postgresql-15-pgtap)
  # PostGIS only for the gateway's GeoJSON tests (tools/gateway/tests/fixture.sql); sql/ never uses it.
  [ -f /usr/share/postgresql/15/extension/postgis.control ] || apt_packages+=(postgresql-15-postgis-3)
  command -v pg_prove >/dev/null || apt_packages+=(libtap-parser-sourcehandler-pgtap-perl)
  command -v psql >/dev/null || apt_packages+=(postgresql-client-15)
fi
if [ "$mode" = "--bench" ]; then command -v wrk >/dev/null || apt_packages+=(wrk); fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  log "installing with apt: ${apt_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$mode" != "--build" ]; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
      log "adding the $component Rust component (npm test's lint stage)"
      rustup component add "$component"
    fi
  done
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (wrangler, esbuild, binaryen, test clients)"
  npm ci --no-audit --no-fund --loglevel=error
fi

[ -f Cargo.lock ] || cargo generate-lockfile
# wasm-bindgen's CLI must match the library version exactly, or the generated glue is refused.
install_crate() { # crate version binary
  local installed
  installed=$("$RLS_EDGE_TOOLS/bin/$3" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1) || true
  if [ "$installed" != "$2" ]; then
    log "installing $1 $2 (cargo install; takes a few minutes once)"
    CARGO_TARGET_DIR=$RLS_EDGE_CACHE/target-tools cargo install "$1" --version "=$2" --root "$RLS_EDGE_TOOLS" --quiet
  fi
}
install_crate wasm-bindgen-cli "$(locked_version wasm-bindgen)" wasm-bindgen
install_crate worker-build "$(locked_version worker)" worker-build

# schemathesis (PyPI) for the API fuzzing, into a venv in the tool cache (tools/scripts/api-fuzz.sh).
[ "$mode" = "--build" ] || bash tools/scripts/api-fuzz.sh --install
