# Sourced by dev.sh, test.sh, db.sh and bench.sh: start and stop the local stack of SPEC 5
# (Postgres with sql/, the one origin with the gateway inside, wrangler dev). Every process
# started here is recorded and stopped by `stack_stop`, which the callers run from an EXIT trap.

STACK_PIDS=()
STACK_PG_DATA=""

# Supabase's local defaults: the well-known development JWT secret and the legacy anon and
# service_role API keys signed with it (the legacy key mode and migrating projects use them).
DEV_JWT_SECRET=super-secret-jwt-token-with-at-least-32-characters-long
DEV_ANON_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0
DEV_SERVICE_ROLE_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() { # port variable-name
  port_free "$1" || die "port $1 is taken; set $2 to another port"
}

wait_for_http() { # url seconds what log
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null "$1"; do
    if [ $SECONDS -ge $deadline ]; then
      [ -f "$4" ] && tail -n 40 "$4" >&2
      die "$3 did not answer at $1 within $2 s"
    fi
    sleep 0.3
  done
}

psql_super() { # port database psql-args...
  local port=$1 database=$2
  shift 2
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$database" -v ON_ERROR_STOP=1 "$@"
}

# Starts Postgres (stopped again by stack_stop) and brings DATABASE up to date.
stack_start_postgres() { # data-dir port database [--fresh]
  STACK_PG_DATA=$1
  log "starting Postgres on 127.0.0.1:$2 (data in $1)"
  bash "$RLS_EDGE_ROOT/tools/scripts/postgres.sh" start "$1" "$2"
  stack_database "$2" "$3" "${4:-}"
}

# Brings DATABASE up to date: created when missing, else only the migrations not applied yet,
# so its rows survive restarts; --fresh drops it first. The seed goes into a database that has
# no migration history yet (a new one, or the `postgres` database a new cluster comes with).
# The local Auth's schema (tools/auth/migrations) goes before sql/ (migrate.sh --with-local-auth).
stack_database() { # port database [--fresh]
  local port=$1 database=$2 seed=()
  if [ "${3:-}" = --fresh ]; then
    psql_super "$port" template1 -c "drop database if exists \"$database\" with (force)"
  fi
  if [ -z "$(psql_super "$port" template1 -tA -c "select 1 from pg_database where datname = '$database'")" ]; then
    log "creating database $database"
    psql_super "$port" template1 -c "create database \"$database\""
  fi
  if [ "$(psql_super "$port" "$database" -tA -c "select to_regclass('supabase_migrations.schema_migrations') is null")" = t ]; then
    seed=(--seed)
  fi
  bash "$RLS_EDGE_ROOT/tools/scripts/migrate.sh" "postgres://postgres@127.0.0.1:$port/$database" --with-local-auth "${seed[@]}"
}

# The stack's keys (CONTRACT-keys.md), generated once into the stack dir and kept: the
# signing-keys file and the publishable/secret API keys. Sets STACK_SIGNING_KEYS,
# STACK_API_KEYS, STACK_PUBLISHABLE_KEY, STACK_SECRET_KEY and STACK_ROLE_TOKEN_KEY (key 1, the
# Worker's JWT_SIGNING_KEY).
stack_keys() { # stack-dir
  STACK_SIGNING_KEYS=$1/signing-keys.json
  STACK_API_KEYS=$1/api-keys.json
  node "$RLS_EDGE_ROOT/tools/scripts/signing-keys.mjs" "$STACK_SIGNING_KEYS"
  node "$RLS_EDGE_ROOT/tools/scripts/api-keys.mjs" "$STACK_API_KEYS"
  STACK_PUBLISHABLE_KEY=$(node -p 'require(process.argv[1]).publishable_key' "$STACK_API_KEYS")
  STACK_SECRET_KEY=$(node -p 'require(process.argv[1]).secret_key' "$STACK_API_KEYS")
  STACK_ROLE_TOKEN_KEY=$(node -p 'JSON.stringify(require(process.argv[1])[1])' "$STACK_SIGNING_KEYS")
}

stack_build_origin() {
  log "building the origin (and the gateway inside it)"
  cargo build --release -q -p origin
}

# The one origin on 127.0.0.1:PORT: /rest/v1 (the gateway, in process), /auth/v1 (the local
# Auth, in process, its mailbox beside the log) and /functions/v1 proxied to wrangler dev on
# FUNCTIONS_PORT. Key mode: signing | legacy. Further AUTH_* settings (tools/auth/README.md) are
# taken from the environment.
stack_start_origin() { # pg-port database port functions-port key-mode log
  local pg_port=$1 database=$2 port=$3 functions_port=$4 mode=$5 logfile=$6 keys=()
  require_free_port "$port" ORIGIN_PORT
  # With signing keys there is no legacy secret anywhere: /rest/v1 trusts the keys of the file
  # (Auth's key 0 and the Worker's role-token key 1), as a project with the legacy secret revoked.
  case "$mode" in
    signing) keys=(--keys signing --signing-keys "$STACK_SIGNING_KEYS") ;;
    legacy) keys=(--keys legacy --jwt-secret "$DEV_JWT_SECRET" --anon-key "$DEV_ANON_KEY" --service-role-key "$DEV_SERVICE_ROLE_KEY") ;;
    *) die "STACK_KEYS must be signing or legacy, got '$mode'" ;;
  esac
  log "starting the origin on http://127.0.0.1:$port ($mode keys)"
  AUTH_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/$database" AUTH_MAILBOX_FILE="$(dirname "$logfile")/auth-mailbox.jsonl" \
  PGRST_DB_URI="postgres://authenticator@127.0.0.1:$pg_port/$database" PGRST_DB_SCHEMAS=public PGRST_DB_ANON_ROLE=anon \
    "$CARGO_TARGET_DIR/release/origin" --port "$port" --functions-url "http://127.0.0.1:$functions_port" \
    --api-keys "$STACK_API_KEYS" "${keys[@]}" >"$logfile" 2>&1 &
  STACK_PIDS+=($!)
  wait_for_http "http://127.0.0.1:$port/auth/v1/.well-known/jwks.json" 30 "the origin" "$logfile"
}

# The Worker's settings for a stack, configured as against a hosted project (one --var per
# line, for mapfile): the origin as PostgREST, the project's apikey, the JWKS of the local Auth.
stack_worker_vars() { # origin-url key-mode
  local apikey=$STACK_PUBLISHABLE_KEY
  [ "$2" = legacy ] && apikey=$DEV_ANON_KEY
  printf -- '--var\n%s\n' "POSTGREST_URL:$1/rest/v1" "SUPABASE_PUBLISHABLE_KEY:$apikey" "SUPABASE_ANON_KEY:$apikey"
  # Signing keys: ES256 user tokens through the JWKS, ES256 role tokens with key 1, no legacy
  # secret. Legacy: the HS256 secret for both.
  if [ "$2" = signing ]; then
    printf -- '--var\n%s\n' "JWKS_URL:$1/auth/v1/.well-known/jwks.json" "SUPABASE_SECRET_KEY:$STACK_SECRET_KEY" \
      "JWT_SIGNING_KEY:$STACK_ROLE_TOKEN_KEY"
  else
    printf -- '--var\n%s\n' "SUPABASE_JWT_SECRET:$DEV_JWT_SECRET"
  fi
}

# The end-to-end tests' Worker settings (tests/e2e/vars/<function>.env, NAME=VALUE lines) as
# --var arguments (one per line, for mapfile), minus the NAMEs given: the Worker under test
# reads them like deployed vars and secrets.
stack_test_vars() { # [name-to-leave-out...]
  local file line name
  for file in "$RLS_EDGE_ROOT"/tests/e2e/vars/*.env; do
    [ -f "$file" ] || continue
    while IFS= read -r line; do
      case "$line" in ''|'#'*) continue ;; esac
      name=${line%%=*}
      [[ " $* " == *" $name "* ]] && continue
      printf -- '--var\n%s\n' "${line/=/:}"
    done <"$file"
  done
}

# The standalone gateway, for the benchmark's direct-to-PostgREST figures.
stack_build_gateway() {
  log "building the gateway"
  cargo build --release -q -p gateway
}

stack_start_gateway() { # pg-port database gateway-port log
  require_free_port "$3" GATEWAY_PORT
  log "starting the PostgREST-compatible gateway on http://127.0.0.1:$3/rest/v1/"
  PGRST_DB_URI="postgres://authenticator@127.0.0.1:$1/$2" \
  PGRST_DB_SCHEMAS=public PGRST_DB_ANON_ROLE=anon PGRST_JWT_SECRET=$DEV_JWT_SECRET \
  PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT=$3 GATEWAY_BASE_PATH=/rest/v1 \
    "$CARGO_TARGET_DIR/release/gateway" >"$4" 2>&1 &
  STACK_PIDS+=($!)
  wait_for_http "http://127.0.0.1:$3/rest/v1/" 30 "the gateway" "$4"
}

# Runs the bundle in `wrangler dev`; extra arguments (e.g. --var NAME:VALUE) are passed on.
# Local Durable Object state lives beside the log, so two stacks never share its SQLite files.
stack_start_wrangler() { # port log [wrangler args...]
  local port=$1 logfile=$2
  shift 2
  require_free_port "$port" WRANGLER_PORT
  log "starting wrangler dev on http://127.0.0.1:$port"
  (cd "$RLS_EDGE_ROOT" && RLS_EDGE_SKIP_SETUP=1 WRANGLER_SEND_METRICS=false \
    exec wrangler dev --ip 127.0.0.1 --port "$port" --inspector-port 0 --test-scheduled \
      --persist-to "$(dirname "$logfile")/wrangler-state" --show-interactive-dev-session=false "$@") >"$logfile" 2>&1 &
  STACK_PIDS+=($!)
  wait_for_http "http://127.0.0.1:$port/functions/v1/health" 180 "wrangler dev" "$logfile"
}

# Stops every process started here (Postgres stays up).
stack_stop_processes() {
  local pid
  for pid in "${STACK_PIDS[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STACK_PIDS=()
}

stack_stop() {
  stack_stop_processes
  if [ -n "$STACK_PG_DATA" ]; then
    bash "$RLS_EDGE_ROOT/tools/scripts/postgres.sh" stop "$STACK_PG_DATA"
    STACK_PG_DATA=""
  fi
}
