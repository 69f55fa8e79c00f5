// The OpenAPI document (src/openapi.json) as a checker of real answers: which operation a
// request is, and what is wrong with an answer to it (an undocumented status, a missing required
// header, another content type, a body its JSON Schema refuses). Schemas are OpenAPI 3.1 Schema
// Objects, i.e. JSON Schema draft 2020-12, checked with Ajv.
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

export const DOCUMENT_FILE = new URL("../../src/openapi.json", import.meta.url);
const DOCUMENT_ID = "openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export function loadDocument() {
  return JSON.parse(readFileSync(DOCUMENT_FILE, "utf8"));
}

/** Every operation: { method: "GET", template: "/functions/v1/...", operationId }. */
export function operations(document) {
  return Object.entries(document.paths).flatMap(([template, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ method: method.toUpperCase(), template, operationId: item[method].operationId })),
  );
}

function templateRegExp(template) {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${pattern}/?$`);
}

/** The path template a concrete path matches; a template without parameters wins (OpenAPI 3.1, Paths Object). */
export function templateOf(document, path) {
  const templates = Object.keys(document.paths);
  const literal = templates.find((template) => !template.includes("{") && templateRegExp(template).test(path));
  return literal ?? templates.find((template) => templateRegExp(template).test(path));
}

function pointerEscape(segment) {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Follows a local `$ref` (one level at a time), keeping the JSON pointer of where it lands. */
function resolve(document, object, pointer) {
  let current = object;
  let at = pointer;
  while (current && current.$ref) {
    if (!current.$ref.startsWith("#/")) throw new Error(`only local $refs are used, found ${current.$ref}`);
    at = current.$ref.slice(1);
    current = at
      .split("/")
      .slice(1)
      .reduce((node, segment) => node?.[segment.replaceAll("~1", "/").replaceAll("~0", "~")], document);
  }
  return { object: current, pointer: at };
}

export class Contract {
  constructor(document = loadDocument()) {
    this.document = document;
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(document, DOCUMENT_ID);
    this.validators = new Map();
  }

  validator(pointer) {
    if (!this.validators.has(pointer)) this.validators.set(pointer, this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` }));
    return this.validators.get(pointer);
  }

  /** The operation object for `method` on a concrete `path` (query string allowed), or undefined. */
  operation(method, path) {
    const template = templateOf(this.document, path.split("?")[0]);
    const operation = template && this.document.paths[template][method.toLowerCase()];
    return operation ? { template, operation } : undefined;
  }

  /**
   * What is wrong with an answer: a list of sentences, empty when the answer is what the document
   * says. `answer` is { status, headers (a Headers), body (parsed JSON, text, or "" for none) }.
   */
  problems(method, path, answer) {
    const found = this.operation(method, path);
    if (!found) return [`${method} ${path} is not in the document`];
    const { template, operation } = found;
    const name = `${method} ${template} -> ${answer.status}`;
    const base = `/paths/${pointerEscape(template)}/${method.toLowerCase()}/responses`;
    const key = [String(answer.status), `${String(answer.status)[0]}XX`, "default"].find((candidate) => operation.responses[candidate]);
    if (!key) return [`${name}: status not documented (documented: ${Object.keys(operation.responses).join(", ")})`];
    const { object: response, pointer } = resolve(this.document, operation.responses[key], `${base}/${pointerEscape(key)}`);
    const problems = [];
    for (const [header, declared] of Object.entries(response.headers ?? {})) {
      const { object: spec, pointer: headerPointer } = resolve(this.document, declared, `${pointer}/headers/${pointerEscape(header)}`);
      const value = answer.headers.get(header);
      if (value === null) {
        if (spec.required) problems.push(`${name}: required header ${header} is missing`);
        continue;
      }
      const validate = this.validator(`${headerPointer}/schema`);
      if (!validate(value)) problems.push(`${name}: header ${header}: ${JSON.stringify(value)} ${this.ajv.errorsText(validate.errors)}`);
    }
    const content = response.content ?? {};
    const mediaTypes = Object.keys(content);
    const hasBody = !(answer.body === "" || answer.body === undefined);
    if (mediaTypes.length === 0) {
      if (hasBody) problems.push(`${name}: no body is documented, got ${JSON.stringify(answer.body).slice(0, 200)}`);
      return problems;
    }
    const contentType = (answer.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!mediaTypes.includes(contentType)) {
      problems.push(`${name}: content-type ${JSON.stringify(contentType)}, documented ${mediaTypes.join(", ")}`);
      return problems;
    }
    const validate = this.validator(`${pointer}/content/${pointerEscape(contentType)}/schema`);
    if (!validate(answer.body)) {
      problems.push(`${name}: body ${JSON.stringify(answer.body).slice(0, 300)}: ${this.ajv.errorsText(validate.errors, { separator: "; " })}`);
    }
    return problems;
  }
}

const SECURITY_WORDS = {
  userJwt: "user JWT",
  serviceBearer: "privileged Bearer",
  secretKey: "secret key (apikey)",
  cleanupSecret: "x-cleanup-secret",
  rateLimitCheckSecret: "x-api-key",
};

/** README's endpoint list, rendered from the document (tests/contract/readme.mjs writes it). */
export function endpointTable(document) {
  const rows = operations(document).map(({ method, template }) => {
    const operation = document.paths[template][method.toLowerCase()];
    const who = (operation.security ?? [])
      .map((requirement) => Object.keys(requirement).map((name) => SECURITY_WORDS[name] ?? name).join(" + ") || "anyone")
      .join(", ");
    return `| \`${method} ${template.slice("/functions/v1/".length)}\` | ${operation.summary} | ${who} | ${Object.keys(operation.responses).join(" ")} |`;
  });
  return ["| operation | what | credentials | answers |", "|---|---|---|---|", ...rows].join("\n");
}

export const README_MARKERS = ["<!-- openapi:start -->", "<!-- openapi:end -->"];
