#!/usr/bin/env bash
# Property-based API fuzzing of every operation of the OpenAPI document (src/openapi.json) with
# schemathesis, against the local stack: once with a signed-up user's token and once without (and,
# on a stack of its own, the privileged endpoints once more with the secret key).
# Goals: no 5xx (every dependency is up here), no answer the document does not allow (status,
# headers, content type, body schema; 405s with an exact Allow), schema-invalid input refused with
# a 4xx, and the Worker and the gateway alive and healthy at the end.
#
#   npm run fuzz [-- api]              (tools/scripts/fuzz.sh calls this) its own stack, the
#                                      full run: API_FUZZ_EXAMPLES (100) per operation and phase;
#                                      writes bench/results.json's `contract` key and README's
#                                      figures between <!-- api-fuzz:start --> and <!-- api-fuzz:end -->
#   api-fuzz.sh --stack-running        against the stack tools/scripts/test.sh runs (its ORIGIN_URL,
#                                      AUTH_URL, keys, WRANGLER_LOG, ORIGIN_LOG), a short run
#                                      (API_FUZZ_EXAMPLES 8), results only on the terminal
#
# schemathesis comes from PyPI at the version in tests/contract/requirements.txt, into a venv in
# the tool cache ($RLS_EDGE_CACHE/tools/schemathesis; `api-fuzz.sh --install` only installs it,
# setup.sh calls that). Reports (JUnit, NDJSON events) land in .local/api-fuzz/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

VENV=$RLS_EDGE_TOOLS/schemathesis
REQUIREMENTS=tests/contract/requirements.txt
WORK=$RLS_EDGE_LOCAL/api-fuzz

install_schemathesis() {
  local wanted installed
  wanted=$(grep -oE '^schemathesis==[0-9.]+' "$REQUIREMENTS" | cut -d= -f3)
  installed=$("$VENV/bin/schemathesis" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1) || true
  if [ "$installed" != "$wanted" ]; then
    log "installing schemathesis $wanted (pip, into $VENV)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  fi
}

mode=own-stack
case "${1:-}" in
  --install) install_schemathesis; exit 0 ;;
  --stack-running) mode=stack-running ;;
  "") ;;
  *) die "unknown argument '$1' (--install, --stack-running)" ;;
esac
install_schemathesis

# Every check schemathesis has that holds for this API. Not `positive_data_acceptance`: a request
# the schema allows can still be refused by what is stored (no such lead: 404; a key of the wrong
# shape for its service: 400), and the document says so. Not the stateful checks
# (`use_after_free`, `ensure_resource_availability`): the document declares no links.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance,ignored_auth

if [ "$mode" = own-stack ]; then
  API_FUZZ_EXAMPLES=${API_FUZZ_EXAMPLES:-100}
  API_FUZZ_PG_PORT=${API_FUZZ_PG_PORT:-26432}
  API_FUZZ_ORIGIN_PORT=${API_FUZZ_ORIGIN_PORT:-26321}
  API_FUZZ_WRANGLER_PORT=${API_FUZZ_WRANGLER_PORT:-28789}
  trap stack_stop EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$WORK"
  stack_start_postgres "$WORK/postgres" "$API_FUZZ_PG_PORT" rls_edge_api_fuzz --fresh
  stack_build_origin
  RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
  stack_keys "$WORK"
  stack_start_origin "$API_FUZZ_PG_PORT" rls_edge_api_fuzz "$API_FUZZ_ORIGIN_PORT" "$API_FUZZ_WRANGLER_PORT" signing "$WORK/origin.log"
  mapfile -t worker_vars < <(stack_worker_vars "http://127.0.0.1:$API_FUZZ_ORIGIN_PORT" signing)
  # The e2e settings: webhook secrets, master keys, check and cleanup secrets, limits read
  # from system_rate_limits within a second.
  mapfile -t function_vars < <(stack_test_vars)
  stack_start_wrangler "$API_FUZZ_WRANGLER_PORT" "$WORK/wrangler.log" --env-file /dev/null "${worker_vars[@]}" "${function_vars[@]}"
  # A Stripe for the reconcile job to ask, as production has one: the e2e suite's fake of
  # GET /v1/events (no events), at the address and with the key of the e2e settings. Without it
  # every reconcile run is a 502 (Stripe unreachable), which schemathesis counts as a server error.
  stripe_setting() { stack_test_vars | sed -n "s/^$1://p"; }
  stripe_url=$(stripe_setting STRIPE_API_BASE_URL)
  stripe_port=${stripe_url##*:}
  require_free_port "$stripe_port" "STRIPE_API_BASE_URL in tests/e2e/vars/webhooks.env"
  node --input-type=module -e "
    const { startFakeStripe } = await import('$RLS_EDGE_ROOT/tests/e2e/webhook-fake-stripe.mjs');
    startFakeStripe({ port: $stripe_port, apiKey: process.argv[1] });" "$(stripe_setting STRIPE_RECONCILE_API_KEY)" \
    >"$WORK/fake-stripe.log" 2>&1 &
  STACK_PIDS+=($!)
  ORIGIN_URL=http://127.0.0.1:$API_FUZZ_ORIGIN_PORT
  AUTH_URL=$ORIGIN_URL/auth/v1
  PUBLISHABLE_KEY=$STACK_PUBLISHABLE_KEY SECRET_KEY=$STACK_SECRET_KEY
  WRANGLER_LOG=$WORK/wrangler.log ORIGIN_LOG=$WORK/origin.log
  DATABASE_URL=postgres://postgres@127.0.0.1:$API_FUZZ_PG_PORT/rls_edge_api_fuzz
else
  API_FUZZ_EXAMPLES=${API_FUZZ_EXAMPLES:-8}
  for variable in ORIGIN_URL AUTH_URL PUBLISHABLE_KEY SECRET_KEY WRANGLER_LOG ORIGIN_LOG DATABASE_URL; do
    [ -n "${!variable:-}" ] || die "--stack-running needs $variable (tools/scripts/test.sh sets it)"
  done
  mkdir -p "$WORK"
fi

# Budgets no fuzzing run spends, for the `free` plan every caller here is on (rows added only
# where the table has none, and removed again at the end): a 429 would only hide the handler
# behind the limiter, which tests/e2e/rate-limit.test.mjs tests.
LIFTED=()
restore_rate_limits() {
  local endpoint
  for endpoint in "${LIFTED[@]}"; do
    psql "$DATABASE_URL" -XqtA -c "delete from public.system_rate_limits where endpoint = '$endpoint' and plan = 'free'" >/dev/null
  done
  LIFTED=()
}
if [ "$mode" = own-stack ]; then
  trap 'restore_rate_limits; stack_stop' EXIT
else
  trap restore_rate_limits EXIT
fi
for endpoint in signup api-keys lead-scoring webhooks webhooks.unverified rate-limit personal-keys personal-key openapi.json default; do
  inserted=$(psql "$DATABASE_URL" -XqtA -c "insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
    values ('$endpoint', 'free', 1000000, 60) on conflict do nothing returning 1")
  if [ "$inserted" = 1 ]; then LIFTED+=("$endpoint"); fi
done
sleep 2 # the Worker reads system_rate_limits again after RATE_LIMIT_CACHE_SECONDS (1 s here)

token=$(node tests/contract/fuzz-user.mjs "$AUTH_URL" "$ORIGIN_URL/functions/v1" "$PUBLISHABLE_KEY" "$SECRET_KEY")
wrangler_lines_before=$(wc -l <"$WRANGLER_LOG")
origin_lines_before=$(wc -l <"$ORIGIN_LOG")

# One schemathesis run: every operation, every phase but the stateful one, a fixed seed so a
# finding reproduces; `label` names its reports. One worker thread: on the Python 3.11 the venv
# is built from, two threads that build Python ASTs at once (anyio's lazy import, which
# schemathesis makes from a worker, does) can fail one with "SystemError: AST constructor
# recursion depth mismatch" (CPython issue gh-106905), a fuzzer error that fails the run with
# nothing wrong in the API.
run_schemathesis() { # label [schemathesis args...]
  local label=$1
  shift
  log "schemathesis ($label): every operation, $API_FUZZ_EXAMPLES examples each per phase"
  rm -rf "${WORK:?}/$label"
  set +e
  # From the work dir: schemathesis keeps its cache of failing cases (replayed first next time) in
  # ./.schemathesis.
  (cd "$WORK" && "$VENV/bin/schemathesis" run "$RLS_EDGE_ROOT/src/openapi.json" --url "$ORIGIN_URL" --checks "$CHECKS" \
    --phases examples,coverage,fuzzing --max-examples "$API_FUZZ_EXAMPLES" --seed "${API_FUZZ_SEED:-21}" \
    --workers 1 --request-timeout 20 --suppress-health-check all --generation-database none --no-color \
    --report junit,ndjson --report-dir "$WORK/$label" "$@") >"$WORK/$label.log" 2>&1
  local status=$?
  set -e
  [ "$status" -eq 0 ] || refused+=("$label")
}

refused=() # the runs schemathesis exited non-zero on
runs=(user-token no-token)
run_schemathesis user-token -H "Authorization: Bearer $token"
run_schemathesis no-token
# The privileged endpoints past their credential check, with the secret key: only on a stack of
# its own, since cleanup/run's jobs would work on the e2e suite's database.
if [ "$mode" = own-stack ]; then
  runs+=(secret-key)
  run_schemathesis secret-key -H "apikey: $SECRET_KEY" \
    --include-path-regex '/functions/v1/(api-keys/rotate|rate-limit/check|cleanup/run|webhooks/(events.*|reconcile/stripe|alerts/run))$'
fi

# The Worker and the gateway must have lived through it: health answers 200 (its probe reads
# through the origin's /rest/v1, so the gateway answers too), and neither logged a panic or an
# uncaught exception while the fuzzer ran.
crashes=$( (tail -n +"$((wrangler_lines_before + 1))" "$WRANGLER_LOG"; tail -n +"$((origin_lines_before + 1))" "$ORIGIN_LOG") |
  grep -cE 'panicked at|Uncaught|RuntimeError|unreachable|Worker exceeded|worker restarted' || true)
health=$(curl -s -o /dev/null -w '%{http_code}' "$ORIGIN_URL/functions/v1/health")
# The report names every failed check and every error schemathesis recorded; a run that failed
# for any other reason shows the end of its own log (its summary) after it, last on the terminal.
failed=()
node tests/contract/fuzz-report.mjs "$WORK" "$mode" "$API_FUZZ_EXAMPLES" "$crashes" "$health" "${runs[@]}" || failed+=("answers outside the document or errors")
for label in "${refused[@]}"; do
  printf '\n--- the end of %s ---\n' "$WORK/$label.log" >&2
  tail -n 40 "$WORK/$label.log" >&2
  failed+=("$label (schemathesis exited non-zero; the end of its log is above, all of it in $WORK/$label.log)")
done
[ "$crashes" -eq 0 ] || failed+=("crashes in the logs")
[ "$health" = 200 ] || failed+=("health answered $health after the run")
[ "${#failed[@]}" -eq 0 ] || die "API fuzzing failed: $(printf '%s; ' "${failed[@]}")reports in $WORK"
log "API fuzzing passed: 0 server errors, 0 answers outside the document, 0 crashes"
