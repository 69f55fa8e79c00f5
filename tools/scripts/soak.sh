#!/usr/bin/env bash
# `npm run soak [-- --seconds N]`: mixed traffic over every endpoint at the highest rate the local
# stack sustains, for N seconds (default 600), with three faults in the middle: Postgres is
# stopped and started again, then the origin (which holds the gateway and the local Auth), then
# the Durable Object store fails for a while. Reports what the stack answered, whether anything
# acknowledged was lost or applied twice, and memory; writes the figures under the `soak` key of
# bench/results.json and the soak table in README's Reliability section (tools/soak/report.mjs).
# tools/soak/README.md explains the traffic, the faults and the figures.
#
# The stack is the one `npm test`'s e2e stage runs (tools/scripts/stack.sh): Postgres with sql/,
# the one origin, the built bundle in wrangler dev with the e2e settings (tests/e2e/vars), in a
# fresh database of its own, on Supabase's signing keys. One difference, so the traffic looks
# like many real users: the local Auth keys its rate limits on CF-Connecting-IP
# (AUTH_RATE_LIMIT_HEADER, as Supabase's platform does), so each simulated user has a budget of
# its own.
#
# Ports (override when taken): SOAK_PG_PORT 26432, SOAK_ORIGIN_PORT 26321, SOAK_WRANGLER_PORT
# 28788; the vault's fake provider listens where tests/e2e/vars/api-keys.env points (24410), so
# the soak and the e2e stage cannot run at the same time on one machine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

SOAK_PG_PORT=${SOAK_PG_PORT:-26432}
SOAK_ORIGIN_PORT=${SOAK_ORIGIN_PORT:-26321}
SOAK_WRANGLER_PORT=${SOAK_WRANGLER_PORT:-28788}
WORK=$RLS_EDGE_LOCAL/soak
DATABASE=rls_edge_soak
seconds=600
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    *) die "unknown argument '$1' (usage: npm run soak -- [--seconds N])" ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 30 ] || die "--seconds must be a whole number of seconds, at least 30"

TIMELINE=$WORK/timeline.jsonl
ORIGIN_PID=""

note() { # event json-fields: appends one line to the timeline the driver reads
  printf '{"event":"%s","at":%s,%s}\n' "$1" "$(date +%s%3N)" "$2" >>"$TIMELINE"
}

# The Durable Objects' local storage: wrangler dev keeps each object's SQLite file under
# <persist-to>/v3/do/<script>-<class>/.
durable_object_dirs() {
  find "$WORK/wrangler-state/v3/do" -mindepth 1 -maxdepth 1 -type d 2>/dev/null
}

# The fault: the storage under every Durable Object refuses all access, as a failed disk would.
# As root (the usual case here) the directories, the databases and their write-ahead logs become
# immutable (chattr +i): even root can then neither create nor write them, and since kernel 5.4
# ext4 refuses writes through files already open too, so workerd's SQLite fails on every object,
# old or new, and the stub's fetch throws, which is what a Worker sees on Cloudflare when a
# Durable Object is broken. The -shm files stay writable: SQLite maps them into memory, and a
# write to a mapped page of an immutable file is a SIGBUS that kills the whole runtime, a crash
# rather than a failed store. Without root (or on a filesystem without the flag) the directories'
# permissions are taken away instead, which stops workerd running as that same user.
durable_object_store() { # fail|restore
  local dir files
  while IFS= read -r dir; do
    files=("$dir" "$dir"/*.sqlite "$dir"/*.sqlite-wal)
    if [ "$1" = fail ]; then
      chattr +i "${files[@]}" 2>/dev/null || chmod a-rwx "$dir"
    else
      chattr -i "${files[@]}" 2>/dev/null || true
      chmod u+rwx,go+rx "$dir"
    fi
  done < <(durable_object_dirs)
}

cleanup() {
  durable_object_store restore
  stack_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The wrangler dev processes: the Worker's runtime (workerd with the inspector, serving the
# bundle) and wrangler's own dev proxy in front of it (workerd on the public port).
workerd_pid() { # worker|dev_proxy
  local pid serves_port
  for pid in $(pgrep -x workerd); do
    is_descendant "$pid" "$WRANGLER_PID" || continue
    serves_port=no
    grep -qa -- "--socket-addr=entry=127.0.0.1:$SOAK_WRANGLER_PORT" "/proc/$pid/cmdline" && serves_port=yes
    case "$1:$serves_port" in worker:no | dev_proxy:yes) echo "$pid" && return ;; esac
  done
}

is_descendant() { # pid ancestor
  local pid=$1
  while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
    [ "$pid" = "$2" ] && return 0
    pid=$(ps -o ppid= -p "$pid" | tr -d ' ')
  done
  return 1
}

note_processes() {
  note processes "\"origin\":$ORIGIN_PID,\"worker\":$(workerd_pid worker),\"dev_proxy\":$(workerd_pid dev_proxy)"
}

# The origin, logging to origin.log, and after its restart to origin-restarted.log.
start_origin() { # [log-name]
  AUTH_RATE_LIMIT_HEADER=CF-Connecting-IP \
    stack_start_origin "$SOAK_PG_PORT" "$DATABASE" "$SOAK_ORIGIN_PORT" "$SOAK_WRANGLER_PORT" signing "$WORK/${1:-origin}.log"
  ORIGIN_PID=${STACK_PIDS[-1]}
}

stop_origin() {
  kill -TERM "$ORIGIN_PID"
  wait "$ORIGIN_PID" 2>/dev/null || true
  local pid kept=()
  for pid in "${STACK_PIDS[@]}"; do [ "$pid" = "$ORIGIN_PID" ] || kept+=("$pid"); done
  STACK_PIDS=("${kept[@]}")
}

sleep_until() { # epoch ms
  local wait_ms=$(($1 - $(date +%s%3N)))
  [ "$wait_ms" -le 0 ] || sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
}

# Each fault at the time the driver scheduled it: down for down_ms, then back; "restored" is
# noted once the component answers again.
inject_faults() {
  local fault at down_ms
  while read -r fault at down_ms; do
    sleep_until "$at"
    case "$fault" in
      postgres)
        note fault '"fault":"postgres","step":"start","how":"pg_ctl stop -m fast, then start (tools/scripts/postgres.sh)"'
        log "fault: stopping Postgres for $((down_ms / 1000)) s"
        bash tools/scripts/postgres.sh stop "$WORK/postgres"
        sleep_until $((at + down_ms))
        bash tools/scripts/postgres.sh start "$WORK/postgres" "$SOAK_PG_PORT"
        ;;
      origin)
        note fault '"fault":"origin","step":"start","how":"SIGTERM to the origin process (gateway and Auth inside), then a new one (stack_start_origin)"'
        log "fault: stopping the origin for $((down_ms / 1000)) s"
        stop_origin
        sleep_until $((at + down_ms))
        start_origin origin-restarted
        note_processes
        ;;
      durable-object-store)
        local how="chattr +i on the Durable Objects' SQLite directory, databases and write-ahead logs (chmod a-rwx on the directory without root)"
        note fault "\"fault\":\"durable-object-store\",\"step\":\"start\",\"how\":\"$how\""
        log "fault: the Durable Object store fails for $((down_ms / 1000)) s"
        durable_object_store fail
        sleep_until $((at + down_ms))
        durable_object_store restore
        ;;
    esac
    note fault "\"fault\":\"$fault\",\"step\":\"restored\""
    log "fault: $fault restored"
  done < <(node -e 'const hold = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse).find((e) => e.event === "hold");
    for (const f of hold.faults) console.log(f.fault, f.at, f.down_ms)' "$TIMELINE")
}

bash tools/scripts/setup.sh
durable_object_store restore
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$TIMELINE"

stack_start_postgres "$WORK/postgres" "$SOAK_PG_PORT" "$DATABASE" --fresh
psql_super "$SOAK_PG_PORT" "$DATABASE" -f tools/soak/limits.sql -f tools/soak/audit.sql
stack_build_origin
RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
stack_keys "$WORK"
start_origin
origin=http://127.0.0.1:$SOAK_ORIGIN_PORT
mapfile -t worker_vars < <(stack_worker_vars "$origin" signing)
mapfile -t function_vars < <(stack_test_vars)
# As in test.sh: an empty --env-file, so a developer's .dev.vars never reaches the Worker. Its
# debug log goes beside the others: it names the inspector of the Worker's isolate.
WRANGLER_LOG_PATH=$WORK/wrangler-debug stack_start_wrangler "$SOAK_WRANGLER_PORT" "$WORK/wrangler.log" --env-file /dev/null "${worker_vars[@]}" "${function_vars[@]}"
WRANGLER_PID=${STACK_PIDS[-1]}
note_processes

log "soak: $seconds s of traffic with faults (progress below; logs in $WORK)"
# The Worker's isolate as workerd's inspector serves it (wrangler's "userWorkerInspectorUrl").
WORKER_INSPECTOR_URL=$(grep -ho '"userWorkerInspectorUrl":{[^}]*}' "$WORK"/wrangler-debug/*.log 2>/dev/null | tail -n 1 |
  node -e 'const text = require("fs").readFileSync(0, "utf8").trim(); if (text) { const u = JSON.parse(text.slice(text.indexOf("{"))); console.log(`ws://${u.hostname}:${u.port}${u.pathname}`); }' || true)
[ -n "$WORKER_INSPECTOR_URL" ] || log "soak: the Worker's inspector is not in wrangler's debug log; its isolate will not be measured"
ORIGIN_URL=$origin WORKER_URL="http://127.0.0.1:$SOAK_WRANGLER_PORT" PUBLISHABLE_KEY=$STACK_PUBLISHABLE_KEY \
SECRET_KEY=$STACK_SECRET_KEY STACK_KEYS=signing SIGNING_KEYS_FILE=$STACK_SIGNING_KEYS DATABASE_URL="postgres://postgres@127.0.0.1:$SOAK_PG_PORT/$DATABASE" \
WORKER_INSPECTOR_URL=$WORKER_INSPECTOR_URL \
  node --experimental-websocket --disable-warning=ExperimentalWarning tools/soak/run.mjs "$seconds" "$TIMELINE" "$WORK/result.json" &
DRIVER_PID=$!
STACK_PIDS+=("$DRIVER_PID")
until grep -q '"event":"hold"' "$TIMELINE"; do
  kill -0 "$DRIVER_PID" 2>/dev/null || die "the soak driver stopped before the hold; see above"
  sleep 0.5
done
inject_faults
wait "$DRIVER_PID" || die "the soak driver failed; see above"
node tools/soak/report.mjs "$WORK/result.json"
