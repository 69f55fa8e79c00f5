// Times the micro-benchmark cases on wasm32 in Node (V8, the engine Workers run), the module
// built by bench/micro/build.sh. Usage: node run.mjs <dir with bench_micro.js>
// Prints one JSON object: per case the median µs per operation over a few rounds, each round
// one call into Wasm running many operations, timed with performance.now() outside the module
// (awaited, for the cases that await WebCrypto), and the process CPU time per operation over the
// same rounds (all threads: Node runs WebCrypto jobs on its thread pool).
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import path from "node:path";

const ROUND_MS = 150;
const ROUNDS = 5;

const dir = process.argv[2];
if (!dir) throw new Error("usage: node run.mjs <wasm-bindgen output dir>");
const { Suite } = createRequire(import.meta.url)(path.resolve(dir, "bench_micro.js"));

/**
 * Times `runMany(iterations)` (which runs that many operations and resolves to how many
 * succeeded): the iteration count grows until one call is long enough to time well (which also
 * warms the JIT tiers up), then ROUNDS calls give the median wall time and the CPU time per
 * operation.
 */
async function measure(id, runMany) {
  const timed = async (iterations) => {
    const started = performance.now();
    const succeeded = await runMany(iterations);
    const elapsed = performance.now() - started;
    if (succeeded !== iterations) throw new Error(`${id}: ${succeeded} of ${iterations} operations succeeded`);
    return elapsed;
  };
  let iterations = 1;
  for (;;) {
    const elapsed = await timed(iterations);
    if (elapsed >= ROUND_MS / 4) {
      iterations = Math.max(1, Math.ceil((iterations * ROUND_MS) / elapsed));
      break;
    }
    iterations *= 4;
  }
  const perOp = [];
  const cpuBefore = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round++) perOp.push(((await timed(iterations)) * 1000) / iterations);
  const cpu = process.cpuUsage(cpuBefore);
  perOp.sort((a, b) => a - b);
  return { us_per_op: perOp[Math.floor(ROUNDS / 2)], cpu_us_per_op: (cpu.user + cpu.system) / (ROUNDS * iterations), iterations, rounds: ROUNDS };
}

function report(runtime, id, result) {
  console.error(`${runtime.padEnd(7)} ${id.padEnd(28)} ${result.us_per_op.toFixed(2).padStart(10)} µs/op  ${result.cpu_us_per_op.toFixed(2).padStart(10)} µs CPU/op`);
}

const suite = new Suite();
const results = {};
for (let index = 0; index < suite.count(); index++) {
  const id = suite.id(index);
  const runMany = (iterations) => (suite.is_async(index) ? suite.run_async(index, iterations) : suite.run(index, iterations));
  const result = await measure(id, runMany);
  report("wasm32", id, result);
  results[id] = { description: suite.description(index), ...result };
}

// The floor of the WebCrypto path in this runtime: crypto.subtle.verify of an ES256 signature
// over a token-sized message, called from JS with nothing else around it, timed the same way.
const { subtle } = globalThis.crypto;
const algorithm = { name: "ECDSA", hash: "SHA-256" };
const keys = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
const message = new Uint8Array(700).fill(0x61);
const signature = await subtle.sign(algorithm, keys.privateKey, message);
const floorId = "webcrypto_es256_js_floor";
const floor = await measure(floorId, async (iterations) => {
  let succeeded = 0;
  for (let i = 0; i < iterations; i++) if (await subtle.verify(algorithm, keys.publicKey, signature, message)) succeeded += 1;
  return succeeded;
});
report("js", floorId, floor);
results[floorId] = {
  description: "crypto.subtle.verify of an ES256 signature called from JS, nothing else (the WebCrypto floor in this runtime)",
  ...floor,
};
console.log(JSON.stringify(results));
