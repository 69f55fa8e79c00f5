#!/usr/bin/env bash
# `npm run fuzz`: coverage-guided fuzzing (cargo-fuzz, libFuzzer) of every parser that reads
# untrusted bytes, one target per parser (fuzz/README.md lists them). Writes the figures under
# the `fuzz` key of bench/results.json and the table between <!-- fuzz:start --> and
# <!-- fuzz:end --> in README.md. Exits non-zero when a target crashed (a panic, a broken
# property, a leak, an allocation or RSS over its limit, an input over FUZZ_TIMEOUT_SECONDS) or
# an input took 100 ms or more natively.
#
#   npm run fuzz                               every target for FUZZ_SECONDS (default 60) each,
#                                              then the API fuzzing (tools/scripts/api-fuzz.sh)
#   npm run fuzz -- gateway_query jwt_token    some targets (the others keep their last figures)
#   npm run fuzz -- api                        the API fuzzing alone
#   FUZZ_SECONDS=600 npm run fuzz
#
# Installs what it needs from the registries: a nightly toolchain (rustup, minimal profile) and
# cargo-fuzz (crates.io, into the tool cache like setup.sh's tools). Targets are built with
# AddressSanitizer (LeakSanitizer included) and debug assertions, so integer overflow panics as
# it does in tests, into their own target directory (FUZZ_TARGET_DIR, default
# "$CARGO_TARGET_DIR/fuzz-nightly") so they never invalidate the stable build.
#
# Each target starts from the committed seeds (fuzz/corpus/<target>) and a working corpus kept
# in .local/fuzz/corpus/<target>, which grows run after run; a run's slowest input is kept in
# .local/fuzz/slowest/, crash inputs in .local/fuzz/artifacts/<target>/, logs in .local/fuzz/logs/.
# Limits: FUZZ_RSS_LIMIT_MB (512), FUZZ_MALLOC_LIMIT_MB (64, one allocation), FUZZ_TIMEOUT_SECONDS
# (1, libFuzzer's smallest). AddressSanitizer's quarantine of freed memory is held at 16 MB
# (its default, 256 MB, would fill the RSS figures), so RSS at start and at peak show growth.
# libFuzzer counts time in whole seconds, so the 100 ms goal is checked by timing the corpus and
# the slowest input again natively, without sanitizers (fuzz/examples/replay.rs).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RLS_EDGE_ROOT"

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-512}
FUZZ_MALLOC_LIMIT_MB=${FUZZ_MALLOC_LIMIT_MB:-64}
FUZZ_TIMEOUT_SECONDS=${FUZZ_TIMEOUT_SECONDS:-1}
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-$CARGO_TARGET_DIR/fuzz-nightly}
SLOW_INPUT_MS=100
WORK=$RLS_EDGE_LOCAL/fuzz
ALL_TARGETS=$(cd fuzz/fuzz_targets && ls -- *.rs | sed 's/\.rs$//')
run_api=no
named=()
for arg in "$@"; do
  if [ "$arg" = api ]; then run_api=yes; else named+=("$arg"); fi
done
if [ $# -eq 0 ]; then
  run_api=yes targets=$ALL_TARGETS
else
  targets=${named[*]:-}
fi

# The longest input each target is given: above every limit the parser enforces itself (a 16 KiB
# token, a 255-character event id...), so the refusals are reached, and small enough to keep
# thousands of runs a second.
max_len() {
  case "$1" in
    jwt_token | jwt_claims) echo 20000 ;;
    gateway_query | gateway_headers) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

for target in $targets; do
  [ -f "fuzz/fuzz_targets/$target.rs" ] || die "unknown fuzz target '$target' (targets: $(echo $ALL_TARGETS))"
done
case "$FUZZ_SECONDS" in '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds" ;; esac
[ -n "$targets" ] || exec bash tools/scripts/api-fuzz.sh

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "installing the nightly Rust toolchain (cargo-fuzz needs it for the sanitizers)"
  rustup toolchain install nightly --profile minimal
fi
installed=$("$RLS_EDGE_TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1) || true
if [ "$installed" != "$CARGO_FUZZ_VERSION" ]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install; takes a minute once)"
  CARGO_TARGET_DIR=$RLS_EDGE_CACHE/target-tools cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked \
    --root "$RLS_EDGE_TOOLS" --quiet
fi

mkdir -p "$WORK/logs" "$WORK/slowest" "$WORK/runs"
fuzz() { RUSTUP_TOOLCHAIN=nightly cargo fuzz "$@"; }
BUILD_FLAGS=(--fuzz-dir fuzz --target-dir "$FUZZ_TARGET_DIR" --sanitizer address --debug-assertions)
log "building the fuzz targets (nightly, AddressSanitizer, debug assertions)"
fuzz build "${BUILD_FLAGS[@]}"
log "building the native replay (stable, release)"
cargo build --release --quiet --manifest-path fuzz/Cargo.toml --example replay
REPLAY=$CARGO_TARGET_DIR/release/examples/replay

failed=()
for target in $targets; do
  corpus=$WORK/corpus/$target
  artifacts=$WORK/artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  rm -f "$WORK/slowest/$target"
  dictionary=()
  [ -f "fuzz/dict/$target.dict" ] && dictionary=("-dict=fuzz/dict/$target.dict")
  log "fuzzing $target for ${FUZZ_SECONDS}s"
  started=$(date +%s)
  set +e
  ASAN_OPTIONS=quarantine_size_mb=16 RLS_EDGE_FUZZ_SLOWEST_DIR=$WORK/slowest fuzz run "${BUILD_FLAGS[@]}" "$target" "$corpus" "fuzz/corpus/$target" -- \
    -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$target")" -timeout="$FUZZ_TIMEOUT_SECONDS" \
    -rss_limit_mb="$FUZZ_RSS_LIMIT_MB" -malloc_limit_mb="$FUZZ_MALLOC_LIMIT_MB" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dictionary[@]}" >"$WORK/logs/$target.log" 2>&1
  status=$?
  set -e
  elapsed=$(($(date +%s) - started))
  slowest=()
  [ -f "$WORK/slowest/$target" ] && slowest=("$WORK/slowest/$target")
  "$REPLAY" "$target" "fuzz/corpus/$target" "$corpus" "${slowest[@]}" >"$WORK/runs/$target.replay.json"
  printf '{"target":"%s","exit_status":%d,"elapsed_seconds":%d,"max_len":%d}\n' \
    "$target" "$status" "$elapsed" "$(max_len "$target")" >"$WORK/runs/$target.run.json"
  [ "$status" -eq 0 ] || { failed+=("$target"); log "$target: crashed (exit $status), see $WORK/logs/$target.log"; }
done

report_status=0
node fuzz/report.mjs "$WORK" "$FUZZ_SECONDS" "$SLOW_INPUT_MS" \
  "$(rustup run nightly rustc --version)" "$CARGO_FUZZ_VERSION" \
  "rss_limit_mb=$FUZZ_RSS_LIMIT_MB malloc_limit_mb=$FUZZ_MALLOC_LIMIT_MB timeout_s=$FUZZ_TIMEOUT_SECONDS" $targets ||
  report_status=$?
[ ${#failed[@]} -eq 0 ] || die "fuzzing found crashes in: ${failed[*]} (inputs in $WORK/artifacts/)"
[ "$report_status" -eq 0 ] || die "an input took ${SLOW_INPUT_MS} ms or more natively (named above)"
[ "$run_api" = no ] || exec bash tools/scripts/api-fuzz.sh
