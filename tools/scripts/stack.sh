# Sourced by dev.sh, test.sh and bench.sh: start and stop the local stack of SPEC 5 (Postgres,
# sql/, the PostgREST-compatible gateway, wrangler dev). Every process started here is
# recorded and stopped by `stack_stop`, which the callers run from an EXIT trap.

STACK_PIDS=()
STACK_PG_DATA=""

# Supabase's local defaults: the well-known development JWT secret and the anon key signed with it.
DEV_JWT_SECRET=super-secret-jwt-token-with-at-least-32-characters-long
DEV_ANON_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0

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

# Starts Postgres and (re)creates DATABASE with every migration and, with --seed, the seed data.
stack_start_postgres() { # data-dir port database [--seed]
  STACK_PG_DATA=$1
  log "starting Postgres on 127.0.0.1:$2 (data in $1)"
  bash "$RLS_EDGE_ROOT/tools/scripts/postgres.sh" start "$1" "$2"
  PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -p "$2" -U postgres -d template1 -v ON_ERROR_STOP=1 \
    -c "drop database if exists \"$3\" with (force)" -c "create database \"$3\"" >/dev/null
  log "applying sql/ to database $3"
  bash "$RLS_EDGE_ROOT/tools/scripts/migrate.sh" "postgres://postgres@127.0.0.1:$2/$3" ${4:-}
}

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

stack_stop() {
  local pid
  for pid in "${STACK_PIDS[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STACK_PIDS=()
  if [ -n "$STACK_PG_DATA" ]; then
    bash "$RLS_EDGE_ROOT/tools/scripts/postgres.sh" stop "$STACK_PG_DATA"
    STACK_PG_DATA=""
  fi
}
