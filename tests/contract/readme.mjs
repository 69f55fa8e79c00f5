// Writes README's endpoint list (between <!-- openapi:start --> and <!-- openapi:end -->) from
// src/openapi.json: `node tests/contract/readme.mjs`. tests/e2e/openapi.test.mjs fails while it is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { endpointTable, loadDocument, README_MARKERS } from "./contract.mjs";

const readme = new URL("../../README.md", import.meta.url);
const [start, end] = README_MARKERS;
const text = readFileSync(readme, "utf8");
if (!text.includes(start) || !text.includes(end)) throw new Error(`README.md has no ${start} ... ${end} block`);
const block = `${start}\n${endpointTable(loadDocument())}\n${end}`;
writeFileSync(readme, text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length));
