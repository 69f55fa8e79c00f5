// Runs the end-to-end cases prepare.mjs wrote with wrk: each case through the Worker (wrangler
// dev) and, where the function calls PostgREST, the same calls straight to the gateway, and, where
// it has the path, the JavaScript peer (bench/peer), at each connection count, a few seconds
// each, one after the other in the same run. Prints one JSON document.
//   WORKER_URL=... GATEWAY_URL=... PEER_URL=... node run.mjs <plan-dir>
// BENCH_SECONDS (default 3) and BENCH_CONNECTIONS (default "1 8") shape the runs. Against the
// peer, the Worker and the peer take turns, BENCH_PEER_ROUNDS (default 3) rounds each, in
// alternating order, so a machine that speeds up or slows down during the run (this one is a
// shared VM) weighs on both sides alike; each side's figures are the rounds' together.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const planDir = process.argv[2];
if (!planDir) throw new Error("usage: node run.mjs <plan-dir>");
const workerUrl = process.env.WORKER_URL;
const gatewayUrl = process.env.GATEWAY_URL;
const peerUrl = process.env.PEER_URL;
if (!workerUrl || !gatewayUrl || !peerUrl) throw new Error("set WORKER_URL, GATEWAY_URL and PEER_URL");
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const connectionCounts = (process.env.BENCH_CONNECTIONS ?? "1 8").split(/\s+/).filter(Boolean).map(Number);
const replayScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "replay.lua");

/** Requests already sent per plan, so distinct deliveries are not sent again by a later run. */
const sent = new Map();

function wrk(url, plan, connections) {
  const threads = Math.min(2, connections);
  const output = execFileSync(
    "wrk",
    ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", replayScript, url],
    {
      encoding: "utf8",
      env: { ...process.env, BENCH_PLAN: plan, BENCH_THREADS: String(threads), BENCH_GROUP_OFFSET: String(sent.get(plan) ?? 0) },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const line = output.split("\n").find((text) => text.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${output}`);
  const summary = JSON.parse(line.slice("BENCH_JSON ".length));
  sent.set(plan, (sent.get(plan) ?? 0) + summary.requests + connections);
  const ms = (us) => Math.round(us) / 1000;
  return {
    requests: summary.requests,
    duration_s: summary.duration_us / 1e6,
    rps: Math.round((summary.requests / (summary.duration_us / 1e6)) * 10) / 10,
    p50_ms: ms(summary.p50_us),
    p90_ms: ms(summary.p90_us),
    p99_ms: ms(summary.p99_us),
    max_ms: ms(summary.max_us),
    statuses: summary.statuses,
    socket_errors: summary.socket_errors,
  };
}

const peerRounds = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The rounds of one side as one measurement: rates over the whole time, the rounds' median percentiles. */
function together(rounds) {
  const sum = (pick) => rounds.reduce((total, round) => total + pick(round), 0);
  const requests = sum((round) => round.requests);
  const duration = sum((round) => round.duration_s);
  const statuses = {};
  const socketErrors = {};
  for (const round of rounds) {
    for (const [status, count] of Object.entries(round.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
    for (const [kind, count] of Object.entries(round.socket_errors ?? {})) socketErrors[kind] = (socketErrors[kind] ?? 0) + count;
  }
  return {
    requests,
    duration_s: Math.round(duration * 1000) / 1000,
    rps: Math.round((requests / duration) * 10) / 10,
    p50_ms: median(rounds.map((round) => round.p50_ms)),
    p90_ms: median(rounds.map((round) => round.p90_ms)),
    p99_ms: median(rounds.map((round) => round.p99_ms)),
    max_ms: Math.max(...rounds.map((round) => round.max_ms)),
    statuses,
    socket_errors: socketErrors,
    rounds: rounds.length,
  };
}

/** The Worker and the peer in turns: edge, peer, then peer, edge, ... */
function alternate(edgePlan, peerPlan, connections) {
  const edge = [];
  const peer = [];
  for (let turn = 0; turn < peerRounds; turn += 1) {
    if (turn % 2 === 0) {
      edge.push(wrk(workerUrl, edgePlan, connections));
      peer.push(wrk(peerUrl, peerPlan, connections));
    } else {
      peer.push(wrk(peerUrl, peerPlan, connections));
      edge.push(wrk(workerUrl, edgePlan, connections));
    }
  }
  return {
    edge: together(edge),
    peer: together(peer),
    round_ratios: edge.map((run, index) => round(run.rps / peer[index].rps)),
  };
}

const share = (statuses, accept) => {
  const total = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  const good = Object.entries(statuses).filter(([status]) => accept(Number(status))).reduce((sum, [, count]) => sum + count, 0);
  return total === 0 ? 0 : Math.round((good / total) * 10000) / 10000;
};
const round = (value, places = 3) => Math.round(value * 10 ** places) / 10 ** places;

function wrkVersion() {
  const answer = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  return `${answer.stdout}${answer.stderr}`.split("\n")[0].replace(/Copyright.*/, "").trim();
}

const cases = JSON.parse(readFileSync(path.join(planDir, "cases.json"), "utf8"));
const results = [];
for (const benchCase of cases) {
  const runs = [];
  for (const connections of connectionCounts) {
    const paired = benchCase.peer_plan ? alternate(benchCase.edge_plan, benchCase.peer_plan, connections) : null;
    const edge = paired ? paired.edge : wrk(workerUrl, benchCase.edge_plan, connections);
    edge.expected_share = share(edge.statuses, (status) => status === benchCase.expect);
    const run = { connections, edge };
    let line = `${benchCase.id.padEnd(18)} c=${String(connections).padEnd(3)} edge ${String(edge.rps).padStart(8)} req/s p50 ${edge.p50_ms} ms p99 ${edge.p99_ms} ms`;
    if (benchCase.direct_plan) {
      const calls = benchCase.postgrest_calls.length;
      const direct = wrk(gatewayUrl, benchCase.direct_plan, connections);
      // Expected: the statuses the gateway gave the Worker for these calls while recording.
      const recorded = new Set(benchCase.postgrest_statuses);
      direct.expected_share = share(direct.statuses, (status) => recorded.has(status));
      direct.calls_per_request = calls;
      direct.sequences_per_s = round(direct.rps / calls, 1);
      run.direct = direct;
      // With more than one call per request, wrk times each call: the sequence's latency is
      // given as the sum of the calls' percentiles, an upper bound for p50.
      run.overhead = {
        rps_ratio_edge_over_direct: round(edge.rps / direct.sequences_per_s),
        p50_ratio_edge_over_direct: round(edge.p50_ms / (direct.p50_ms * calls)),
        p50_added_ms: round(edge.p50_ms - direct.p50_ms * calls),
      };
      line += ` | direct ${direct.sequences_per_s} seq/s (${calls} call${calls > 1 ? "s" : ""}) p50 ${direct.p50_ms} ms/call`;
    }
    if (paired) {
      const peer = paired.peer;
      peer.expected_share = share(peer.statuses, (status) => status === benchCase.expect);
      run.peer = peer;
      run.against_peer = {
        rps_ratio_edge_over_peer: round(edge.rps / peer.rps),
        p50_added_ms: round(edge.p50_ms - peer.p50_ms),
        round_ratios: paired.round_ratios,
      };
      line += ` | JS peer ${peer.rps} req/s p50 ${peer.p50_ms} ms (edge/peer ${run.against_peer.rps_ratio_edge_over_peer}x; rounds ${paired.round_ratios.join(", ")})`;
    }
    if (benchCase.peer_logged_plan) {
      run.peer_logged = wrk(peerUrl, benchCase.peer_logged_plan, connections);
      line += ` | JS peer + log line p50 ${run.peer_logged.p50_ms} ms`;
    }
    console.error(line);
    runs.push(run);
  }
  results.push({
    id: benchCase.id,
    label: benchCase.label,
    expected_status: benchCase.expect,
    postgrest_calls: benchCase.postgrest_calls,
    postgrest_statuses: benchCase.postgrest_statuses,
    runs,
  });
}
console.log(JSON.stringify({ seconds_per_run: seconds, tool: wrkVersion(), cases: results }));
