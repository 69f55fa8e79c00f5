// Reading the Worker's own log: wrangler dev writes each JSON line the Worker emits to the log
// file tools/scripts/test.sh passes as WRANGLER_LOG.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Worker's log lines (parsed JSON) for one request id; waits briefly for wrangler to write them. */
export async function workerLog(requestId) {
  const file = process.env.WRANGLER_LOG;
  assert.ok(file && existsSync(file), "test.sh passes WRANGLER_LOG, the wrangler dev log");
  let lines = [];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    lines = readFileSync(file, "utf8").split("\n").filter((line) => line.startsWith("{") && line.includes(requestId));
    if (lines.some((line) => JSON.parse(line).msg === "request")) break;
    await sleep(100);
  }
  assert.ok(lines.length > 0, `no log line for request ${requestId}`);
  return lines.map((line) => JSON.parse(line));
}
