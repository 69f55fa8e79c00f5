# Sourced by scripts that need a database of their own for a run (tools/gateway/run-js-tests.sh,
# tools/auth/run-js-tests.sh, bench/gateway/run.sh): a fresh database in the cluster a
# superuser URL names, or else in a throwaway cluster (tools/scripts/postgres.sh, the one
# Postgres lifecycle) on the first free port of a range. throwaway_db_stop drops and stops what
# throwaway_db_start made, and nothing else.
#
#   throwaway_db_start WORK_DIR FIRST_PORT LAST_PORT DATABASE [SUPERUSER_URL]
#     sets THROWAWAY_SUPER_URL (the cluster's postgres database) and THROWAWAY_DB_URL
#   throwaway_db_stop
#   free_port FIRST LAST   prints the first port of the range no local socket uses

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
THROWAWAY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
THROWAWAY_SUPER_URL=""
THROWAWAY_DB_URL=""
throwaway_cluster=""
throwaway_database=""

# A port is free when no socket uses it locally, listening or not: outgoing connections take
# ephemeral ports from these ranges too.
throwaway_port_in_use() {
  if command -v ss >/dev/null; then [ -n "$(ss -Htan "sport = :$1")" ]; else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}

# The first free port from FIRST to LAST, for the cluster and for the servers a script starts.
free_port() { # first last
  local port
  for port in $(seq "$1" "$2"); do
    if ! throwaway_port_in_use "$port"; then echo "$port"; return 0; fi
  done
  echo "no free port in $1-$2" >&2
  return 1
}

throwaway_db_start() {
  local work=$1 first=$2 last=$3 port
  throwaway_database=$4
  if [ -n "${5:-}" ]; then
    THROWAWAY_SUPER_URL=$5
  else
    port=$(free_port "$first" "$last")
    throwaway_cluster=$work/pg
    if ! "$THROWAWAY_ROOT/tools/scripts/postgres.sh" start "$throwaway_cluster" "$port"; then
      cat "$throwaway_cluster/server.log" >&2 2>/dev/null || true
      return 1
    fi
    THROWAWAY_SUPER_URL="postgres://postgres@127.0.0.1:$port/postgres"
  fi
  "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$THROWAWAY_SUPER_URL" -c "create database $throwaway_database" >/dev/null
  THROWAWAY_DB_URL="${THROWAWAY_SUPER_URL%/*}/$throwaway_database"
}

throwaway_db_stop() {
  if [ -n "$THROWAWAY_SUPER_URL" ] && [ -n "$throwaway_database" ]; then
    "$PG_BIN/psql" -q "$THROWAWAY_SUPER_URL" -c "drop database if exists $throwaway_database with (force)" >/dev/null 2>&1 || true
  fi
  if [ -n "$throwaway_cluster" ]; then "$THROWAWAY_ROOT/tools/scripts/postgres.sh" stop "$throwaway_cluster" || true; fi
}
