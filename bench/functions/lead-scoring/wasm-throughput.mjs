// Times the lead-scoring engine compiled to wasm32 in Node's V8 (the engine Workers run).
// Usage: node bench/functions/lead-scoring/wasm-throughput.mjs <module.wasm> [leads] [rounds]; run.sh beside it builds it.
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";

const [path, leadsArg = "100000", roundsArg = "10"] = process.argv.slice(2);
if (!path) {
  console.error("usage: node bench/functions/lead-scoring/wasm-throughput.mjs <module.wasm> [leads] [rounds]");
  process.exit(2);
}
const leads = Number(leadsArg);
const rounds = Number(roundsArg);
// The crate also holds the Worker endpoints, so the module declares wasm-bindgen's JS imports.
// The engine never calls them: each is a stub that throws, which would fail the run if it did.
const unexpectedImports = new Proxy({}, {
  get: (_, module) => new Proxy({}, {
    get: (__, name) => () => {
      throw new Error(`the engine called the JS import ${String(module)}.${String(name)}`);
    },
  }),
});
const { instance } = await WebAssembly.instantiate(await readFile(path), unexpectedImports);
const { prepare, score_prepared, parse_and_score_prepared } = instance.exports;

prepare(leads);
score_prepared(1); // warm-up: lets V8 tier the hot loop up before timing

function measure(run) {
  const started = performance.now();
  const checksum = run(rounds);
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: (leads * rounds) / seconds, microsPerLead: (seconds * 1e6) / (leads * rounds), checksum };
}

const scoring = measure(score_prepared);
const parsing = measure(parse_and_score_prepared);
if (scoring.checksum !== parsing.checksum) {
  throw new Error(`parsed and prepared leads scored differently: ${scoring.checksum} vs ${parsing.checksum}`);
}
const format = (figure) =>
  `${Math.round(figure.perSecond).toLocaleString("en-US").padStart(12)} leads/s (${figure.microsPerLead.toFixed(2)} us/lead)`;
console.log(`wasm32 (node ${process.version}), ${leads} leads x ${rounds} rounds`);
console.log(`  score only:         ${format(scoring)}`);
console.log(`  parse JSON + score: ${format(parsing)}`);
