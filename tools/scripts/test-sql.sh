#!/usr/bin/env bash
# The pgTAP suite for sql/: on a throwaway database, prove the migrations re-run cleanly and
# every policy, grant and RPC behaves as sql/README.md says.
#
#   PGHOST=127.0.0.1 PGPORT=54322 tools/scripts/test-sql.sh
#
# Expects a running cluster reachable through PGHOST/PGPORT with superuser PGUSER (default
# postgres). Creates database rls_edge_pgtap (override with RLS_EDGE_PGTAP_DB), applies every
# migration and seed.sql TWICE (re-runnability, the history emptied in between), then the test helpers, runs sql/tests/*.sql with
# pg_prove, and drops the database again. Exits non-zero on any failure. Installs pg_prove and
# pgTAP with apt-get when they are missing (needs root).
set -euo pipefail

: "${PGHOST:?set PGHOST to the cluster's host (e.g. 127.0.0.1)}"
: "${PGPORT:?set PGPORT to the cluster's port}"
export PGHOST PGPORT
export PGUSER=${PGUSER:-postgres}
database=${RLS_EDGE_PGTAP_DB:-rls_edge_pgtap}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

install_missing() {
  local missing=()
  command -v pg_prove >/dev/null || missing+=(libtap-parser-sourcehandler-pgtap-perl)
  local sharedir
  sharedir=$(pg_config --sharedir 2>/dev/null || echo /usr/share/postgresql/15)
  [ -f "$sharedir/extension/pgtap.control" ] || [ -f /usr/share/postgresql/15/extension/pgtap.control ] \
    || missing+=(postgresql-15-pgtap)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "test-sql.sh: missing ${missing[*]}; install them with apt-get (needs root)" >&2
    exit 1
  fi
  echo "test-sql.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

install_missing

psql_admin() { psql -X -v ON_ERROR_STOP=1 -q -d postgres "$@"; }

drop_database() { psql_admin -c "drop database if exists \"$database\" with (force)" >/dev/null 2>&1 || true; }
trap drop_database EXIT

drop_database
psql_admin -c "create database \"$database\""

database_url="postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${database}"
if [ "${PGHOST#/}" != "$PGHOST" ]; then
  database_url="postgresql:///${database}?host=${PGHOST}&port=${PGPORT}&user=${PGUSER}"
fi

# Twice, the second time over the seeded data and with the history emptied, as on a database
# that got its migrations before migrate.sh kept a history: every migration and the seed must
# re-run cleanly on an already migrated, populated database.
"$root/tools/scripts/migrate.sh" "$database_url" --seed
psql -X -q -v ON_ERROR_STOP=1 -d "$database" -c "truncate supabase_migrations.schema_migrations"
"$root/tools/scripts/migrate.sh" "$database_url" --seed

# pgTAP and dblink (the concurrency tests open parallel sessions) live in their own schema so
# the public-schema checks only ever see the product's objects.
PGOPTIONS="-c client_min_messages=warning" psql -X -v ON_ERROR_STOP=1 -q -d "$database" \
  -v conninfo="host=${PGHOST} port=${PGPORT} user=${PGUSER} dbname=${database}" \
  -f "$root/sql/tests/support/setup.sql"

PGOPTIONS="-c client_min_messages=warning" pg_prove -d "$database" "$root"/sql/tests/*.sql
