#!/usr/bin/env bash
# The development database, the one `npm run dev` serves (Postgres on DEV_PG_PORT, 54322, data
# in .local/dev/postgres; RLS_EDGE_DEV_DIR moves the stack dir). Its rows are kept across
# restarts; only migrations it does not have yet are applied (migrate.sh records them).
#
#   tools/scripts/db.sh reset   (npm run db:reset) drop the database and rebuild it: the local
#                               Auth's schema, sql/migrations, sql/seed.sql. Works while
#                               `npm run dev` runs, or starts Postgres for the job and stops it.
#   tools/scripts/db.sh start   start Postgres and apply new migrations, as `npm run dev` does
#                               first; it keeps running (stop it with `db.sh stop`)
#   tools/scripts/db.sh stop    stop it
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"

DEV_PG_PORT=${DEV_PG_PORT:-54322}
DEV_DIR=${RLS_EDGE_DEV_DIR:-$RLS_EDGE_LOCAL/dev}
data_dir=$DEV_DIR/postgres
postgres=$RLS_EDGE_ROOT/tools/scripts/postgres.sh

case "${1:-}" in
  reset)
    if bash "$postgres" status "$data_dir"; then
      log "resetting the database of the running stack (127.0.0.1:$DEV_PG_PORT)"
      stack_database "$DEV_PG_PORT" postgres --fresh
    else
      trap stack_stop EXIT
      stack_start_postgres "$data_dir" "$DEV_PG_PORT" postgres --fresh
    fi
    log "database reset: postgres://postgres@127.0.0.1:$DEV_PG_PORT/postgres"
    ;;
  start)
    mkdir -p "$DEV_DIR"
    stack_start_postgres "$data_dir" "$DEV_PG_PORT" postgres
    ;;
  stop)
    bash "$postgres" stop "$data_dir"
    ;;
  *)
    echo "usage: tools/scripts/db.sh reset|start|stop" >&2
    exit 2
    ;;
esac
