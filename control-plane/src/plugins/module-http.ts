// Serves the modules in force at GET /modules/<sha256>.wasm: Envoys get modules inline over xDS,
// this is for operators (download exactly what runs) and for a `code.remote` source should Envoy
// ever fetch those on ECDS updates. A module's name is its content hash, so a response never
// changes and may be cached forever.
import type { IncomingMessage, ServerResponse } from "node:http";
import { etagMatches } from "../admin/http.js";

/** Where the handler finds a module's bytes by (lower-case hex) sha256. */
export interface ModuleSource {
  get(sha256: string): Uint8Array | undefined;
}

const PREFIX = "/modules/";
const MODULE_PATH = /^\/modules\/([0-9a-f]{64})\.wasm$/;

/** The path a module is served under (append to the module server's base URL). */
export function moduleUrlPath(sha256: string): string {
  return `${PREFIX}${sha256.toLowerCase()}.wasm`;
}

/**
 * A request handler for a node:http server that answers everything under /modules/ and returns
 * true; for any other path it does nothing and returns false, so it can share a server.
 */
export function moduleRequestHandler(store: ModuleSource): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    if (!path.startsWith(PREFIX)) return false;
    const sha256 = MODULE_PATH.exec(path)?.[1];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end(`${req.method ?? "?"} is not allowed here; modules are fetched with GET\n`);
      return true;
    }
    const bytes = sha256 === undefined ? undefined : store.get(sha256);
    if (sha256 === undefined || bytes === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(
        sha256 === undefined
          ? `not a module path: expected ${PREFIX}<sha256 as 64 lower-case hex digits>.wasm\n`
          : `no module with sha256 ${sha256}\n`,
      );
      return true;
    }
    const etag = `"${sha256}"`;
    const headers = {
      etag,
      // Content-addressed: the bytes behind this URL can never change.
      "cache-control": "public, max-age=31536000, immutable",
    };
    if (etagMatches(req.headers["if-none-match"], etag)) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, { ...headers, "content-type": "application/wasm", "content-length": String(bytes.length) });
    res.end(req.method === "HEAD" ? undefined : bytes);
    return true;
  };
}
