// Every request of the soak goes through Recorder.send: it sends, times and classifies the
// answer, and keeps one sample per request for the report (tools/soak/stats.mjs).

/** The text wrangler dev's own proxy answers with when it drops a request (tests/e2e/lib.mjs). */
const DEV_SERVER_RESTARTED = "Your worker restarted mid-request";
const SAMPLES_KEPT = 25;

/**
 * What a Worker answer is, as far as the one error shape goes:
 * - "ok": not an error (below 400), or `{"error":{"code","message","request_id"}}` with strings;
 * - "health-degraded": `GET health`'s documented public answer when something it probes fails,
 *   503 `{"status":"degraded"}` (README, the endpoint table): a status report, not an error;
 * - "dev-server": wrangler dev's own proxy answered (no x-request-id, its known text); it sits in
 *   front of the Worker locally and does not exist on Cloudflare;
 * - "outside": anything else, the Worker's answer outside the one shape.
 */
export function classifyWorkerAnswer(url, status, headers, text, body) {
  if (status < 400) return "ok";
  const error = body && typeof body === "object" ? body.error : undefined;
  const inShape =
    error && typeof error === "object" && ["code", "message", "request_id"].every((field) => typeof error[field] === "string" && error[field] !== "");
  if (inShape) return "ok";
  if (status === 503 && new URL(url).pathname.endsWith("/health") && text === '{"status":"degraded"}') return "health-degraded";
  if (!headers.get("x-request-id") && text.startsWith(DEV_SERVER_RESTARTED)) return "dev-server";
  return "outside";
}

function parse(text, headers) {
  if (!(headers.get("content-type") ?? "").includes("json") || !text) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class Recorder {
  constructor({ timeoutMs = 15_000 } = {}) {
    this.timeoutMs = timeoutMs;
    /** One per request: { t: start (epoch ms), ms: latency, label, status, worker, shape, code }. */
    this.samples = [];
    /** A few answers outside the one shape (and 500s), to show what they were. */
    this.outside = [];
    this.serverErrors = [];
    this.inFlight = 0;
  }

  /**
   * Sends one request. `label` names the endpoint ("PUT api-keys/{service}"); `worker` says the
   * Worker answers it (its non-2xx answers must have the one error shape). The status is a
   * number, or "timeout" / "connection: <code>" when no answer came.
   */
  async send(label, url, init = {}, { worker = true } = {}) {
    const started = Date.now();
    const clock = performance.now();
    this.inFlight += 1;
    let status;
    let headers = new Headers();
    let body;
    let shape = null;
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
      const text = await response.text();
      status = response.status;
      headers = response.headers;
      body = parse(text, headers);
      if (worker) shape = classifyWorkerAnswer(url, status, headers, text, body);
      if (shape === "outside" && this.outside.length < SAMPLES_KEPT) this.outside.push(sampleOf(label, status, headers, text));
      if (worker && status >= 500 && status !== 503 && this.serverErrors.length < SAMPLES_KEPT) {
        this.serverErrors.push(sampleOf(label, status, headers, text));
      }
    } catch (error) {
      status = error?.name === "TimeoutError" ? "timeout" : `connection: ${error?.cause?.code ?? error?.name ?? "error"}`;
    } finally {
      this.inFlight -= 1;
    }
    this.samples.push({ t: started, ms: performance.now() - clock, label, status, worker, shape, code: errorCode(body) });
    return { status, headers, body, ok: typeof status === "number" && status >= 200 && status < 300 };
  }
}

/** What an error answer says went wrong: ours `error.code` (and `details.reason`), PostgREST's `code`, Auth's `error_code`. */
function errorCode(body) {
  if (!body || typeof body !== "object") return undefined;
  const ours = body.error && typeof body.error === "object" ? body.error : null;
  if (ours) return ours.details?.reason ? `${ours.code}/${ours.details.reason}` : ours.code;
  return body.error_code ?? (typeof body.code === "string" ? body.code : undefined);
}

function sampleOf(label, status, headers, text) {
  return {
    label,
    status,
    content_type: headers.get("content-type"),
    request_id: headers.get("x-request-id"),
    body: text.slice(0, 300),
  };
}
