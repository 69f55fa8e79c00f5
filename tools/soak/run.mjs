// The soak's traffic driver. tools/scripts/soak.sh starts the stack, then this, and injects the
// faults at the times this writes into the timeline. It:
//   1. prepares a few users (and the burst users on their tight plan);
//   2. ramps: steps of rising rate, open-loop like the hold, until a step is not sustained (over
//      1% failures, requests shed, or p99 over SUSTAINED_P99_MS); the last sustained rate is the
//      highest the stack sustains;
//   3. holds 90% of it open-loop (requests start on schedule whatever the stack does, so a
//      stalled stack shows as latency and failures, not as fewer requests; at most four seconds
//      of arrivals are in flight, the rest are counted as shed), with a rate-limited burst every
//      few seconds; the faults happen during the hold;
//   4. drains: only webhook retries, until every delivery is acknowledged (or DRAIN_SECONDS);
//   5. checks Postgres (checks.mjs) and writes the result file.
// The timeline (JSON lines, shared with soak.sh): {"event":"ramp"|"hold"|"drain"|"done"} from
// here, {"event":"processes"} (pids to watch) and {"event":"fault","step":"start"|"restored"}
// from soak.sh.
//
//   node tools/soak/run.mjs <seconds> <timeline-file> <result-file>
// Environment (soak.sh sets it): ORIGIN_URL, WORKER_URL, PUBLISHABLE_KEY, SECRET_KEY,
// STACK_KEYS, SIGNING_KEYS_FILE (the role tokens of tests/e2e/keys.mjs), DATABASE_URL, and
// WORKER_INSPECTOR_URL (the Worker's isolate, for isolate.mjs; without it that figure is null).
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { checkDuplicateEffects, checkFinalStates, checkWebhooks } from "./checks.mjs";
import { isolateHeapBytes } from "./isolate.mjs";
import { startFakeProvider } from "./provider.mjs";
import { Recorder } from "./recorder.mjs";
import { byEndpoint, byStatus, phaseReport, phases, recovery, round, summarise } from "./stats.mjs";
import { Traffic } from "./traffic.mjs";
import { WebhookSender } from "./webhooks.mjs";

const RAMP_FIRST_RATE = 10;
const RAMP_FACTOR = 1.5;
const RAMP_STEPS = 8;
/** The ramp steps down from RAMP_FIRST_RATE when that is not sustained, but not below this. */
const RAMP_FLOOR = 2;
const SUSTAINED_P99_MS = 1_000;
const HELD_SHARE = 0.9;
const BURST_EVERY_MS = 5_000;
const DRAIN_SECONDS = 90;
const MEMORY_EVERY_MS = 2_000;
/** The faults, in order, as soak.sh knows them. */
const FAULTS = ["postgres", "origin", "durable-object-store"];

const [secondsArgument, timelineFile, resultFile] = process.argv.slice(2);
const seconds = Number(secondsArgument);
if (!Number.isInteger(seconds) || seconds < 30 || !timelineFile || !resultFile) {
  throw new Error("usage: node tools/soak/run.mjs <seconds, at least 30> <timeline-file> <result-file>");
}

const required = (name) => process.env[name] ?? (() => { throw new Error(`${name} is not set; run the soak with npm run soak`); })();
const testVars = Object.fromEntries(
  ["api-keys", "cleanup", "rate-limit", "webhooks"].flatMap((file) =>
    readFileSync(new URL(`../../tests/e2e/vars/${file}.env`, import.meta.url), "utf8")
      .split("\n")
      .filter((line) => line && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  ),
);
const env = {
  originUrl: required("ORIGIN_URL"),
  functionsUrl: `${required("WORKER_URL")}/functions/v1`,
  publishableKey: required("PUBLISHABLE_KEY"),
  secretKey: required("SECRET_KEY"),
  checkSecret: testVars.RATE_LIMIT_CHECK_SECRET,
  cleanupSecret: testVars.CLEANUP_SECRET,
};
const providerPort = Number(new URL(/openai=([^,]+)/.exec(testVars.API_KEYS_PROVIDER_URLS)[1]).port);

const timeline = {
  write(event, fields = {}) {
    appendFileSync(timelineFile, `${JSON.stringify({ event, at: Date.now(), ...fields })}\n`);
  },
  read() {
    return readFileSync(timelineFile, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
  },
};

// ---- memory ---------------------------------------------------------------------------------

function residentKib(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
  } catch {
    return null;
  }
}

/** RSS of the processes soak.sh names in the timeline, every MEMORY_EVERY_MS. */
function watchMemory() {
  const samples = [];
  const timer = setInterval(() => {
    const processes = timeline.read().filter((entry) => entry.event === "processes").at(-1);
    if (!processes) return;
    const sample = { t: Date.now() };
    for (const role of ["origin", "worker", "dev_proxy"]) sample[role] = { pid: processes[role], kib: residentKib(processes[role]) };
    samples.push(sample);
  }, MEMORY_EVERY_MS);
  return { samples, stop: () => clearInterval(timer) };
}

/**
 * Per role and process: RSS at its first and last sample, the most it reached, and how fast it
 * still grew over the second half of its samples (least squares, MiB per minute).
 */
function memoryReport(samples) {
  const report = {};
  for (const role of ["origin", "worker", "dev_proxy"]) {
    const processes = [];
    for (const sample of samples) {
      const { pid, kib } = sample[role];
      if (kib === null) continue;
      if (processes.at(-1)?.pid !== pid) processes.push({ pid, points: [] });
      processes.at(-1).points.push([sample.t, mib(kib)]);
    }
    report[role] = processes.map(({ pid, points }) => ({
      pid,
      start_mib: points[0][1],
      end_mib: points.at(-1)[1],
      max_mib: Math.max(...points.map(([, value]) => value)),
      samples: points.length,
      growth_mib_per_minute_second_half: slopePerMinute(points.slice(Math.floor(points.length / 2))),
    }));
  }
  return report;
}

function slopePerMinute(points) {
  if (points.length < 2) return null;
  const meanT = points.reduce((sum, [t]) => sum + t, 0) / points.length;
  const meanV = points.reduce((sum, [, v]) => sum + v, 0) / points.length;
  const covariance = points.reduce((sum, [t, v]) => sum + (t - meanT) * (v - meanV), 0);
  const variance = points.reduce((sum, [t]) => sum + (t - meanT) ** 2, 0);
  return variance === 0 ? null : round((covariance / variance) * 60_000, 2);
}

const mib = (kib) => round(kib / 1024);

// ---- the phases of traffic ------------------------------------------------------------------

/**
 * Open-loop steps of rising rate (the way the hold runs); a step is sustained when every request
 * it started finished with at most 1% failures, none was shed, and p99 stayed under
 * SUSTAINED_P99_MS. A step that is not sustained is run once more before it counts as the limit
 * (on a shared machine one step can miss the bar by noise); when even the first rate is the
 * limit, the ramp steps down instead. At most RAMP_STEPS steps.
 */
async function ramp(traffic, recorder, budgetMs) {
  const stepMs = Math.max(3_000, budgetMs / RAMP_STEPS);
  const steps = [];
  let rate = RAMP_FIRST_RATE;
  let sustained = null;
  let limit = null;
  let missedOnce = false;
  while (steps.length < RAMP_STEPS) {
    const from = Date.now();
    const { shed } = await hold(traffic, rate, capFor(rate), from + stepMs, { bursts: false });
    const started = recorder.samples.filter((sample) => sample.t >= from && sample.t < from + stepMs);
    const step = { offered_per_second: rate, shed, ...summarise(started, stepMs / 1000) };
    step.sustained = step.failure_share <= 0.01 && shed === 0 && step.p99_ms <= SUSTAINED_P99_MS;
    steps.push(step);
    console.error(`soak: ramp ${rate} req/s: ${step.per_second} req/s done, p50 ${step.p50_ms} ms, p99 ${step.p99_ms} ms, failures ${step.failure_share}, shed ${shed}`);
    if (step.sustained) {
      sustained = Math.max(sustained ?? 0, rate);
      missedOnce = false;
    } else if (!missedOnce) {
      missedOnce = true;
      continue;
    } else {
      limit = rate;
      missedOnce = false;
      if (sustained !== null) break;
    }
    const next = sustained === null ? round(rate / RAMP_FACTOR) : round(rate * RAMP_FACTOR);
    if ((limit !== null && next >= limit) || next < RAMP_FLOOR) break;
    rate = next;
  }
  return { steps, sustained_per_second: sustained };
}

/** In flight at most: four seconds of arrivals (and never fewer than 32). */
const capFor = (rate) => Math.max(32, Math.ceil(rate * 4));

/** Requests started on schedule at `rate` per second until `until`, at most `cap` in flight. */
async function hold(traffic, rate, cap, until, { bursts = true } = {}) {
  const start = Date.now();
  const running = new Set();
  const track = (promise) => {
    const tracked = guarded(promise).finally(() => running.delete(tracked));
    running.add(tracked);
  };
  let issued = 0;
  let shed = 0;
  let nextBurst = start + BURST_EVERY_MS;
  while (Date.now() < until) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    for (; issued < due; issued += 1) {
      if (running.size >= cap) shed += 1;
      else track(traffic.next());
    }
    if (bursts && Date.now() >= nextBurst) {
      nextBurst += BURST_EVERY_MS;
      track(traffic.burst());
    }
    await sleep(5);
  }
  await Promise.all(running);
  return { issued, shed };
}

/** Only webhook retries and duplicates, until nothing is waiting. */
async function drain(webhooks, cap) {
  const deadline = Date.now() + DRAIN_SECONDS * 1000;
  const running = new Set();
  while (webhooks.pending.length > 0 && Date.now() < deadline) {
    for (const provider of ["stripe", "resend"]) {
      let delivery;
      while (running.size < cap && (delivery = webhooks.due(provider))) {
        const tracked = guarded(webhooks.deliver(delivery)).finally(() => running.delete(tracked));
        running.add(tracked);
      }
    }
    await sleep(50);
  }
  await Promise.all(running);
}

/** A mistake in the driver itself is counted and shown, never taken for an answer of the stack. */
const driverErrors = [];
function guarded(promise) {
  return promise.catch((error) => {
    if (driverErrors.length < 10) console.error(`soak: driver error: ${error?.stack ?? error}`);
    driverErrors.push(String(error?.message ?? error));
  });
}

/** When each fault starts and how long its component stays down, spread over the hold. */
function faultSchedule(holdStart, holdEnd) {
  const length = holdEnd - holdStart;
  const segment = (length * 0.8) / FAULTS.length;
  const downMs = Math.round(Math.min(20_000, Math.max(2_000, segment * 0.2)));
  return FAULTS.map((fault, index) => ({ fault, at: Math.round(holdStart + length * 0.2 + index * segment), down_ms: downMs }));
}

// ---- the run --------------------------------------------------------------------------------

const provider = await startFakeProvider(providerPort);
const recorder = new Recorder();
const webhooks = new WebhookSender({
  send: (...args) => recorder.send(...args),
  functionsUrl: env.functionsUrl,
  stripeSecret: testVars.STRIPE_WEBHOOK_SECRETS.split(",")[0],
  resendSecret: testVars.RESEND_WEBHOOK_SECRETS.split(",")[0],
  ip: "192.0.2.10",
});
const traffic = new Traffic({ recorder, env, webhooks });

console.error("soak: preparing users");
await traffic.prepareBurstUsers();
for (let index = 0; index < 8; index += 1) {
  await traffic.signUp();
  await traffic.createProfile();
}
if (traffic.withProfile().length === 0) throw new Error("no user could sign up and create a profile; is the stack up?");

/** A request that wakes the Worker's isolate for the inspector (not counted among the soak's requests). */
const wakeWorker = () => fetch(`${env.functionsUrl}/health`).then((response) => response.arrayBuffer());
/**
 * The isolate's size, tried three times: workerd's inspector may drop one of two sessions (ours
 * and wrangler's own) when wrangler reconnects its own.
 */
async function measureIsolate() {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const bytes = await isolateHeapBytes(process.env.WORKER_INSPECTOR_URL, wakeWorker);
    if (bytes !== null || !process.env.WORKER_INSPECTOR_URL) return bytes;
    await sleep(1_000);
  }
  return null;
}
const isolateAtStart = await measureIsolate();
const memory = watchMemory();
const runStart = Date.now();
const runEnd = runStart + seconds * 1000;
timeline.write("ramp");
const ramped = await ramp(traffic, recorder, Math.min(60, Math.max(15, seconds * 0.12)) * 1000);
// Nothing sustained, not even RAMP_FLOOR: hold that floor, and the report says so.
const rate = round((ramped.sustained_per_second ?? RAMP_FLOOR) * HELD_SHARE);
const cap = capFor(rate);
const holdStart = Date.now();
const schedule = faultSchedule(holdStart, runEnd);
timeline.write("hold", { rate, in_flight_cap: cap, until: runEnd, faults: schedule });
console.error(`soak: holding ${rate} req/s (at most ${cap} in flight) for ${round((runEnd - holdStart) / 1000)} s; faults at ${schedule.map((fault) => `${round((fault.at - holdStart) / 1000)} s ${fault.fault}`).join(", ")}`);
const held = await hold(traffic, rate, cap, runEnd);
timeline.write("drain");
console.error(`soak: draining ${webhooks.pending.length} webhook deliveries`);
await drain(webhooks, cap);
timeline.write("done");
memory.stop();
const isolateAtEnd = await measureIsolate();
provider.close();

// ---- the report -----------------------------------------------------------------------------

/** Crashes the processes' own logs (beside the result file) show: workerd's fatal signals, panics in the origin. */
function crashes() {
  const directory = path.dirname(resultFile);
  const lines = (name, pattern) => readFileSync(path.join(directory, name), "utf8").split("\n").filter((line) => pattern.test(line));
  const worker = lines("wrangler.log", /Received signal #\d+/);
  const origin = readdirSync(directory).filter((name) => /^origin.*\.log$/.test(name)).flatMap((name) => lines(name, /panicked at/));
  return { worker_runtime: worker.length, origin_panics: origin.length, samples: [...worker, ...origin].slice(0, 5) };
}

const events = timeline.read();
const phaseList = phases(events);
const holdSamples = recorder.samples.filter((sample) => sample.t >= holdStart);
const workerAnswers = recorder.samples.filter((sample) => sample.worker && typeof sample.status === "number");
const faultSteps = events.filter((entry) => entry.event === "fault");
const result = {
  measured_at: new Date(runStart).toISOString(),
  seconds,
  machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gib: round(os.totalmem() / 2 ** 30), node: process.version },
  ramp: { steps: ramped.steps, sustained_p99_ms: SUSTAINED_P99_MS, sustained_per_second: ramped.sustained_per_second },
  hold: {
    seconds: round((runEnd - holdStart) / 1000),
    target_per_second: rate,
    in_flight_cap: cap,
    scheduled: held.issued,
    shed_at_cap: held.shed,
    ...summarise(holdSamples.filter((sample) => sample.t < runEnd), (runEnd - holdStart) / 1000),
  },
  requests_by_status: byStatus(recorder.samples),
  requests_by_endpoint: byEndpoint(recorder.samples),
  phases: phaseList.map((phase) => phaseReport(recorder.samples, phase)),
  faults: recovery(recorder.samples, phaseList).map((fault) => ({
    ...fault,
    how: faultSteps.find((entry) => entry.fault === fault.fault && entry.step === "start")?.how ?? null,
  })),
  webhooks: checkWebhooks(webhooks),
  duplicate_effects: checkDuplicateEffects(),
  final_states: checkFinalStates(webhooks),
  error_shape: {
    worker_error_answers: workerAnswers.filter((sample) => sample.status >= 400 && sample.shape !== "dev-server").length,
    outside_shape: workerAnswers.filter((sample) => sample.shape === "outside").length,
    health_degraded: workerAnswers.filter((sample) => sample.shape === "health-degraded").length,
    dev_server_answers: workerAnswers.filter((sample) => sample.shape === "dev-server").length,
    no_answer: byStatus(recorder.samples.filter((sample) => sample.worker && typeof sample.status !== "number")),
    samples: recorder.outside,
  },
  server_errors: {
    worker_500: workerAnswers.filter((sample) => sample.status === 500).length,
    worker_5xx_other_than_503: workerAnswers.filter((sample) => sample.status >= 500 && sample.status !== 503).length,
    samples: recorder.serverErrors,
  },
  bursts: traffic.bursts,
  users: { signed_up: traffic.users.length, with_profile: traffic.withProfile().length },
  memory: {
    ...memoryReport(memory.samples),
    worker_isolate_after_gc: { start_mib: isolateAtStart && round(isolateAtStart / 2 ** 20, 2), end_mib: isolateAtEnd && round(isolateAtEnd / 2 ** 20, 2) },
  },
  crashes: crashes(),
  driver_errors: driverErrors.length,
};
writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(path.join(path.dirname(resultFile), "samples.jsonl"), recorder.samples.map((sample) => JSON.stringify(sample)).join("\n"));
writeFileSync(path.join(path.dirname(resultFile), "memory.jsonl"), memory.samples.map((sample) => JSON.stringify(sample)).join("\n"));
console.error(`soak: wrote ${resultFile}`);
