// The echo upstream, in plain JavaScript so that both the TypeScript tests
// (test/support/upstream.ts) and the standalone bin/demo-upstream.mjs run the
// very same server. Types: echo-server.d.mts.
//
// Every request is answered 200 with JSON
//   { method, path, headers: [[name, value], ...], body }
// where headers are exactly as received (raw order, duplicates, original case).
// Request headers that steer the response (so tests can exercise the
// response path of a filter):
//   x-echo-status: <code>                         response status
//   x-echo-set-response-headers: [["n","v"],...]  extra response headers, in order
import { createServer } from "node:http";

const NO_BODY_STATUS = new Set([204, 304]);
// Framing is the server's business; letting a client inject these would only
// produce malformed responses.
const RESERVED = new Set(["content-length", "transfer-encoding", "connection"]);

function pairs(raw) {
  const out = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

function fail(res, message) {
  const payload = JSON.stringify({ error: message });
  res.writeHead(400, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

function parseStatus(value) {
  if (value === undefined) return 200;
  const n = Number(value);
  return Number.isInteger(n) && n >= 200 && n <= 599 ? n : null;
}

function parseExtraHeaders(value) {
  if (value === undefined) return [];
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string");
  return ok ? parsed.filter(([n]) => !RESERVED.has(n.toLowerCase())) : null;
}

/** @param {{ onRequest?: (r: object) => void }} [options] */
export function createEchoServer(options = {}) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const record = {
        method: req.method,
        path: req.url,
        headers: pairs(req.rawHeaders),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      options.onRequest?.(record);

      const status = parseStatus(req.headers["x-echo-status"]);
      if (status === null) return fail(res, "x-echo-status must be one integer 200-599");
      const extra = parseExtraHeaders(req.headers["x-echo-set-response-headers"]);
      if (extra === null) return fail(res, "x-echo-set-response-headers must be a JSON array of [name, value] string pairs");

      // writeHead with a flat array keeps the order and duplicates of `extra`.
      const head = [];
      const withBody = !NO_BODY_STATUS.has(status) && req.method !== "HEAD";
      const payload = JSON.stringify(record);
      if (!extra.some(([n]) => n.toLowerCase() === "content-type")) head.push("content-type", "application/json");
      if (withBody) head.push("content-length", String(Buffer.byteLength(payload)));
      for (const [n, v] of extra) head.push(n, v);
      res.writeHead(status, head);
      res.end(withBody ? payload : undefined);
    });
  });
  // Envoy keeps upstream connections open and reuses them. Node's default 5s
  // keep-alive timeout would close idle ones under it, turning an unlucky
  // request into a 503 "upstream connect error / connection reset". Envoy's
  // own idle timeout (1h) then always expires first.
  server.keepAliveTimeout = 2 * 60 * 60 * 1000;
  server.headersTimeout = server.keepAliveTimeout + 1000;
  server.requestTimeout = 0;
  return server;
}

/**
 * Starts an echo server; port 0 (the default) picks a free one.
 * @param {{ host?: string, port?: number, onRequest?: (r: object) => void }} [options]
 */
export function startEchoServer(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const server = createEchoServer(options);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      const { port } = server.address();
      resolve({
        server,
        port,
        url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections(); // idle keep-alive sockets would hold close() open
          }),
      });
    });
  });
}
