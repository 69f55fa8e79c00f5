// A local stand-in for the one part of Stripe's API the reconcile job calls, `GET /v1/events`,
// as Stripe documents it (https://docs.stripe.com/api/events/list): a bearer API key, the
// `delivery_success`, `created[gte]`, `limit` and `starting_after` parameters, newest first,
// `{"object": "list", "data", "has_more", "url"}`, and Stripe's error body for a bad key.
// `pageSize` caps a page below the requested limit, so a few events exercise pagination.
import http from "node:http";

export function startFakeStripe({ port, apiKey, pageSize = 100 }) {
  const fake = { events: [], requests: [], failWith: null };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    fake.requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization });
    const answer = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" || url.pathname !== "/v1/events") {
      return answer(404, { error: { type: "invalid_request_error", message: `Unrecognized request URL (${req.method}: ${url.pathname})` } });
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return answer(401, { error: { type: "invalid_request_error", message: "Invalid API Key provided" } });
    }
    if (fake.failWith) return answer(fake.failWith, { error: { type: "api_error", message: "Something went wrong on Stripe's end." } });
    const deliverySuccess = url.searchParams.get("delivery_success");
    const createdGte = Number(url.searchParams.get("created[gte]") ?? 0);
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 10), 100, pageSize);
    const after = url.searchParams.get("starting_after");
    let matching = fake.events
      .filter(({ event, delivered }) => deliverySuccess === null || String(delivered) === deliverySuccess)
      .filter(({ event }) => event.created >= createdGte)
      .map(({ event }) => event)
      .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
    if (after) {
      const index = matching.findIndex((event) => event.id === after);
      if (index < 0) return answer(400, { error: { type: "invalid_request_error", message: `No such event: '${after}'` } });
      matching = matching.slice(index + 1);
    }
    answer(200, { object: "list", url: "/v1/events", has_more: matching.length > limit, data: matching.slice(0, limit) });
  });
  fake.listening = new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  fake.close = () => new Promise((resolve) => server.close(resolve));
  /** An event Stripe holds; `delivered` says whether every webhook delivery of it succeeded. */
  fake.add = (event, { delivered }) => fake.events.push({ event, delivered });
  return fake;
}
