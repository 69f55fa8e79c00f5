// A JWKS endpoint a test controls, and Supabase-shaped access tokens signed with keys it
// publishes (keys generated at test time with jose). The endpoint logs every request, and can
// answer with a key set, hang, answer an endless-looking body, or fail with a status.
import http from "node:http";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

export const JWKS_PATH = "/auth/v1/.well-known/jwks.json";

/** A signing key: the private half signs tokens, the public JWK goes into the served set. */
export async function signingKey(alg, kid) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig", key_ops: ["verify"] };
  return { alg, kid, privateKey, publicKey, jwk };
}

/** A Supabase-shaped access token for `user`, signed with `key` (or anything jose signs with). */
export async function signed(user, { key, alg = key?.alg, kid = key?.kid, secret, claims = {}, issuedAt, expiresAt, notBefore } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: "authenticated", aud: "authenticated", email: user.email, ...claims })
    .setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) })
    .setSubject(user.id)
    .setIssuedAt(issuedAt ?? now)
    .setExpirationTime(expiresAt ?? now + 600);
  if (notBefore !== undefined) jwt.setNotBefore(notBefore);
  return jwt.sign(secret ?? key.privateKey);
}

/**
 * The endpoint. `serve(keys)` sets the key set it answers with; `hang()`, `huge(bytes)` and
 * `fail(status)` change how it answers until the next `serve`. `fetches` holds the time of every
 * request.
 */
export function keyServer(port) {
  const fetches = [];
  const sockets = new Set();
  let keys = [];
  let mode = { kind: "serve" };
  const server = http.createServer((req, res) => {
    fetches.push(Date.now());
    if (req.method !== "GET" || req.url !== JWKS_PATH) {
      res.writeHead(404).end();
      return;
    }
    switch (mode.kind) {
      case "hang":
        return; // Headers never come; the socket stays open until the client gives up.
      case "fail":
        res.writeHead(mode.status, { "content-type": "application/json" }).end('{"message":"unavailable"}');
        return;
      case "huge": {
        // Chunked, no Content-Length: only counting what arrives can stop the reader.
        res.writeHead(200, { "content-type": "application/json" });
        res.on("error", () => {});
        const chunk = Buffer.alloc(64 * 1024, " ");
        let sent = 0;
        const pump = () => {
          while (sent < mode.bytes) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end("{}");
        };
        res.write('{"keys":[],"padding":"');
        pump();
        return;
      }
      default:
        res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=600" });
        res.end(JSON.stringify({ keys: keys.map((key) => key.jwk) }));
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return {
    url: `http://127.0.0.1:${port}${JWKS_PATH}`,
    fetches,
    serve(next) {
      keys = next;
      mode = { kind: "serve" };
    },
    hang() {
      mode = { kind: "hang" };
    },
    huge(bytes) {
      mode = { kind: "huge", bytes };
    },
    fail(status) {
      mode = { kind: "fail", status };
    },
    /** Sockets still open (a hung request the client has not closed yet). */
    get openSockets() {
      return sockets.size;
    },
    get lastFetchAt() {
      return fetches.at(-1);
    },
    start: () => new Promise((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve)),
    stop: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function base64url(value) {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
