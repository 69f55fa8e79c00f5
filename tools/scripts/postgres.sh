#!/usr/bin/env bash
# A local PostgreSQL 15 cluster for development and tests.
#
#   tools/scripts/postgres.sh start DATA_DIR PORT   initdb when new, start, wait until ready
#   tools/scripts/postgres.sh stop  DATA_DIR        fast shutdown (no-op when not running)
#   tools/scripts/postgres.sh status DATA_DIR       exit 0 when the cluster in DATA_DIR is running
#
# Listens on 127.0.0.1 only, with trust auth for the `postgres` superuser: a development and
# test cluster, never a production one. Postgres refuses to run as root, so as root the
# server runs as the `postgres` OS user, with its data where that user can reach it.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_server_installed() {
  [ -x "$PG_BIN/initdb" ] && return 0
  echo "postgres.sh: PostgreSQL 15 server not found in $PG_BIN; installing it with apt" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
}

cmd=${1:?usage: postgres.sh start|stop|status DATA_DIR [PORT]}
data_dir=${2:?data directory required}
mkdir -p "$data_dir"
data_dir=$(cd "$data_dir" && pwd -P)

# As root the server runs as the postgres user, who cannot enter a private directory such as
# /root. A new data directory there is kept under that user's home instead (one per path), and
# DATA_DIR becomes a link to it, so callers keep using the path they gave.
if [ "$(id -u)" = 0 ] && [ "$cmd" = start ] && ! runuser -u postgres -- test -x "$data_dir"; then
  if [ -n "$(ls -A "$data_dir")" ]; then
    echo "postgres.sh: the postgres user cannot reach $data_dir, which is not empty; move it somewhere it can" >&2
    exit 1
  fi
  home=$(getent passwd postgres | cut -d: -f6)
  reachable="$home/rls-edge/$(printf %s "$data_dir" | sha256sum | cut -c1-16)"
  mkdir -p "$reachable"
  chown postgres:postgres "$home/rls-edge" "$reachable"
  rmdir "$data_dir"
  ln -s "$reachable" "$data_dir"
  echo "postgres.sh: the postgres user cannot reach $data_dir; keeping the cluster in $reachable (linked from there)" >&2
  data_dir=$reachable
fi

case "$cmd" in
  start)
    port=${3:?port required}
    ensure_server_installed
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data_dir"; fi
    if [ ! -f "$data_dir/PG_VERSION" ]; then
      as_pg_owner "$PG_BIN/initdb" -D "$data_dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if as_pg_owner "$PG_BIN/pg_ctl" -D "$data_dir" status >/dev/null 2>&1; then
      as_pg_owner "$PG_BIN/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null
    fi
    as_pg_owner "$PG_BIN/pg_ctl" -D "$data_dir" -w -t 60 -l "$data_dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $data_dir -c fsync=off -c max_connections=200" \
      start >/dev/null
    ;;
  stop)
    if [ -f "$data_dir/postmaster.pid" ]; then
      as_pg_owner "$PG_BIN/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  status)
    [ -f "$data_dir/postmaster.pid" ] && as_pg_owner "$PG_BIN/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
    ;;
  *)
    echo "usage: postgres.sh start|stop|status DATA_DIR [PORT]" >&2
    exit 2
    ;;
esac
