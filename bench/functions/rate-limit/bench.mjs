// Benchmark of the rate-limit guard: the latency it adds to a request and the decisions per
// second it sustains, for the Durable Object store and for the Postgres store, measured over
// HTTP against a running stack (wrangler dev + gateway + Postgres).
//
//   FUNCTIONS_URL=http://127.0.0.1:8787/functions/v1 DATABASE_URL=postgres://... \
//     node bench/functions/rate-limit/bench.mjs [requests-per-path] [concurrency]
//
// Three paths answer the same 404 body, so the only difference between them is the guard:
//   baseline  /bench-baseline            outside /functions/v1: the router answers, no guard
//   do        /functions/v1/bench-do     guard with the Durable Object, then "no such function"
//   pg        /functions/v1/bench-pg     guard with the Postgres RPC (needs RATE_LIMIT_STORE
//                                        to contain bench-pg=postgres, as tests/e2e/vars does)
// The limits for bench-do and bench-pg are rows this script writes (and removes) so that no
// request is refused. Added latency = p50(path) - p50(baseline).
import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";

const functionsUrl = process.env.FUNCTIONS_URL ?? "http://127.0.0.1:8787/functions/v1";
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("set DATABASE_URL (the limits are written with psql)");
const workerUrl = functionsUrl.replace(/\/functions\/v1\/?$/, "");
const perPath = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 16);
const cacheSeconds = Number(process.env.RATE_LIMIT_CACHE_SECONDS ?? 60);

const psql = (query) =>
  execFileSync("psql", [databaseUrl, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", query], { encoding: "utf8" });

const paths = {
  baseline: `${workerUrl}/bench-baseline`,
  do: `${functionsUrl}/bench-do`,
  pg: `${functionsUrl}/bench-pg`,
};

async function hit(url) {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status !== 404) throw new Error(`${url} answered ${response.status}, expected the 404 of an unknown path`);
  return { elapsed, policy: response.headers.get("ratelimit-policy") };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function latency(name) {
  const samples = [];
  for (let i = 0; i < perPath; i += 1) samples.push((await hit(paths[name])).elapsed);
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99) };
}

async function throughput(name, seconds = 3) {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await hit(paths[name]);
        done += 1;
      }
    }),
  );
  return done / seconds;
}

psql(`insert into public.system_rate_limits (endpoint, plan, max_requests, window_seconds)
      values ('bench-do', 'default', 100000000, 60), ('bench-pg', 'default', 100000000, 60)
      on conflict (endpoint, plan) do update set max_requests = excluded.max_requests, window_seconds = excluded.window_seconds`);
try {
  await new Promise((resolve) => setTimeout(resolve, cacheSeconds * 1000 + 500));
  for (const name of ["do", "pg"]) {
    const { policy } = await hit(paths[name]);
    if (!policy?.startsWith(`"bench-${name}"`)) throw new Error(`${name}: the guard used policy ${policy}; is the limits row cached yet?`);
  }
  for (const name of Object.keys(paths)) for (let i = 0; i < 50; i += 1) await hit(paths[name]);

  const results = {};
  for (const name of Object.keys(paths)) results[name] = { ...(await latency(name)), per_second: await throughput(name) };
  const fmt = (ms) => ms.toFixed(2).padStart(7);
  console.log(`rate-limit guard, ${perPath} sequential requests per path, throughput at concurrency ${concurrency}`);
  console.log("path       p50 ms  p90 ms  p99 ms  added p50 ms  requests/s");
  for (const [name, r] of Object.entries(results)) {
    const added = name === "baseline" ? "      -" : fmt(r.p50 - results.baseline.p50);
    console.log(`${name.padEnd(9)}${fmt(r.p50)} ${fmt(r.p90)} ${fmt(r.p99)}       ${added}  ${r.per_second.toFixed(0).padStart(10)}`);
  }
} finally {
  psql("delete from public.system_rate_limits where endpoint in ('bench-do', 'bench-pg')");
}
