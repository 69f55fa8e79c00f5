// A stand-in for OpenAI's key check (GET /openai/v1/models), where the e2e settings point the
// vault's health checks (tests/e2e/vars/api-keys.env): a key with "good" in it is accepted,
// any other refused, as a provider answers a revoked key.
import http from "node:http";

export function startFakeProvider(port) {
  const server = http.createServer((req, res) => {
    const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (req.method === "GET" && req.url === "/openai/v1/models") {
      const good = bearer.includes("good");
      res.writeHead(good ? 200 : 401, { "content-type": "application/json" }).end(good ? '{"data":[]}' : '{"error":"invalid key"}');
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
