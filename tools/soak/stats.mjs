// From the samples of every request and the timeline of the run (when the hold began, when each
// fault started and when its component was back) to the figures of the report: requests by
// status, p50/p99 per endpoint per phase, and how long failures lasted after each restore.

/**
 * A failure: a 5xx or no answer at all. 4xx answers (429 included) are answers, and so is
 * health's documented 503 `{"status":"degraded"}` (it reports the fault, as it should).
 * wrangler dev's own proxy answers are counted apart (statusOf) and are not failures of the
 * stack under test.
 */
export const failed = (sample) =>
  sample.shape !== "dev-server" && sample.shape !== "health-degraded" && (typeof sample.status !== "number" || sample.status >= 500);

/** The status as reported: wrangler dev's proxy answers and health's degraded report are told apart. */
export const statusOf = (sample) =>
  sample.shape === "dev-server" ? `${sample.status} (wrangler dev proxy)` : sample.shape === "health-degraded" ? `${sample.status} (health degraded)` : String(sample.status);

export function percentile(sorted, fraction) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return round(sorted[rank]);
}

export const round = (value, places = 1) => Math.round(value * 10 ** places) / 10 ** places;

function countBy(samples, key) {
  const counts = {};
  for (const sample of samples) counts[key(sample)] = (counts[key(sample)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** Requests, rate, failure share and latency of a set of samples spread over `seconds`. */
export function summarise(samples, seconds) {
  const latencies = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  return {
    requests: samples.length,
    per_second: seconds > 0 ? round(samples.length / seconds) : null,
    failure_share: samples.length ? round(samples.filter(failed).length / samples.length, 4) : 0,
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
  };
}

/**
 * The phases of the hold: before the first fault, then for each fault "during" (from the fault
 * until its component is back) and "after" (until the next fault, or the end of the hold), then
 * the drain (only webhook retries, until every delivery is acknowledged).
 */
export function phases(timeline) {
  const at = (event, extra = () => true) => timeline.find((entry) => entry.event === event && extra(entry))?.at;
  const holdStart = at("hold");
  const holdEnd = at("drain");
  const faults = timeline.filter((entry) => entry.event === "fault" && entry.step === "start");
  const list = [{ name: "before faults", from: holdStart, to: faults[0]?.at ?? holdEnd }];
  faults.forEach((fault, index) => {
    const restored = at("fault", (entry) => entry.fault === fault.fault && entry.step === "restored") ?? holdEnd;
    list.push({ name: `${fault.fault}: during`, fault: fault.fault, from: fault.at, to: restored });
    list.push({ name: `${fault.fault}: after`, fault: fault.fault, from: restored, to: faults[index + 1]?.at ?? holdEnd });
  });
  list.push({ name: "drain (webhook retries)", from: holdEnd, to: at("done") ?? holdEnd });
  return list.map((phase) => ({ ...phase, seconds: (phase.to - phase.from) / 1000, start_s: round((phase.from - holdStart) / 1000) }));
}

const inWindow = (samples, from, to) => samples.filter((sample) => sample.t >= from && sample.t < to);

export function phaseReport(samples, phase) {
  const within = inWindow(samples, phase.from, phase.to);
  const endpoints = {};
  for (const label of [...new Set(within.map((sample) => sample.label))].sort()) {
    const ofLabel = within.filter((sample) => sample.label === label);
    const { requests, p50_ms, p99_ms } = summarise(ofLabel, phase.seconds);
    endpoints[label] = { requests, p50_ms, p99_ms, by_status: countBy(ofLabel, statusOf) };
  }
  return {
    phase: phase.name,
    start_s: phase.start_s,
    seconds: round(phase.seconds),
    ...summarise(within, phase.seconds),
    by_status: countBy(within, statusOf),
    endpoints,
  };
}

/**
 * For each fault: failures while it lasted and how long they went on once the component was
 * back (until the end of the last failed request that started after the restore and ended
 * before the next fault began).
 */
export function recovery(samples, phaseList) {
  return phaseList
    .filter((phase) => phase.name.endsWith(": after"))
    .map((after) => {
      const during = phaseList.find((phase) => phase.name === `${after.fault}: during`);
      const failuresAfter = inWindow(samples, after.from, after.to).filter((sample) => failed(sample) && sample.t + sample.ms < after.to);
      const last = failuresAfter.reduce((latest, sample) => Math.max(latest, sample.t + sample.ms), after.from);
      return {
        fault: after.fault,
        down_s: round(during.seconds),
        failures_during: inWindow(samples, during.from, during.to).filter(failed).length,
        failures_after_restore: failuresAfter.length,
        failing_for_s_after_restore: round((last - after.from) / 1000),
      };
    });
}

export function byStatus(samples) {
  return countBy(samples, statusOf);
}

/** Requests per endpoint and status over the whole run. */
export function byEndpoint(samples) {
  const table = {};
  for (const sample of samples) {
    table[sample.label] ??= {};
    table[sample.label][statusOf(sample)] = (table[sample.label][statusOf(sample)] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
}
