// Puts a soak result (tools/soak/run.mjs) into bench/results.json, under `soak` and there under
// its length ("600 s"), leaving every other key as it is, and renders the soak paragraph and
// table of README's Reliability section (between <!-- soak:start --> and <!-- soak:end -->,
// added with the section when missing) from the longest run on record.
//   node tools/soak/report.mjs <result.json>
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [resultFile] = process.argv.slice(2);
if (!resultFile) throw new Error("usage: node tools/soak/report.mjs <result.json>");
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const resultsFile = path.join(root, "bench/results.json");
const readme = path.join(root, "README.md");

const result = JSON.parse(readFileSync(resultFile, "utf8"));
const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : {};
results.soak = { ...(results.soak ?? {}), [`${result.seconds} s`]: result };
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

const longest = Object.values(results.soak).reduce((top, run) => (run.seconds > top.seconds ? run : top));
const START = "<!-- soak:start -->";
const END = "<!-- soak:end -->";
const shorter = Object.values(results.soak).filter((run) => run !== longest).sort((a, b) => a.seconds - b.seconds);
const block = `${START}\n${[...render(longest), ...shorterRuns(shorter)].join("\n")}\n${END}`;
let text = readFileSync(readme, "utf8");
if (text.includes(START) && text.includes(END)) {
  text = text.slice(0, text.indexOf(START)) + block + text.slice(text.indexOf(END) + END.length);
} else {
  const section = `## Reliability\n\n${block}\n\n`;
  text = text.includes("## Reliability\n")
    ? text.replace("## Reliability\n\n", section)
    : text.includes("\n## Benchmarks\n")
      ? text.replace("\n## Benchmarks\n", `\n${section}## Benchmarks\n`)
      : `${text.trimEnd()}\n\n${section}`;
}
writeFileSync(readme, text);
console.error(`soak: wrote the "${result.seconds} s" run into ${path.relative(root, resultsFile)} and README's soak table (from the ${longest.seconds} s run)`);
summary(result).forEach((line) => console.log(line));

/** A phase's answers in the README's columns; wrangler dev's proxy answers have a column of their own. */
function counts(byStatus) {
  const sum = (test) => Object.entries(byStatus).reduce((total, [status, n]) => total + (test(status) ? n : 0), 0);
  // "503 (health degraded)" is an answer with its status; "... (wrangler dev proxy)" has its own column.
  const code = (status) => (/^\d+( \(health degraded\))?$/.test(status) ? Number.parseInt(status, 10) : null);
  return {
    ok: sum((status) => code(status) >= 200 && code(status) < 300),
    client: sum((status) => code(status) >= 400 && code(status) < 500),
    unavailable: sum((status) => code(status) === 503),
    server: sum((status) => code(status) >= 500 && code(status) !== 503),
    devProxy: sum((status) => status.endsWith("(wrangler dev proxy)")),
    none: sum((status) => code(status) === null && !status.endsWith("(wrangler dev proxy)")),
  };
}

function memory(processes) {
  if (!processes?.length) return "n/a";
  return processes
    .map((process) => `${process.start_mib} → ${process.end_mib} MiB (max ${process.max_mib}, ${process.growth_mib_per_minute_second_half ?? "?"} MiB/min over the second half)`)
    .join(", then after its restart ");
}

/** One line under the table per shorter run on record. */
function shorterRuns(runs) {
  if (runs.length === 0) return [];
  const line = (run) => {
    const w = run.webhooks;
    return (
      `${run.seconds} s (${run.measured_at.slice(0, 10)}): ${run.hold.per_second} req/s held, ramp ${run.ramp.sustained_per_second ?? "none"} req/s sustained; ` +
      `acknowledged ${w.acknowledged} / stored ${w.stored}, duplicate effects ${run.duplicate_effects.total}, outside the shape ${run.error_shape.outside_shape}, ` +
      `Worker 500s ${run.server_errors.worker_500}; isolate ${isolate(run.memory)}, workerd RSS ${run.memory.worker?.[0]?.start_mib} → ${run.memory.worker?.at(-1)?.end_mib} MiB.`
    );
  };
  return ["", `Shorter runs on record: ${runs.map(line).join(" ")}`];
}

function isolate(memory) {
  const heap = memory.worker_isolate_after_gc;
  return heap?.start_mib != null && heap?.end_mib != null ? `${heap.start_mib} → ${heap.end_mib} MiB` : "not measured";
}

function rampSaid(ramp) {
  const limit = `p99 under ${ramp.sustained_p99_ms / 1000} s`;
  if (ramp.sustained_per_second !== null) return `90% of the ${ramp.sustained_per_second} req/s the ramp sustained with ${limit}`;
  const first = ramp.steps[0];
  return `the ramp sustained no rate with ${limit}: its ${first.offered_per_second} req/s step had p99 ${first.p99_ms} ms`;
}

/** 5xx other than 503 from the requests that go to the origin itself (labels auth/v1/..., rest/v1/...). */
function originServerErrors(run) {
  const found = Object.entries(run.requests_by_endpoint)
    .filter(([label]) => /\b(auth|rest)\/v1\//.test(label))
    .flatMap(([label, statuses]) =>
      Object.entries(statuses)
        .filter(([status]) => /^5\d\d$/.test(status) && status !== "503")
        .map(([status, n]) => `${n} × ${status} on ${label}`),
    );
  return found.length ? found.join(", ") : "0";
}

function noAnswer(kinds) {
  const entries = Object.entries(kinds ?? {});
  return entries.length ? entries.map(([kind, n]) => `${n} ${kind}`).join(", ") : "none";
}

function headline(run) {
  const w = run.webhooks;
  const faults = run.faults.map((fault) => `${fault.fault} down ${fault.down_s} s (failures ended ${fault.failing_for_s_after_restore} s after it was back)`);
  return [
    `${run.hold.requests} requests in the ${run.hold.seconds} s hold at ${run.hold.per_second} req/s (${run.hold.target_per_second} req/s of steady traffic offered, ${rampSaid(run.ramp)}; ${run.hold.shed_at_cap} shed at the in-flight cap)`,
    `faults: ${faults.join("; ")}`,
    `webhook events acknowledged ${w.acknowledged} / stored ${w.stored} (acknowledged but not stored: ${w.acknowledged_not_stored}; never acknowledged: ${w.never_acknowledged}) over ${w.deliveries} deliveries, ${w.duplicates_sent_later} duplicates sent later and ${w.sent_twice_at_once} sent twice at once`,
    `duplicate effects ${run.duplicate_effects.total}; rows not as their newest event says: ${run.final_states.subscriptions.wrong + run.final_states.emails.wrong}`,
    `Worker answers outside the one error shape ${run.error_shape.outside_shape} of ${run.error_shape.worker_error_answers} error answers (health's documented 503 \`{"status":"degraded"}\` counted apart: ${run.error_shape.health_degraded}; wrangler dev's own proxy answered ${run.error_shape.dev_server_answers}; no answer at all: ${noAnswer(run.error_shape.no_answer)}); Worker 500s ${run.server_errors.worker_500}`,
    `bursts: ${run.bursts.requests} requests, ${run.bursts.refused} refused with 429 (${run.bursts.refused_without_retry_after} without Retry-After)`,
    `memory: the Worker's isolate after GC ${isolate(run.memory)}; RSS: origin ${memory(run.memory.origin)}; Worker (workerd) ${memory(run.memory.worker)}; wrangler's dev proxy ${memory(run.memory.dev_proxy)}`,
  ];
}

function summary(run) {
  return [`soak (${run.seconds} s):`, ...headline(run).map((line) => `  ${line}`)];
}

function render(run) {
  const w = run.webhooks;
  const d = run.duplicate_effects;
  const shape = run.error_shape;
  const wrongRows = run.final_states.subscriptions.wrong + run.final_states.emails.wrong;
  const crashes = run.crashes.worker_runtime + run.crashes.origin_panics;
  const faults = run.faults.map((fault) => `${fault.fault} (${fault.down_s} s)`).join(", ");
  const ends = (processes) => (processes?.length ? `${processes[0].start_mib} → ${processes.at(-1).end_mib} MiB` : "n/a");
  const noAnswer = Object.values(shape.no_answer ?? {}).reduce((sum, n) => sum + n, 0);
  const paragraph = [
    `**Soak with faults** (\`npm run soak\`; what it sends, breaks and checks: [tools/soak/README.md](tools/soak/README.md)).`,
    `Latest ${run.seconds} s run (${run.measured_at.slice(0, 10)}, ${run.machine.cpus} cores shared with other builds, so the rate is what this busy machine sustained, not a ceiling):`,
    `${run.hold.per_second} req/s held over every endpoint, bursts included (${run.hold.target_per_second} req/s of steady traffic offered, ${rampSaid(run.ramp)})`,
    `while ${faults} failed in turn.`,
    `Webhook events acknowledged ${w.acknowledged}, stored ${w.stored}, acknowledged but lost ${w.acknowledged_not_stored};`,
    `duplicate effects ${d.total} over ${w.deliveries} deliveries (${w.duplicates_sent_later} resent after acknowledgement, ${w.sent_twice_at_once} sent twice at once, half the flows shuffled);`,
    `rows not as their newest event says ${wrongRows}.`,
    `Worker answers outside the one error shape ${shape.outside_shape} of ${shape.worker_error_answers} error answers, Worker 500s ${run.server_errors.worker_500}, crashes ${crashes};`,
    `other 5xx from the origin (Auth, PostgREST) ${originServerErrors(run)};`,
    `wrangler dev's local proxy in front of the Worker, which Cloudflare does not have, answered ${shape.dev_server_answers} requests itself and gave no answer at all to ${noAnswer} (tools/soak/README.md).`,
    `Memory start → end: the Worker's isolate after a forced GC (JS heap and Wasm memory) ${isolate(run.memory)};`,
    `RSS of the origin ${ends(run.memory.origin)}, of the Worker's workerd process ${ends(run.memory.worker)} (wrangler dev's helper Workers and buffers included).`,
    "Per endpoint and phase: [bench/results.json](bench/results.json) under `soak`.",
  ].join(" ");
  const table = [
    "",
    "| phase | from s | s | requests | req/s | 2xx | 4xx | 503 | other 5xx | no answer | wrangler dev proxy | p50 ms | p99 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...run.phases.map((phase) => {
      const c = counts(phase.by_status);
      const perSecond = phase.seconds > 0 ? Math.round((phase.requests / phase.seconds) * 10) / 10 : "";
      return `| ${phase.phase} | ${phase.start_s} | ${phase.seconds} | ${phase.requests} | ${perSecond} | ${c.ok} | ${c.client} | ${c.unavailable} | ${c.server} | ${c.none} | ${c.devProxy} | ${phase.p50_ms ?? ""} | ${phase.p99_ms ?? ""} |`;
    }),
  ];
  return [paragraph, ...table];
}
