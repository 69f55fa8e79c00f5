// Reads the NDJSON event streams of tools/scripts/api-fuzz.sh's schemathesis runs and reports, per
// operation, the test cases tried, the statuses answered and the checks that failed. With
// `own-stack` (npm run fuzz) it also writes the figures under bench/results.json's `contract`
// key (other keys kept) and README's table between <!-- api-fuzz:start --> and <!-- api-fuzz:end -->.
//   node tests/contract/fuzz-report.mjs <work-dir> <mode> <examples> <crashes> <health> <run-label>...
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [workDir, mode, examples, crashes, health, ...labels] = process.argv.slice(2);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

function events(label) {
  const dir = path.join(workDir, label);
  const file = existsSync(dir) && readdirSync(dir).find((name) => name.endsWith(".ndjson"));
  if (!file) throw new Error(`no NDJSON report in ${dir}: did schemathesis run?`);
  return readFileSync(path.join(dir, file), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

function summarise(label) {
  const operations = {};
  // What schemathesis counts against a run besides failed checks: an error while testing an
  // operation (a request that got no answer, a schema it could not generate from) stops that
  // operation's cases early and fails the run with no failed check to show for it.
  const errors = [];
  let elapsed = 0;
  for (const event of events(label)) {
    if (event.EngineFinished) {
      elapsed = event.EngineFinished.running_time ?? elapsed;
      for (const failure of event.EngineFinished.failures ?? []) {
        errors.push({ operation: null, phase: "after the run", type: failure.title ?? "check failed", message: failure.message ?? "" });
      }
    }
    if (event.NonFatalError) {
      const { label: operation, phase, value } = event.NonFatalError;
      errors.push({ operation, phase: phase ?? null, type: value?.type ?? "unknown", message: value?.message ?? "" });
    }
    if (event.FatalError) {
      const { exception } = event.FatalError;
      errors.push({ operation: null, phase: null, type: exception?.type ?? "unknown", message: exception?.message ?? "" });
    }
    const scenario = event.ScenarioFinished;
    if (!scenario?.recorder?.label) continue;
    const operation = (operations[scenario.recorder.label] ??= { cases: 0, statuses: {}, failed_checks: {} });
    operation.cases += Object.keys(scenario.recorder.cases ?? {}).length;
    for (const interaction of Object.values(scenario.recorder.interactions ?? {})) {
      const status = interaction.response?.status_code ?? "no answer";
      operation.statuses[status] = (operation.statuses[status] ?? 0) + 1;
    }
    for (const checks of Object.values(scenario.recorder.checks ?? {})) {
      for (const check of checks) {
        if (check.status === "failure") operation.failed_checks[check.name] = (operation.failed_checks[check.name] ?? 0) + 1;
      }
    }
  }
  const all = Object.values(operations);
  const answers = (predicate) =>
    all.reduce((sum, operation) => sum + Object.entries(operation.statuses).filter(([status]) => predicate(status)).reduce((n, [, count]) => n + count, 0), 0);
  return {
    elapsed_seconds: Math.round(elapsed * 10) / 10,
    operations: Object.keys(operations).length,
    cases: all.reduce((sum, operation) => sum + operation.cases, 0),
    requests: answers(() => true),
    answers_500: answers((status) => status === "500"),
    answers_5xx: answers((status) => /^5/.test(status)),
    failed_checks: all.reduce((sum, operation) => sum + Object.values(operation.failed_checks).reduce((a, b) => a + b, 0), 0),
    errors,
    by_operation: operations,
  };
}

const runs = Object.fromEntries(labels.map((label) => [label, summarise(label)]));
const version = events(labels[0]).find((event) => event.Initialize)?.Initialize.schemathesis_version;
const result = {
  measured_at: new Date().toISOString(),
  command: mode === "own-stack" ? "npm run fuzz (tools/scripts/api-fuzz.sh)" : "npm test -- e2e (api-fuzz.sh --stack-running)",
  tool: `schemathesis ${version}`,
  max_examples_per_operation_and_phase: Number(examples),
  phases: ["examples", "coverage", "fuzzing"],
  runs,
  worker_and_gateway_crashes: Number(crashes),
  health_after: Number(health),
};

const operationLabels = [...new Set(labels.flatMap((label) => Object.keys(runs[label].by_operation)))].sort();
const rows = operationLabels.map((operation) => {
  const cells = labels.map((label) => {
    const entry = runs[label].by_operation[operation];
    if (!entry) return "-";
    const statuses = Object.entries(entry.statuses)
      .sort()
      .map(([status, count]) => `${status}×${count}`)
      .join(" ");
    const failures = Object.entries(entry.failed_checks).map(([check, count]) => `**${check}×${count}**`);
    return `${entry.cases} (${[statuses, ...failures].join(", ")})`;
  });
  return `| \`${operation}\` | ${cells.join(" | ")} |`;
});
const totals = labels.map((label) => {
  const run = runs[label];
  return `${run.cases} cases, ${run.requests} requests, ${run.answers_500} × 500, ${run.failed_checks} failed checks, ${run.errors.length} errors, ${run.elapsed_seconds} s`;
});
const table = [
  `| operation | ${labels.map((label) => `${label}: cases (answers)`).join(" | ")} |`,
  `|---|${labels.map(() => "---").join("|")}|`,
  ...rows,
  `| **all** | ${totals.join(" | ")} |`,
].join("\n");
process.stderr.write(`${table}\n\ncrashes in the Worker's and the gateway's logs: ${crashes}; health after: ${health}\n`);
// Last on the terminal, so a CI log cut in the middle still shows them.
for (const label of labels) {
  for (const error of runs[label].errors) {
    const where = [error.operation, error.phase && `${error.phase} phase`].filter(Boolean).join(", ") || "the run";
    process.stderr.write(`schemathesis error (${label}; ${where}): ${error.type}: ${error.message}\n`);
  }
}

if (mode === "own-stack") {
  const resultsFile = path.join(root, "bench/results.json");
  const previous = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : {};
  writeFileSync(resultsFile, JSON.stringify({ ...previous, contract: result }, null, 2) + "\n");
  const readme = path.join(root, "README.md");
  const text = readFileSync(readme, "utf8");
  const start = "<!-- api-fuzz:start -->";
  const end = "<!-- api-fuzz:end -->";
  if (text.includes(start) && text.includes(end)) {
    const summary =
      `${result.tool}, ${result.measured_at.slice(0, 10)}, at most ${examples} examples per operation and phase ` +
      `(${result.phases.join(", ")}), seed fixed; crashes in the Worker's and the gateway's logs: ${crashes}; ` +
      `health after the run: ${health}. Cases per operation and the statuses they got:`;
    const block = `${start}\n${summary}\n\n${table}\n${end}`;
    writeFileSync(readme, text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length));
  }
}

const failed = labels.filter((label) => runs[label].failed_checks > 0 || runs[label].answers_500 > 0 || runs[label].errors.length > 0);
if (failed.length > 0) process.exitCode = 1;
