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
//
// With the `demoJwt` option (bin/demo-upstream.mjs turns it on), the server also plays a tiny
// identity provider for the jwt-auth demo: it makes an RSA key pair at startup and answers
//   GET /.well-known/jwks.json   its public key as a JWKS (kid "demo-rs256", alg RS256)
//   GET /demo-token              a fresh RS256 token: iss https://demo.portico.local,
//                                aud portico-demo, sub demo-user, valid for one hour
// Every other request is echoed as above.
import { createSign, generateKeyPairSync, randomUUID } from "node:crypto";
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

export const DEMO_JWT = Object.freeze({
  issuer: "https://demo.portico.local",
  audience: "portico-demo",
  subject: "demo-user",
  kid: "demo-rs256",
  lifetimeSeconds: 3600,
  jwksPath: "/.well-known/jwks.json",
  tokenPath: "/demo-token",
});

const b64url = (data) => Buffer.from(data).toString("base64url");

/** A demo identity provider: an RSA key pair, its JWKS and a token minter (node:crypto only). */
export function createDemoIssuer() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid: DEMO_JWT.kid, alg: "RS256", use: "sig" }] };
  return {
    jwks,
    mint(claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: DEMO_JWT.kid }));
      const payload = b64url(
        JSON.stringify({
          iss: DEMO_JWT.issuer,
          aud: DEMO_JWT.audience,
          sub: DEMO_JWT.subject,
          iat: now,
          nbf: now,
          exp: now + DEMO_JWT.lifetimeSeconds,
          jti: randomUUID(),
          ...claims,
        }),
      );
      const signature = createSign("sha256").update(`${header}.${payload}`).sign(privateKey);
      return `${header}.${payload}.${b64url(signature)}`;
    },
  };
}

function demoJwtRoute(issuer, req, res) {
  const path = (req.url ?? "").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  let body;
  let type;
  if (path === DEMO_JWT.jwksPath) [body, type] = [JSON.stringify(issuer.jwks), "application/json"];
  else if (path === DEMO_JWT.tokenPath) [body, type] = [`${issuer.mint()}\n`, "text/plain"];
  else return false;
  res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}

/** @param {{ onRequest?: (r: object) => void, demoJwt?: boolean }} [options] */
export function createEchoServer(options = {}) {
  const issuer = options.demoJwt ? createDemoIssuer() : undefined;
  const server = createServer((req, res) => {
    if (issuer && demoJwtRoute(issuer, req, res)) {
      options.onRequest?.({ method: req.method, path: req.url, headers: pairs(req.rawHeaders), body: "" });
      req.resume();
      return;
    }
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
 * @param {{ host?: string, port?: number, onRequest?: (r: object) => void, demoJwt?: boolean }} [options]
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
