#!/usr/bin/env bash
# Applies the migrations a database does not have yet, recording each one in
# supabase_migrations.schema_migrations, the history table the Supabase CLI keeps (version,
# name, statements), so a hosted project's history looks familiar. Works on any Postgres a
# superuser-like role can reach, a hosted Supabase project included (its connection string from
# the dashboard).
#
#   tools/scripts/migrate.sh DATABASE_URL [--seed] [--with-local-auth]
#
#   --seed             then applies sql/seed.sql and records its hash in supabase_migrations.seed_files
#   --with-local-auth  first applies the local Auth's schema, tools/auth/migrations/*.sql, when that
#                      folder exists (only for the local stack: on Supabase the platform owns auth.*)
#
# At the end it sends `NOTIFY pgrst, 'reload schema'`, so a running PostgREST sees the changes.
#
# A migration `NNNN_name.sql` is recorded as version NNNN; the local Auth's as auth_NNNN. Each one
# runs in one transaction together with its history row, so a failed migration leaves no trace
# and stops the run. A database that got its migrations before this history existed (they were
# applied with plain psql) is brought up to date by running them all again: every migration in
# sql/migrations is re-runnable, and the sql test stage proves it.
# RLS_EDGE_SQL_DIR and RLS_EDGE_AUTH_SQL_DIR override where sql/ and the local Auth's migrations
# are (the stack's own tests use copies).
set -euo pipefail

usage() { echo "usage: tools/scripts/migrate.sh DATABASE_URL [--seed] [--with-local-auth]" >&2; exit 2; }

database_url=${1:-}
[ -n "$database_url" ] || usage
shift
seed=false
local_auth=false
for option in "$@"; do
  case "$option" in
    --seed) seed=true ;;
    --with-local-auth) local_auth=true ;;
    *) usage ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sql_dir=${RLS_EDGE_SQL_DIR:-$root/sql}
command -v psql >/dev/null || { echo "migrate.sh: psql not found (apt-get install -y postgresql-client-15)" >&2; exit 1; }

# NOTICEs ("already exists, skipping") are expected on re-runs; keep warnings and errors.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
run_psql() { psql "$database_url" -X -v ON_ERROR_STOP=1 -q "$@"; }

# The Supabase CLI's own statements (pkg/migration/history.go), so an existing history table
# is reused as it is.
run_psql <<'SQL'
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
create table if not exists supabase_migrations.seed_files (path text not null primary key, hash text not null);
SQL

applied=" $(run_psql -tA -c "select version from supabase_migrations.schema_migrations" | tr '\n' ' ') "

# Applies one file and records it, in a single transaction; the file's text is stored as the
# one statement of its history row.
apply() { # file version name
  printf '\\set content `cat %q`\ninsert into supabase_migrations.schema_migrations (version, name, statements) values (:'"'"'version'"'"', :'"'"'name'"'"', array[:'"'"'content'"'"']);\n' "$1" \
    | run_psql --single-transaction -v version="$2" -v name="$3" -f "$1" -f - \
    || { echo "migrate.sh: failed in $1; nothing of it was applied" >&2; exit 1; }
}

shopt -s nullglob
count=0
apply_folder() { # folder version-prefix
  local file base
  for file in "$1"/*.sql; do
    base=$(basename "$file" .sql)
    [[ "$base" == *_* ]] || { echo "migrate.sh: $file is not named NNNN_name.sql" >&2; exit 1; }
    [[ "$applied" == *" $2${base%%_*} "* ]] && continue
    apply "$file" "$2${base%%_*}" "${base#*_}"
    echo "migrate.sh: applied $(basename "$file")"
    count=$((count + 1))
  done
}

auth_dir=${RLS_EDGE_AUTH_SQL_DIR:-$root/tools/auth/migrations}
if $local_auth && [ -d "$auth_dir" ]; then
  apply_folder "$auth_dir" auth_
fi
migrations=("$sql_dir"/migrations/*.sql)
[ ${#migrations[@]} -gt 0 ] || { echo "migrate.sh: no migrations in $sql_dir/migrations" >&2; exit 1; }
apply_folder "$sql_dir/migrations" ""
echo "migrate.sh: $count new migration(s) applied, $(run_psql -tA -c "select count(*) from supabase_migrations.schema_migrations") recorded"

if $seed; then
  # seed.sql runs its own transaction.
  run_psql -f "$sql_dir/seed.sql" || { echo "migrate.sh: failed in seed.sql" >&2; exit 1; }
  run_psql -c "insert into supabase_migrations.seed_files (path, hash) values ('sql/seed.sql', '$(sha256sum "$sql_dir/seed.sql" | cut -d' ' -f1)')
    on conflict (path) do update set hash = excluded.hash"
  echo "migrate.sh: applied seed.sql"
fi

# A running PostgREST (or the local gateway) reloads its schema cache, as after any DDL.
run_psql -c "notify pgrst, 'reload schema'"
