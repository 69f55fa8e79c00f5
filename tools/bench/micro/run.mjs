// Times the micro-benchmark cases on wasm32 in Node (V8, the engine Workers run), the module
// built by tools/bench/micro/build.sh. Usage: node run.mjs <dir with bench_micro.js>
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

async function timed(suite, index, iterations, id) {
  const started = performance.now();
  const succeeded = suite.is_async(index) ? await suite.run_async(index, iterations) : suite.run(index, iterations);
  const elapsed = performance.now() - started;
  if (succeeded !== iterations) throw new Error(`${id}: ${succeeded} of ${iterations} operations succeeded`);
  return elapsed;
}

const suite = new Suite();
const results = {};
for (let index = 0; index < suite.count(); index++) {
  const id = suite.id(index);
  let iterations = 1;
  // Grow until one call is long enough to time well; this also warms the JIT tiers up.
  for (;;) {
    const elapsed = await timed(suite, index, iterations, id);
    if (elapsed >= ROUND_MS / 4) {
      iterations = Math.max(1, Math.ceil((iterations * ROUND_MS) / elapsed));
      break;
    }
    iterations *= 4;
  }
  const perOp = [];
  const cpuBefore = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round++) perOp.push(((await timed(suite, index, iterations, id)) * 1000) / iterations);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuPerOp = (cpu.user + cpu.system) / (ROUNDS * iterations);
  perOp.sort((a, b) => a - b);
  const median = perOp[Math.floor(ROUNDS / 2)];
  console.error(`wasm32  ${id.padEnd(28)} ${median.toFixed(2).padStart(10)} µs/op  ${cpuPerOp.toFixed(2).padStart(10)} µs CPU/op`);
  results[id] = { description: suite.description(index), us_per_op: median, cpu_us_per_op: cpuPerOp, iterations, rounds: ROUNDS };
}
// The floor of the WebCrypto path in this runtime: crypto.subtle.verify of an ES256 signature
// over a token-sized message, called from JS with nothing else around it, timed the same way.
const floor = await webcryptoFloor();
console.error(`js      ${floor.id.padEnd(28)} ${floor.result.us_per_op.toFixed(2).padStart(10)} µs/op  ${floor.result.cpu_us_per_op.toFixed(2).padStart(10)} µs CPU/op`);
results[floor.id] = floor.result;
console.log(JSON.stringify(results));

async function webcryptoFloor() {
  const { subtle } = globalThis.crypto;
  const algorithm = { name: "ECDSA", hash: "SHA-256" };
  const keys = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const message = new Uint8Array(700).fill(0x61);
  const signature = await subtle.sign(algorithm, keys.privateKey, message);
  const verifyMany = async (iterations) => {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) {
      if (!(await subtle.verify(algorithm, keys.publicKey, signature, message))) throw new Error("the floor's signature did not verify");
    }
    return performance.now() - started;
  };
  let iterations = 1;
  for (;;) {
    const elapsed = await verifyMany(iterations);
    if (elapsed >= ROUND_MS / 4) {
      iterations = Math.max(1, Math.ceil((iterations * ROUND_MS) / elapsed));
      break;
    }
    iterations *= 4;
  }
  const perOp = [];
  const cpuBefore = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round++) perOp.push(((await verifyMany(iterations)) * 1000) / iterations);
  const cpu = process.cpuUsage(cpuBefore);
  perOp.sort((a, b) => a - b);
  return {
    id: "webcrypto_es256_js_floor",
    result: {
      description: "crypto.subtle.verify of an ES256 signature called from JS, nothing else (the WebCrypto floor in this runtime)",
      us_per_op: perOp[Math.floor(ROUNDS / 2)],
      cpu_us_per_op: (cpu.user + cpu.system) / (ROUNDS * iterations),
      iterations,
      rounds: ROUNDS,
    },
  };
}
