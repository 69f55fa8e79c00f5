#!/usr/bin/env bash
# `npm run dev`: the whole product on loopback (SPEC 5). Postgres on 127.0.0.1:54322 with sql/
# and the seed data, the PostgREST-compatible gateway at http://127.0.0.1:54321/rest/v1/, the
# bundle in `wrangler dev` at http://127.0.0.1:8787. Ctrl-C stops everything it started.
#
# Ports: DEV_PG_PORT (54322), GATEWAY_PORT (54321), WRANGLER_PORT (8787).
# The database is rebuilt from sql/ on every start; keep nothing precious in it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

DEV_PG_PORT=${DEV_PG_PORT:-54322}
GATEWAY_PORT=${GATEWAY_PORT:-54321}
WRANGLER_PORT=${WRANGLER_PORT:-8787}
DEV_DIR=$RLS_EDGE_LOCAL/dev

trap stack_stop EXIT
trap 'exit 130' INT TERM
mkdir -p "$DEV_DIR"
bash tools/scripts/setup.sh

require_free_port "$DEV_PG_PORT" DEV_PG_PORT
stack_start_postgres "$DEV_DIR/postgres" "$DEV_PG_PORT" postgres --seed
stack_build_gateway
stack_start_gateway "$DEV_PG_PORT" postgres "$GATEWAY_PORT" "$DEV_DIR/gateway.log"

rest_url="http://127.0.0.1:$GATEWAY_PORT/rest/v1"
if [ ! -f .dev.vars ]; then
  log "writing .dev.vars from .dev.vars.example"
  cp .dev.vars.example .dev.vars
fi
# The stack's own addresses change with the ports, so they are refreshed on every start.
sed -i -e "/^POSTGREST_URL=/d" -e "/^DATABASE_URL=/d" .dev.vars
printf 'POSTGREST_URL=%s\nDATABASE_URL=%s\n' "$rest_url" "postgres://postgres@127.0.0.1:$DEV_PG_PORT/postgres" >>.dev.vars

RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
stack_start_wrangler "$WRANGLER_PORT" "$DEV_DIR/wrangler.log"

demo_jwt=$(node tools/scripts/demo-jwt.mjs "$DEV_JWT_SECRET")
functions="http://127.0.0.1:$WRANGLER_PORT/functions/v1"
cat <<TXT

  rls-edge is running
    functions   $functions/<name>
    PostgREST   $rest_url/
    Postgres    postgres://postgres@127.0.0.1:$DEV_PG_PORT/postgres
    logs        $DEV_DIR/{gateway,wrangler}.log, $DEV_DIR/postgres/server.log

  demo user alice@example.com, token valid for 24 h:
    export TOKEN=$demo_jwt

  try:
    curl -s $functions/health
    curl -s -X POST $functions/signup -H "Authorization: Bearer \$TOKEN"
    curl -s $rest_url/user_profiles -H "Authorization: Bearer \$TOKEN" -H "apikey: $DEV_ANON_KEY"

  Ctrl-C stops everything.
TXT
wait
