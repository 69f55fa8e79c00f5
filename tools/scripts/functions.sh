#!/usr/bin/env bash
# Prints the functions that can be built as Workers of their own, one per line, as
# src/registry.rs lists them (each behind the cargo feature of its name). Scripts read the
# functions here instead of keeping lists of their own.
set -euo pipefail
source "$(dirname "$0")/env.sh"
sed -n 's/^ *#\[cfg(feature = "\([a-z-]*\)")\]$/\1/p' "$RLS_EDGE_ROOT/src/registry.rs"
