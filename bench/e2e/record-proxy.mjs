// Records the PostgREST calls the Worker makes: a pass-through HTTP proxy in front of the
// gateway that appends every request (method, path, headers, body) and the gateway's status as
// one JSON line to a log.
// `npm run bench` points wrangler dev at it only while prepare.mjs calls each endpoint, so the
// direct-to-gateway side of the benchmark replays exactly the calls the functions made; the
// measured runs then go straight to the gateway.
//   node record-proxy.mjs <listen-port> <gateway-origin> <log-file>
import http from "node:http";
import { appendFileSync } from "node:fs";

const [port, gatewayOrigin, logFile] = process.argv.slice(2);
if (!logFile) throw new Error("usage: node record-proxy.mjs <listen-port> <gateway-origin> <log-file>");
const gateway = new URL(gatewayOrigin);

http
  .createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const record = (status) =>
        appendFileSync(
          logFile,
          JSON.stringify({ method: request.method, path: request.url, headers: request.headers, body: body.toString("utf8"), status }) + "\n",
        );
      const upstream = http.request(
        { host: gateway.hostname, port: gateway.port, method: request.method, path: request.url, headers: { ...request.headers, host: gateway.host } },
        (answer) => {
          record(answer.statusCode);
          response.writeHead(answer.statusCode, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on("error", (error) => {
        record(502);
        response.writeHead(502, { "content-type": "text/plain" });
        response.end(`record-proxy: ${error.message}`);
      });
      upstream.end(body);
    });
  })
  .listen(Number(port), "127.0.0.1");
