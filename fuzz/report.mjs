// Turns one `npm run fuzz` (tools/scripts/fuzz.sh) into figures: reads each target's libFuzzer
// log and native replay timing from the work directory, appends the run to the machine's
// history (so time spent on the same working corpus adds up across runs), writes the `fuzz` key
// of bench/results.json (other keys untouched; targets not run this time keep their figures)
// and the table between <!-- fuzz:start --> and <!-- fuzz:end --> in README.md (creating the
// README's "Reliability" section when it is missing). Exits 3 when an input took the limit or
// more natively.
//   node fuzz/report.mjs <work-dir> <seconds> <slow-ms> <rustc> <cargo-fuzz> <limits> <target...>
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [workDir, seconds, slowMs, rustc, cargoFuzz, limits, ...targetsRun] = process.argv.slice(2);
if (!targetsRun.length) throw new Error("usage: node fuzz/report.mjs <work-dir> <seconds> <slow-ms> <rustc> <cargo-fuzz> <limits> <target...>");
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const resultsFile = path.join(root, "bench/results.json");
const readme = path.join(root, "README.md");
const now = new Date().toISOString();
const slowLimitMs = Number(slowMs);

/** What each target feeds, for the README table. */
const PARSERS = {
  jwt_token: "`Authorization` header: bearer scheme, compact JWS, header, signature (`shared::auth`)",
  jwt_claims: "JWT header and claims JSON of HS256-signed tokens: alg/kid/crit, exp/nbf/iat/aud",
  jwks: "JWKS documents, fetched through the JWKS cache: RSA and P-256 keys, then verifying real RS256/ES256 tokens",
  stripe_signature: "`Stripe-Signature` header with the raw body",
  stripe_event: "Stripe event envelope of correctly signed bodies",
  svix_signature: "Svix / Standard Webhooks `*-id`, `*-timestamp`, `*-signature` headers with the body, as Resend's verifier and a source's (v1 and Ed25519 v1a)",
  resend_event: "Resend and Standard Webhooks source event envelopes of correctly signed deliveries",
  lead_scoring_rules: "lead-scoring rule JSON: rules, conditions, combinators",
  lead_scoring_preview: "`POST lead-scoring/preview` body: lead row, timestamps, half-life, rules",
  signup_body: "`POST signup` body: JSON object, names, avatar URL, time zone",
  gateway_query: "gateway query string: `select`, filters, logic trees, `order`, `limit`/`offset`",
  gateway_headers: "gateway `Prefer`, `Range`, `Accept`, `Content-Type` and JSON/form body",
};

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

function statsFromLog(text) {
  const stat = (name) => {
    const match = text.match(new RegExp(`stat::${name}:\\s+(\\d+)`));
    return match ? Number(match[1]) : null;
  };
  const progress = [...text.matchAll(/cov: (\d+) ft: (\d+) corp: (\d+)\/(\S+)/g)].at(-1);
  const started = text.match(/INITED [^\n]* rss: (\d+)Mb/);
  const artifacts = [...text.matchAll(/Test unit written to (\S+)/g)].map((match) => match[1]);
  const kind = text.match(/SUMMARY: libFuzzer: (\S+)/)?.[1] ?? text.match(/==\d+==ERROR: (?:AddressSanitizer|LeakSanitizer|libFuzzer): ([^\n]+)/)?.[1] ?? null;
  const panic = text.match(/panicked at ([^\n]+)\n([^\n]*)/);
  return {
    runs: stat("number_of_executed_units"),
    execs_per_second: stat("average_exec_per_sec"),
    new_inputs: stat("new_units_added"),
    rss_at_start_mb: started ? Number(started[1]) : null,
    peak_rss_mb: stat("peak_rss_mb"),
    coverage_edges: progress ? Number(progress[1]) : null,
    coverage_features: progress ? Number(progress[2]) : null,
    corpus_inputs: progress ? Number(progress[3]) : null,
    corpus_size: progress ? progress[4] : null,
    crash: artifacts.length || kind ? { kind, message: panic ? `${panic[1]}: ${panic[2]}`.trim() : null, inputs: artifacts } : null,
  };
}

function filesIn(dir) {
  if (!existsSync(dir)) return { files: 0, bytes: 0 };
  const files = readdirSync(dir).map((name) => statSync(path.join(dir, name))).filter((stat) => stat.isFile());
  return { files: files.length, bytes: files.reduce((sum, stat) => sum + stat.size, 0) };
}

const historyFile = path.join(workDir, "history.jsonl");
const history = () => (existsSync(historyFile) ? readFileSync(historyFile, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line)) : []);

const measured = {};
for (const target of targetsRun) {
  const run = readJson(path.join(workDir, "runs", `${target}.run.json`));
  const replay = readJson(path.join(workDir, "runs", `${target}.replay.json`));
  const log = readFileSync(path.join(workDir, "logs", `${target}.log`), "utf8");
  const stats = statsFromLog(log);
  appendFileSync(historyFile, JSON.stringify({ at: now, target, seconds: run.elapsed_seconds, runs: stats.runs ?? 0 }) + "\n");
  const seeds = filesIn(path.join(root, "fuzz/corpus", target));
  const found = filesIn(path.join(workDir, "corpus", target));
  measured[target] = {
    measured_at: now,
    parser: PARSERS[target] ?? "",
    seconds: run.elapsed_seconds,
    max_len: run.max_len,
    ...stats,
    corpus_files: { seeds: seeds.files, found: found.files, bytes: seeds.bytes + found.bytes },
    crashed: run.exit_status !== 0,
    slowest_input_ms: replay.slowest_ms,
    slowest_input: replay.slowest_input ? path.relative(root, replay.slowest_input) : null,
    replayed_inputs: replay.inputs,
  };
}
const totals = {};
for (const entry of history()) {
  const total = (totals[entry.target] ??= { seconds: 0, runs: 0, sessions: 0 });
  total.seconds += entry.seconds;
  total.runs += entry.runs;
  total.sessions += 1;
}

const previousResults = existsSync(resultsFile) ? readJson(resultsFile) : {};
const previous = previousResults.fuzz?.targets ?? {};
const targets = {};
for (const name of Object.keys(PARSERS)) {
  const entry = measured[name] ?? previous[name];
  if (entry) targets[name] = { ...entry, total_on_this_machine: totals[name] ?? entry.total_on_this_machine ?? null };
}
const fuzz = {
  generated_at: now,
  command: "npm run fuzz",
  toolchain: rustc,
  cargo_fuzz: cargoFuzz,
  build: "cargo fuzz build --sanitizer address --debug-assertions (release, AddressSanitizer + LeakSanitizer, overflow checks)",
  limits: `${limits} max_len per target; slowest input timed natively (release, no sanitizer), median of 5 runs, goal < ${slowLimitMs} ms`,
  seconds_per_target_last_run: Number(seconds),
  slow_input_limit_ms: slowLimitMs,
  targets,
};
writeFileSync(resultsFile, JSON.stringify({ ...previousResults, fuzz }, null, 2) + "\n");

// ---- the README table -----------------------------------------------------------------------
const count = (value) => (value === null || value === undefined ? "" : value.toLocaleString("en"));
const minutes = (value) => `${Math.round(value / 6) / 10} min`;
const lines = [
  `Measured by \`npm run fuzz\` (${fuzz.toolchain.split(" ").slice(0, 2).join(" ")}, cargo-fuzz ${cargoFuzz}, AddressSanitizer, debug assertions); ` +
    "raw figures under `fuzz` in [bench/results.json](bench/results.json). Each target starts from the seeds in `fuzz/corpus/<target>` " +
    "and the machine's working corpus; \"total\" is all the fuzzing on that corpus. Coverage is libFuzzer's edges / features " +
    `in the instrumented code (the parser and the crates it calls). Slowest input: the corpus and the run's slowest input timed again natively; goal < ${slowLimitMs} ms. ` +
    `Limits: ${limits.replaceAll(" ", ", ")}, LeakSanitizer on, AddressSanitizer quarantine 16 MB (so RSS shows growth).`,
  "",
  "| target | parses | last run | runs | exec/s | coverage | corpus | RSS start / peak | slowest input | crashes | total |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
];
for (const [name, entry] of Object.entries(targets)) {
  const crash = entry.crashed ? `**${entry.crash?.kind ?? "yes"}**` : "none";
  const slow = entry.slowest_input_ms >= slowLimitMs ? `**${entry.slowest_input_ms} ms**` : `${entry.slowest_input_ms} ms`;
  const total = entry.total_on_this_machine;
  lines.push(
    `| \`${name}\` | ${entry.parser} | ${minutes(entry.seconds)} | ${count(entry.runs)} | ${count(entry.execs_per_second)} | ` +
      `${count(entry.coverage_edges)} / ${count(entry.coverage_features)} | ${count(entry.corpus_inputs)} (${entry.corpus_size ?? ""}) | ` +
      `${entry.rss_at_start_mb ?? ""} / ${entry.peak_rss_mb ?? ""} MB | ${slow} | ${crash} | ${total ? `${minutes(total.seconds)}, ${count(total.runs)} runs` : ""} |`,
  );
}

const START = "<!-- fuzz:start -->";
const END = "<!-- fuzz:end -->";
const block = `${START}\n${lines.join("\n")}\n${END}`;
let text = readFileSync(readme, "utf8");
if (text.includes(START) && text.includes(END)) {
  text = text.slice(0, text.indexOf(START)) + block + text.slice(text.indexOf(END) + END.length);
} else {
  const section = `## Reliability\n\n### Coverage-guided fuzzing\n\n${block}\n\n`;
  const benchmarks = text.indexOf("\n## Benchmarks");
  text = benchmarks >= 0 ? text.slice(0, benchmarks + 1) + section + text.slice(benchmarks + 1) : `${text.trimEnd()}\n\n${section}`;
}
writeFileSync(readme, text);
console.error(`wrote the fuzz figures to ${path.relative(root, resultsFile)} and README.md`);

const slow = Object.entries(measured).filter(([, entry]) => entry.slowest_input_ms >= slowLimitMs);
for (const [name, entry] of slow) console.error(`${name}: ${entry.slowest_input} took ${entry.slowest_input_ms} ms natively (goal < ${slowLimitMs} ms)`);
if (slow.length) process.exit(3);
