// End-to-end time to score a batch of leads through the local stack (Worker in wrangler dev ->
// gateway -> Postgres): creates a workspace with N leads (a realistic mix of tags, contact
// details and notes), then times POST /functions/v1/lead-scoring/batch by id list and by
// stale_before. Needs the environment `npm test -- e2e` sets (see tests/e2e/lib.mjs), e.g.
//   WORKER_URL=... FUNCTIONS_URL=... DATABASE_URL=... JWT_SECRET=... ANON_KEY=... POSTGREST_URL=... \
//   node bench/functions/lead-scoring/e2e-batch.mjs [leads] [rounds]
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { call, newUser, rows, sql } from "../../../tests/e2e/lib.mjs";
import { liftRateLimit } from "../../../tests/e2e/lift-limit.mjs";

const leadCount = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 5);

const owner = await newUser();
sql(`insert into public.user_profiles (id, email) values ('${owner.id}', '${owner.email}')`);
const workspaceId = randomUUID();
sql(`insert into public.workspaces (id, name, owner_id) values ('${workspaceId}', 'Batch bench', '${owner.id}')`);
const restoreRateLimit = await liftRateLimit("lead-scoring");
sql(`insert into public.crm_leads (workspace_id, user_id, name, phone, email, source, status, tags, opt_status, last_contacted_at, created_at)
     select '${workspaceId}', '${owner.id}', 'Owner ' || n,
            case when n % 10 = 0 then null else '(512) 555-' || lpad((n % 10000)::text, 4, '0') end,
            case when n % 3 = 0 then 'owner' || n || '@example.com' end,
            (array['Direct Mail','referral','website','purchased list','skip trace'])[1 + n % 5],
            (array['new','active','qualified','unqualified','closed']::public.lead_status[])[1 + n % 5],
            case n % 5 when 0 then array['probate', 'vacant'] when 1 then array['tax delinquent']
                       when 2 then array['pre-foreclosure', 'high equity'] when 3 then array['divorce', 'warm']
                       else array['tired landlord', 'code violations'] end,
            (array['opted_in','pending','opted_in','pending','opted_out']::public.opt_status[])[1 + n % 5],
            case when n % 4 = 0 then null else now() - (n % 120) * interval '1 day' end,
            now() - (n % 365) * interval '1 day'
     from generate_series(1, ${leadCount}) as n`);
sql(`insert into public.crm_lead_notes (lead_id, user_id, body)
     select id, '${owner.id}', 'called' from public.crm_leads, generate_series(1, 2)
     where workspace_id = '${workspaceId}' and right(id::text, 1) in ('0','1','2','3')`);
const ids = rows(`select id from public.crm_leads where workspace_id = '${workspaceId}'`).map((row) => row.id);

async function timed(json) {
  const started = performance.now();
  const response = await call("POST", "/lead-scoring/batch", { token: owner.token, json });
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`batch answered ${response.status}: ${JSON.stringify(response.body)}`);
  return { elapsed, scored: response.body.scored };
}

function summary(label, samples) {
  const sorted = samples.map((sample) => sample.elapsed).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`${label}: ${samples[0].scored} leads, median ${median.toFixed(0)} ms, best ${sorted[0].toFixed(0)} ms ` +
    `(${Math.round((samples[0].scored / median) * 1000)} leads/s end to end)`);
}

await timed({ lead_ids: ids.slice(0, 10) }); // warm-up: isolate start, rule and config caches
const byIds = [];
for (let round = 0; round < rounds; round += 1) byIds.push(await timed({ lead_ids: ids }));
const byStaleness = [];
for (let round = 0; round < rounds; round += 1) {
  byStaleness.push(await timed({ stale_before: new Date(Date.now() + 1000).toISOString(), limit: leadCount }));
}
summary("POST /batch {lead_ids}", byIds);
summary("POST /batch {stale_before}", byStaleness);
sql(`delete from public.workspaces where id = '${workspaceId}'`);
restoreRateLimit();
