// Merges the stage outputs of `npm run bench` into bench/results.json and renders the README
// table between <!-- bench:start --> and <!-- bench:end --> (appending a "## Benchmarks"
// section with the markers when they are missing). Stages not run this time keep their
// figures, and their timestamp, from the previous bench/results.json.
//   node report.mjs <work-dir> <stage...>
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [workDir, ...stagesRun] = process.argv.slice(2);
if (!workDir) throw new Error("usage: node report.mjs <work-dir> <stage...>");
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const resultsFile = path.join(root, "bench/results.json");
const readme = path.join(root, "README.md");
const previous = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : {};
const now = new Date().toISOString();
const read = (name) => JSON.parse(readFileSync(path.join(workDir, name), "utf8"));

const KB = 1024;
const GOALS = {
  bundle_gzip_bytes: 1024 * KB,
  function_gzip_bytes: 400 * KB,
  per_operation_ms: 1,
  endpoint_cpu_ms: 2,
  wasm32_leads_per_second: 100_000,
  // Issue 18, against the JavaScript peer (bench/peer) measured in the same run.
  signup_rps_over_peer: 1.2,
  not_found_p50_added_ms: 0.3,
  compute_rps_over_peer: 2,
};

/** The peer goals: which case, which figure, and the bound it must meet. */
const PEER_GOALS = [
  { case: "signup_get", what: "GET signup req/s ÷ JS peer's", figure: "rps_ratio_edge_over_peer", at_least: GOALS.signup_rps_over_peer },
  { case: "unknown_function", what: "unknown function 404: p50 − JS peer's (ms)", figure: "p50_added_ms", at_most: GOALS.not_found_p50_added_ms },
  { case: "stripe_webhook", what: "Stripe webhook req/s ÷ JS peer's", figure: "rps_ratio_edge_over_peer", at_least: GOALS.compute_rps_over_peer },
];

/** The pure CPU each endpoint spends per request: the micro cases it runs, in order. */
const ENDPOINTS = [
  { endpoint: "signup (HS256 token)", cases: ["jwt_hs256", "gcra_decision"] },
  { endpoint: "signup (ES256 token)", cases: ["jwt_es256", "gcra_decision"] },
  { endpoint: "api-keys list", cases: ["jwt_hs256", "gcra_decision"] },
  { endpoint: "api-keys store (encrypt)", cases: ["jwt_hs256", "gcra_decision", "vault_seal"] },
  { endpoint: "api-keys check (decrypt)", cases: ["jwt_hs256", "gcra_decision", "vault_open"] },
  { endpoint: "lead-scoring one lead", cases: ["jwt_hs256", "gcra_decision", "score_lead_request"] },
  { endpoint: "webhooks stripe, 10 KB", cases: ["stripe_verify_envelope_10kb", "gcra_decision", "role_token_es256"] },
  { endpoint: "webhooks resend, 10 KB (signature only)", cases: ["svix_verify_10kb", "gcra_decision", "role_token_es256"] },
];

/** A stage's figures: measured now when it ran, else the previous ones, stored under `key`. */
function stage(name, build, key = name) {
  if (stagesRun.includes(name)) return { measured_at: now, ...build() };
  return previous[key] ?? null;
}

const sizes = stage("sizes", () => {
  const entries = readFileSync(path.join(workDir, "sizes.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
  const [bundle, ...functions] = entries;
  const withGoal = (entry, goal) => (entry.built ? { ...entry, within_goal: entry.size.gzip_bytes < goal } : entry);
  return {
    goals: { bundle_gzip_bytes: GOALS.bundle_gzip_bytes, function_gzip_bytes: GOALS.function_gzip_bytes },
    startup_note:
      "median of fresh Node processes: WebAssembly.compile + instantiate with stub imports; the module is the same cargo output " +
      "through wasm-bindgen and wasm-opt -Oz without worker-build's abort-handler wrappers, whose exception-handling " +
      "instructions Node 20 cannot compile",
    bundle: withGoal(bundle, GOALS.bundle_gzip_bytes),
    functions: functions.map((entry) => withGoal(entry, GOALS.function_gzip_bytes)),
  };
});

const cpu = stage("micro", () => {
  const wasm32 = read("micro-wasm32.json");
  const native = read("micro-native.json");
  const cases = Object.entries(wasm32).map(([id, result]) => ({
    id,
    description: result.description,
    wasm32_us: round(result.us_per_op, 3),
    wasm32_cpu_us: result.cpu_us_per_op === undefined ? null : round(result.cpu_us_per_op, 3),
    native_us: native[id] ? round(native[id].us_per_op, 3) : null,
    within_goal: result.us_per_op < GOALS.per_operation_ms * 1000,
  }));
  const endpoints = ENDPOINTS.map(({ endpoint, cases: parts }) => {
    const total = parts.reduce((sum, id) => sum + (wasm32[id]?.us_per_op ?? NaN), 0);
    return { endpoint, cases: parts, wasm32_us: round(total, 3), within_goal: total < GOALS.endpoint_cpu_ms * 1000 };
  });
  const leadsPerSecond = Math.round(1e6 / wasm32.score_lead.us_per_op);
  // WebCrypto against RustCrypto on wasm32, the same token through the same verifier.
  const backends = [
    { what: "ES256 verify", product: "jwt_es256", alternative: "jwt_es256_rustcrypto", product_backend: "WebCrypto", alternative_backend: "RustCrypto" },
    { what: "HS256 verify", product: "jwt_hs256", alternative: "jwt_hs256_webcrypto", product_backend: "RustCrypto", alternative_backend: "WebCrypto" },
  ]
    .filter(({ product, alternative }) => wasm32[product] && wasm32[alternative])
    .map((row) => ({
      ...row,
      product_us: round(wasm32[row.product].us_per_op, 3),
      alternative_us: round(wasm32[row.alternative].us_per_op, 3),
      product_cpu_us: round(wasm32[row.product].cpu_us_per_op, 3),
      alternative_cpu_us: round(wasm32[row.alternative].cpu_us_per_op, 3),
      cpu_ratio: round(wasm32[row.product].cpu_us_per_op / wasm32[row.alternative].cpu_us_per_op, 3),
    }));
  const floor = wasm32.webcrypto_es256_js_floor;
  const webcryptoFloor = floor && wasm32.jwt_es256
    ? { floor_us: round(floor.us_per_op, 3), product_us: round(wasm32.jwt_es256.us_per_op, 3), ratio: round(wasm32.jwt_es256.us_per_op / floor.us_per_op, 3) }
    : null;
  return {
    goals: { per_operation_ms: GOALS.per_operation_ms, endpoint_cpu_ms: GOALS.endpoint_cpu_ms, wasm32_leads_per_second: GOALS.wasm32_leads_per_second },
    note: "median µs per operation over 5 rounds of ~150 ms; wasm32 in Node (V8) timed with performance.now() around calls into the module; native with the same code generation (opt-level z, LTO)",
    cases,
    endpoints,
    backends,
    webcrypto_floor: webcryptoFloor,
    wasm32_leads_per_second: leadsPerSecond,
    leads_per_second_within_goal: leadsPerSecond >= GOALS.wasm32_leads_per_second,
  };
}, "cpu");

/** Each peer goal at each connection count: the figure, whether it is met and by how much not. */
function peerGoals(cases) {
  return PEER_GOALS.flatMap((goal) => {
    const found = cases.find((entry) => entry.id === goal.case);
    return (found?.runs ?? [])
      .filter((run) => run.against_peer)
      .map((run) => {
        const value = run.against_peer[goal.figure];
        const met = goal.at_least !== undefined ? value >= goal.at_least : value <= goal.at_most;
        const shortBy = met ? 0 : goal.at_least !== undefined ? round(goal.at_least - value, 3) : round(value - goal.at_most, 3);
        return { case: goal.case, what: goal.what, connections: run.connections, value, goal: goal.at_least ?? goal.at_most, met, short_by: shortBy };
      });
  });
}

/**
 * Where one `GET signup` request's p50 goes at one connection, from cases of the same run that
 * differ by one part each (no estimate): the peer's 404 is workerd and wrangler dev's proxy; the
 * bundle's 404 outside /functions/v1 adds the Rust/Wasm shim and its log line (what one line
 * costs: the peer's 404 with the same line); GET signup/x with the token (a 404 below the
 * function) adds the guard; GET signup adds the two PostgREST reads. The top-level parts add up
 * to the total; the indented ones say what a part holds: one log line, the guard without a
 * token (one budget, the client
 * IP's, where signup with a token spends two one after the other, the IP's and the user's:
 * functions/rate-limit/src/key.rs `also_per_ip`), JWT verification's CPU (micro stage), the
 * same two reads made by the JS peer, and one read straight to the gateway.
 */
function breakdown(cases, micro) {
  const p50 = (id, side = "edge") => cases.find((entry) => entry.id === id)?.runs.find((run) => run.connections === 1)?.[side]?.p50_ms;
  const parts = {
    floor: p50("router_floor", "peer"),
    logged: p50("router_floor", "peer_logged"),
    bundleFloor: p50("router_floor"),
    noToken: p50("signup_no_token"),
    guarded: p50("signup_guard_only"),
    signup: p50("signup_get"),
    read: p50("signup_get", "direct"),
    peerSignup: p50("signup_get", "peer"),
  };
  if (Object.values(parts).some((value) => value === undefined)) return null;
  const jwtMs = (micro?.cases?.find((entry) => entry.id === "jwt_hs256")?.wasm32_us ?? 0) / 1000;
  const logLine = parts.logged - parts.floor;
  const rows = [
    { part: "workerd + wrangler dev's proxy (the JS peer's 404, no I/O)", ms: parts.floor },
    { part: "the Rust/Wasm shim and its request log line: entry, routing, 404 rendering (bundle's 404 outside /functions/v1 − peer's 404)", ms: parts.bundleFloor - parts.floor },
    { part: "· of which one log line, as the peer pays it (its 404 with the bundle's line − without; sub-ms differences are within this box's noise)", ms: logLine, detail: true },
    { part: "the guard: JWT verification, limits, the client IP's and the user's budgets (GET signup/x with token − bundle's 404)", ms: parts.guarded - parts.bundleFloor },
    { part: "· of which the guard with one budget, no token (GET signup without token − bundle's 404)", ms: parts.noToken - parts.bundleFloor, detail: true },
    { part: "· of which JWT verification, HS256 in Wasm (micro stage, CPU only)", ms: jwtMs, detail: true },
    { part: "two PostgREST reads in parallel, from the Worker (GET signup − GET signup/x)", ms: parts.signup - parts.guarded },
    { part: "· the same two reads from the JS peer, its JWT check included (peer's GET signup − its 404)", ms: parts.peerSignup - parts.floor, detail: true },
    { part: "· one of the reads straight to the gateway", ms: parts.read, detail: true },
  ];
  return {
    note: "p50 at 1 connection; each part is the difference between two cases of the same run that differ by that part (bench/report.mjs breakdown()); lines starting with · detail the part above and are not added",
    total_ms: parts.signup,
    js_peer_total_ms: parts.peerSignup,
    parts: rows.map((row) => ({ ...row, ms: round(row.ms, 3) })),
  };
}

const e2e = stage("e2e", () => ({
  note:
    "wrk on loopback; 'edge' goes through wrangler dev (the bundle) to the gateway and Postgres; 'direct' replays the PostgREST calls " +
    "the function made for the same request (recorded through a proxy during preparation) straight to the gateway. wrangler dev runs " +
    "the Worker in a local workerd behind its own dev proxy, whose per-request cost (the 'router only' row) dominates the edge figures; " +
    "it is not Cloudflare's edge. With more than one " +
    "call, direct latency is per call and the ratios use the sum of the calls; rate limits are lifted except for the refused case.",
  ...read("e2e.json"),
}));
if (e2e && stagesRun.includes("e2e")) {
  e2e.peer_note =
    "the JS peer is bench/peer/worker.mjs in a second wrangler dev (same workerd), doing what the bundle does on that path (no rate limiter, no log line); the bundle's limiter is on, in its default lease mode; the two take turns in rounds (BENCH_PEER_ROUNDS, alternating which goes first) and each side's figures are its rounds together: req/s over all its time, p50 the rounds' median; ratios are edge ÷ peer from the same run, each round's ratio in the last column";
  e2e.peer_goals = peerGoals(e2e.cases);
  e2e.breakdown = breakdown(e2e.cases, cpu);
}
const gateway = stage("gateway", () => (existsSync(path.join(workDir, "gateway.json")) ? read("gateway.json") : { skipped: "no bench/gateway/run.sh" }));

// Keys other commands write (`soak` from `npm run soak`, `fuzz` from `npm run fuzz`) are kept as
// they are.
const results = { ...previous, generated_at: now, command: "npm run bench", machine: read("machine.json"), sizes, cpu, e2e, gateway };
mkdirSync(path.dirname(resultsFile), { recursive: true });
writeFileSync(resultsFile, JSON.stringify(results, null, 2) + "\n");

// ---- the README table ---------------------------------------------------------------------

function round(value, places = 1) {
  return Math.round(value * 10 ** places) / 10 ** places;
}
const kib = (bytes) => `${round(bytes / KB)} KiB`;
const mark = (ok) => (ok ? "yes" : "**no**");
const us = (value) => (value === null || value === undefined ? "" : value < 10 ? round(value, 2) : round(value, 1));

const lines = [];
const machine = results.machine;
lines.push(
  `Measured by \`npm run bench\` on ${machine.cpus} cores (${machine.cpu_model}), ${machine.memory_gib} GiB, ${machine.node}, ` +
    `${machine.rustc.split(" ").slice(0, 2).join(" ")}; raw figures in [bench/results.json](bench/results.json). ` +
    "The machine is shared, so expect noise of ±20%.",
  "",
);
if (sizes) {
  lines.push(`### Size and start-up (${sizes.measured_at.slice(0, 16)}Z)`, "");
  lines.push(`Goal: bundle < ${kib(sizes.goals.bundle_gzip_bytes)} gzipped, each function alone < ${kib(sizes.goals.function_gzip_bytes)}. ` +
    "Start-up: " + sizes.startup_note + ".", "");
  lines.push("| Worker | .wasm raw | gzipped | within goal | compile | instantiate |", "|---|---:|---:|---|---:|---:|");
  for (const entry of [sizes.bundle, ...sizes.functions]) {
    const name = entry.name === "bundle" ? "bundle (all functions)" : `${entry.name} alone`;
    if (!entry.built) {
      lines.push(`| ${name} | not built: ${entry.reason} | | | | |`);
      continue;
    }
    lines.push(
      `| ${name} | ${kib(entry.size.raw_bytes)} | ${kib(entry.size.gzip_bytes)} | ${mark(entry.within_goal)} | ` +
        `${round(entry.startup.compile_ms, 2)} ms | ${round(entry.startup.instantiate_ms, 2)} ms |`,
    );
  }
  lines.push("");
}
if (cpu) {
  lines.push(`### Per-request CPU, no I/O (${cpu.measured_at.slice(0, 16)}Z)`, "");
  lines.push(`Goal: each operation < ${cpu.goals.per_operation_ms} ms and each endpoint's sum < ${cpu.goals.endpoint_cpu_ms} ms on wasm32; ` +
    `scoring ≥ ${cpu.goals.wasm32_leads_per_second.toLocaleString("en")} leads/s. ${cpu.note}.`, "");
  lines.push("| operation | wasm32 µs | wasm32 CPU µs | native µs | < 1 ms |", "|---|---:|---:|---:|---|");
  for (const entry of cpu.cases) {
    lines.push(`| ${entry.description} | ${us(entry.wasm32_us)} | ${us(entry.wasm32_cpu_us)} | ${us(entry.native_us)} | ${mark(entry.within_goal)} |`);
  }
  if (cpu.backends?.length) {
    lines.push(
      "",
      "WebCrypto against RustCrypto on wasm32 (same token, same verifier; CPU is the Node process's, all threads, since Node runs WebCrypto jobs on its thread pool):",
      "",
      "| check | the Worker uses | µs (CPU µs) | the alternative | µs (CPU µs) | CPU ratio |",
      "|---|---|---:|---|---:|---:|",
    );
    for (const row of cpu.backends) {
      lines.push(
        `| ${row.what} | ${row.product_backend} | ${us(row.product_us)} (${us(row.product_cpu_us)}) | ${row.alternative_backend} | ` +
          `${us(row.alternative_us)} (${us(row.alternative_cpu_us)}) | ${row.cpu_ratio} |`,
      );
    }
  }
  if (cpu.webcrypto_floor) {
    const { floor_us, product_us, ratio } = cpu.webcrypto_floor;
    lines.push(
      "",
      `ES256 through WebCrypto: a bare \`crypto.subtle.verify\` called from JS takes ${us(floor_us)} µs here (Node's WebCrypto ` +
        `normalizes the algorithm in JS and runs the check on its thread pool; workerd runs it in C++ on the isolate's thread); ` +
        `the Worker's whole verification takes ${us(product_us)} µs, ${ratio}× that.`,
    );
  }
  lines.push("", `Scoring on wasm32: **${cpu.wasm32_leads_per_second.toLocaleString("en")} leads/s** (goal ${cpu.goals.wasm32_leads_per_second.toLocaleString("en")}: ${mark(cpu.leads_per_second_within_goal)}).`, "");
  lines.push("| endpoint (pure CPU per request) | operations | wasm32 µs | < 2 ms |", "|---|---|---:|---|");
  for (const entry of cpu.endpoints) lines.push(`| ${entry.endpoint} | ${entry.cases.join(" + ")} | ${us(entry.wasm32_us)} | ${mark(entry.within_goal)} |`);
  lines.push("");
}
if (e2e) {
  lines.push(`### End to end on loopback (${e2e.measured_at.slice(0, 16)}Z)`, "");
  lines.push(`${e2e.tool}, ${e2e.seconds_per_run} s per run. ${e2e.note}`, "");
  lines.push(
    "| endpoint | conns | edge req/s | edge p50 / p99 ms | edge answers | direct req/s | direct p50 / p99 ms per call | direct answers | edge / direct req/s | edge / direct p50 |",
    "|---|---:|---:|---:|---|---:|---:|---|---:|---:|",
  );
  const answers = (statuses) => Object.entries(statuses).map(([status, count]) => `${count}× ${status}`).join(", ");
  for (const benchCase of e2e.cases) {
    for (const run of benchCase.runs) {
      const { edge, direct, overhead } = run;
      const calls = benchCase.postgrest_calls.length;
      lines.push(
        `| ${benchCase.label} | ${run.connections} | ${edge.rps} | ${edge.p50_ms} / ${edge.p99_ms} | ${answers(edge.statuses)} | ` +
          (direct
            ? `${calls > 1 ? `${direct.sequences_per_s} (${direct.rps} calls/s)` : direct.rps} | ${direct.p50_ms} / ${direct.p99_ms} | ` +
              `${answers(direct.statuses)} | ${overhead.rps_ratio_edge_over_direct} | ${overhead.p50_ratio_edge_over_direct} |`
            : "no PostgREST call | | | | |"),
      );
    }
  }
  const peered = e2e.cases.flatMap((benchCase) => benchCase.runs.filter((run) => run.peer).map((run) => ({ benchCase, run })));
  if (peered.length > 0) {
    lines.push("", `Against the JavaScript peer: ${e2e.peer_note}.`, "");
    lines.push(
      "| endpoint | conns | rls-edge req/s | p50 ms | JS peer req/s | p50 ms | rls-edge ÷ peer req/s | p50 difference ms | ÷ per round |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const { benchCase, run } of peered) {
      lines.push(
        `| ${benchCase.label} | ${run.connections} | ${run.edge.rps} | ${run.edge.p50_ms} | ${run.peer.rps} | ${run.peer.p50_ms} | ` +
          `${run.against_peer.rps_ratio_edge_over_peer} | ${run.against_peer.p50_added_ms} | ${(run.against_peer.round_ratios ?? []).join(", ")} |`,
      );
    }
    lines.push("", "Goals (issue 18):", "", "| goal | conns | measured | goal | met | short by |", "|---|---:|---:|---:|---|---:|");
    for (const goal of e2e.peer_goals ?? []) {
      lines.push(`| ${goal.what} | ${goal.connections} | ${goal.value} | ${goal.goal} | ${mark(goal.met)} | ${goal.met ? "" : goal.short_by} |`);
    }
  }
  if (e2e.breakdown) {
    lines.push("", `Where one GET signup request goes (${e2e.breakdown.note}): ${e2e.breakdown.total_ms} ms p50; the JS peer's ${e2e.breakdown.js_peer_total_ms} ms.`, "");
    lines.push("| part | ms |", "|---|---:|");
    for (const part of e2e.breakdown.parts) lines.push(`| ${part.part} | ${round(part.ms, 3)} |`);
  }
  lines.push("", "PostgREST calls per request, as recorded (the direct side replays them):", "");
  for (const benchCase of e2e.cases) {
    const calls = benchCase.postgrest_calls.map((call, index) => `\`${call}\` (${benchCase.postgrest_statuses?.[index] ?? "?"})`);
    lines.push(`- ${benchCase.label}: ${calls.length === 0 ? "none" : calls.join(", ")}`);
  }
  lines.push("");
}
if (gateway && Array.isArray(gateway.results)) {
  lines.push(`### The gateway alone (bench/gateway, ${gateway.measured_at?.slice(0, 16) ?? ""}Z)`, "");
  lines.push("| workload | conns | gateway req/s | p50 / p99 ms | tokio-postgres direct req/s | p50 ms | gateway / direct req/s |", "|---|---:|---:|---:|---:|---:|---:|");
  for (const entry of gateway.results) {
    lines.push(
      `| ${entry.workload} | ${entry.concurrency} | ${entry.gateway.rps} | ${entry.gateway.p50_ms} / ${entry.gateway.p99_ms} | ` +
        `${entry.direct.rps} | ${entry.direct.p50_ms} | ${entry.rps_ratio_gateway_over_direct} |`,
    );
  }
  lines.push("");
}

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";
const block = `${START}\n${lines.join("\n").trimEnd()}\n${END}`;
let text = readFileSync(readme, "utf8");
if (text.includes(START) && text.includes(END)) {
  text = text.slice(0, text.indexOf(START)) + block + text.slice(text.indexOf(END) + END.length);
} else {
  text = `${text.trimEnd()}\n\n## Benchmarks\n\n${block}\n`;
}
writeFileSync(readme, text);
console.error(`wrote ${path.relative(root, resultsFile)} and the README table`);
