// Start-up proxy for a Worker's cold start: how long V8 (in Node) takes to compile a .wasm
// module and instantiate it, each time in a fresh Node process so no compiled code is reused.
// Imports are stubbed (instantiation never calls them); the JS glue's own start-up is excluded.
// Node 20's V8 needs a flag for the GC value types (`noexternref`) wasm-opt's output uses;
// workerd's newer V8 has them on.
//   node startup.mjs <file.wasm> [runs=15]   -> JSON {compile_ms, instantiate_ms, total_ms} medians
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const WASM_FLAGS = ["--experimental-wasm-gc"];
const [file, runsArgument, mode] = process.argv.slice(2);
if (!file) throw new Error("usage: node startup.mjs <file.wasm> [runs]");

function stubImports(module) {
  const imports = {};
  for (const { module: name, name: field, kind } of WebAssembly.Module.imports(module)) {
    imports[name] ??= {};
    if (kind === "function") {
      imports[name][field] = () => {
        throw new Error(`${name}.${field} called during instantiation`);
      };
    } else if (kind === "table") {
      imports[name][field] = new WebAssembly.Table({ initial: 0, element: "externref" });
    } else if (kind === "memory") {
      imports[name][field] = new WebAssembly.Memory({ initial: 1 });
    } else {
      throw new Error(`unexpected import kind ${kind} for ${name}.${field}`);
    }
  }
  return imports;
}

if (mode === "--once") {
  const bytes = readFileSync(file);
  const started = performance.now();
  const module = await WebAssembly.compile(bytes);
  const compiled = performance.now();
  await WebAssembly.instantiate(module, stubImports(module));
  const instantiated = performance.now();
  console.log(JSON.stringify({ compile_ms: compiled - started, instantiate_ms: instantiated - compiled }));
} else {
  const runs = Number(runsArgument ?? 15);
  const samples = [];
  for (let run = 0; run < runs; run++) {
    const output = execFileSync(process.execPath, [...WASM_FLAGS, fileURLToPath(import.meta.url), file, "1", "--once"], { encoding: "utf8" });
    samples.push(JSON.parse(output));
  }
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return Math.round(sorted[Math.floor(sorted.length / 2)] * 1000) / 1000;
  };
  console.log(
    JSON.stringify({
      runs,
      compile_ms: median(samples.map((sample) => sample.compile_ms)),
      instantiate_ms: median(samples.map((sample) => sample.instantiate_ms)),
      total_ms: median(samples.map((sample) => sample.compile_ms + sample.instantiate_ms)),
    }),
  );
}
