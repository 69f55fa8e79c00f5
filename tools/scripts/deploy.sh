#!/usr/bin/env bash
# `npm run deploy`: the bundle with wrangler.toml; `npm run deploy -- <function>`: that function's
# own Worker with workers/<function>.wrangler.toml. wrangler runs the config's build command
# (tools/scripts/build.sh), which installs nothing beyond what building needs (setup.sh --build).
# Further arguments go to `wrangler deploy` (e.g. `npm run deploy -- signup --dry-run`).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RLS_EDGE_ROOT"
config=wrangler.toml
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  config=workers/$1.wrangler.toml
  [ -f "$config" ] || die "no function '$1' (one of: $(bash tools/scripts/functions.sh | tr '\n' ' '))"
  shift
fi
exec wrangler deploy -c "$config" "$@"
