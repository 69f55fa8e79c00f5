#!/usr/bin/env bash
# Apply the database schema: every sql/migrations/*.sql in name order, then (with --seed)
# sql/seed.sql.
#
#   tools/scripts/migrate.sh DATABASE_URL [--seed]
#
# Every migration and the seed are re-runnable, so running this again against an already
# migrated database is a no-op that succeeds. Stops at the first error (ON_ERROR_STOP).
set -euo pipefail

usage() { echo "usage: tools/scripts/migrate.sh DATABASE_URL [--seed]" >&2; exit 2; }

database_url=${1:-}
[ -n "$database_url" ] || usage
seed=false
case "${2:-}" in
  "") ;;
  --seed) seed=true ;;
  *) usage ;;
esac

sql_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../sql" && pwd)"
command -v psql >/dev/null || { echo "migrate.sh: psql not found (apt-get install -y postgresql-client-15)" >&2; exit 1; }

# NOTICEs ("already exists, skipping") are expected on re-runs; keep warnings and errors.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

shopt -s nullglob
migrations=("$sql_dir"/migrations/*.sql)
[ ${#migrations[@]} -gt 0 ] || { echo "migrate.sh: no migrations in $sql_dir/migrations" >&2; exit 1; }

for file in "${migrations[@]}"; do
  psql "$database_url" -X -v ON_ERROR_STOP=1 -q -f "$file" \
    || { echo "migrate.sh: failed in $(basename "$file")" >&2; exit 1; }
done
echo "migrate.sh: applied ${#migrations[@]} migrations"

if $seed; then
  psql "$database_url" -X -v ON_ERROR_STOP=1 -q -f "$sql_dir/seed.sql" \
    || { echo "migrate.sh: failed in seed.sql" >&2; exit 1; }
  echo "migrate.sh: applied seed.sql"
fi
