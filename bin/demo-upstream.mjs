#!/usr/bin/env node
// Demo upstream for `make run` and manual experiments: the echo server used by
// the e2e tests (test/support/echo-server.mjs), as a standalone program.
//
// Usage: node bin/demo-upstream.mjs [--port N] [--host H] [--quiet]
//   port: --port, else $PORT, else 8080; host: --host, else $HOST, else 127.0.0.1
//
// Answers every request 200 with JSON {method, path, headers, body}; the
// request headers x-echo-status and x-echo-set-response-headers
// ('[["name","value"],...]') set the response status and extra headers.
//
// It is also the demo identity provider of envoy-configs/jwt-auth.yaml: an RSA key pair made at
// startup, its public JWKS at GET /.well-known/jwks.json, and a fresh RS256 token for issuer
// https://demo.portico.local, audience portico-demo, subject demo-user (valid 1h) at
// GET /demo-token.
import { parseArgs } from "node:util";
import { DEMO_JWT, startEchoServer } from "../test/support/echo-server.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: node bin/demo-upstream.mjs [--port N] [--host H] [--quiet]");
  process.exit(0);
}
const port = Number(values.port ?? process.env.PORT ?? 8080);
const host = values.host ?? process.env.HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo-upstream: invalid port ${values.port ?? process.env.PORT}`);
  process.exit(2);
}

let srv;
try {
  srv = await startEchoServer({
    host,
    port,
    demoJwt: true,
    onRequest: values.quiet ? undefined : (r) => console.log(`demo-upstream: ${r.method} ${r.path}`),
  });
} catch (err) {
  console.error(`demo-upstream: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
}
console.log(`demo-upstream: listening on ${srv.url}`);
console.log(`demo-upstream: demo JWKS at ${srv.url}${DEMO_JWT.jwksPath}, demo tokens at ${srv.url}${DEMO_JWT.tokenPath}`);

const stop = async (signal) => {
  await srv.close();
  console.log(`demo-upstream: stopped (${signal})`);
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
