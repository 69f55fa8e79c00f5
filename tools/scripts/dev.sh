#!/usr/bin/env bash
# `npm run dev`: the whole product on loopback, the way `supabase start` lays it out:
# Postgres on 127.0.0.1:54322 (rows kept across restarts; new migrations applied on start), one
# origin at http://127.0.0.1:54321 serving /rest/v1 (the gateway), /auth/v1 and /functions/v1
# (the bundle, running in `wrangler dev` on :8787). Prints the URLs and keys like
# `supabase status`. Ctrl-C stops everything it started.
#
# Ports: DEV_PG_PORT (54322), ORIGIN_PORT (54321), WRANGLER_PORT (8787). Keys: STACK_KEYS=signing
# (default: ES256 signing keys, publishable/secret API keys) or legacy (the HS256 JWT secret and
# the legacy anon/service_role keys). State (database, keys, logs) lives in .local/dev
# (RLS_EDGE_DEV_DIR); `npm run db:reset` rebuilds the database.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/stack.sh"
cd "$RLS_EDGE_ROOT"

DEV_PG_PORT=${DEV_PG_PORT:-54322}
ORIGIN_PORT=${ORIGIN_PORT:-54321}
WRANGLER_PORT=${WRANGLER_PORT:-8787}
STACK_KEYS=${STACK_KEYS:-signing}
DEV_DIR=${RLS_EDGE_DEV_DIR:-$RLS_EDGE_LOCAL/dev}

trap stack_stop EXIT
trap 'exit 130' INT TERM
mkdir -p "$DEV_DIR"
bash tools/scripts/setup.sh

require_free_port "$DEV_PG_PORT" DEV_PG_PORT
stack_start_postgres "$DEV_DIR/postgres" "$DEV_PG_PORT" postgres
stack_keys "$DEV_DIR"
stack_build_origin
stack_start_origin "$DEV_PG_PORT" postgres "$ORIGIN_PORT" "$WRANGLER_PORT" "$STACK_KEYS" "$DEV_DIR/origin.log"

api="http://127.0.0.1:$ORIGIN_PORT"
database_url="postgres://postgres@127.0.0.1:$DEV_PG_PORT/postgres"
if [ ! -f .dev.vars ]; then
  log "writing .dev.vars from .dev.vars.example"
  cp .dev.vars.example .dev.vars
fi
# The stack's own addresses and keys change with the ports and the key mode, so these lines are
# refreshed on every start (everything else in .dev.vars is left alone).
mapfile -t worker_vars < <(stack_worker_vars "$api" "$STACK_KEYS")
stack_lines=(POSTGREST_URL SUPABASE_PUBLISHABLE_KEY SUPABASE_ANON_KEY SUPABASE_SECRET_KEY SUPABASE_JWT_SECRET JWKS_URL JWT_SIGNING_KEY DATABASE_URL)
for name in "${stack_lines[@]}"; do sed -i "/^$name=/d" .dev.vars; done
for var in "${worker_vars[@]}"; do [ "$var" = --var ] || printf '%s\n' "${var/:/=}" >>.dev.vars; done
printf 'DATABASE_URL=%s\n' "$database_url" >>.dev.vars

RLS_EDGE_SKIP_SETUP=1 bash tools/scripts/build.sh
stack_start_wrangler "$WRANGLER_PORT" "$DEV_DIR/wrangler.log"

if [ "$STACK_KEYS" = signing ]; then
  apikey=$STACK_PUBLISHABLE_KEY
  demo_jwt=$(AUTH_URL="$api/auth/v1" node tools/scripts/demo-jwt.mjs "$STACK_SIGNING_KEYS")
  keys="  Publishable key  $STACK_PUBLISHABLE_KEY
       Secret key  $STACK_SECRET_KEY
     Signing keys  $STACK_SIGNING_KEYS (key 0 signs user tokens, key 1 is the Worker's JWT_SIGNING_KEY)"
else
  apikey=$DEV_ANON_KEY
  demo_jwt=$(node tools/scripts/demo-jwt.mjs "$DEV_JWT_SECRET")
  keys="       JWT secret  $DEV_JWT_SECRET
         anon key  $DEV_ANON_KEY
 service_role key  $DEV_SERVICE_ROLE_KEY"
fi
cat <<TXT

  rls-edge is running ($STACK_KEYS keys)

          API URL  $api
         REST URL  $api/rest/v1
         Auth URL  $api/auth/v1
    Functions URL  $api/functions/v1
         JWKS URL  $api/auth/v1/.well-known/jwks.json
           DB URL  $database_url
$keys
     wrangler dev  http://127.0.0.1:$WRANGLER_PORT (the Worker directly)
             logs  $DEV_DIR/{origin,wrangler}.log, $DEV_DIR/postgres/server.log

  Auth mailbox  $DEV_DIR/auth-mailbox.jsonl (or GET $api/auth/v1/mailbox)

  supabase-js: createClient('$api', '$apikey'), then auth.signUp(), functions.invoke(), from()
  (README.md, "Start here"). Demo user alice@example.com (password alice-demo-password); her token,
  valid for 24 h:
    export TOKEN=$demo_jwt

  try:
    curl -s $api/functions/v1/health
    curl -s -X POST $api/functions/v1/signup -H "Authorization: Bearer \$TOKEN"
    curl -s $api/rest/v1/user_profiles -H "apikey: $apikey" -H "Authorization: Bearer \$TOKEN"

  Ctrl-C stops everything; the database keeps its rows (npm run db:reset rebuilds it).
TXT
wait
