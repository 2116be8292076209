// The admin API's HTTP(S) server: authentication, then the control plane's own read-only
// endpoints (the fallback), then the admin routes; one error shape; a metrics hook per request.
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { LogFn } from "../log.js";
import { bearerTokenChecker, isLoopbackHost } from "./auth.js";
import { DEFAULT_MAX_BODY_BYTES } from "./body.js";
import { adminRoutes, type AdminStore } from "./handlers.js";
import { ApiError, sendError } from "./http.js";
import { buildOpenApiDocument } from "./openapi.js";
import { normalisePath, Router } from "./router.js";

export type { AdminStore } from "./handlers.js";

export interface AdminServerOptions {
  store: AdminStore;
  /** Extra read-only endpoints the control plane already serves (status, metrics, modules, healthz):
   *  called first (after authentication); return true if it handled the request. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  host: string;
  port: number;
  /** Required when `host` is not a loopback address. */
  token?: string;
  tls?: { certPath: string; keyPath: string };
  /** Default 1 MiB; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Metrics hook: `route` is the template ("/routes/{name}"), "unmatched" for unknown paths. */
  onRequest?: (method: string, route: string, status: number) => void;
  log: LogFn;
}

export interface AdminServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** The one endpoint a load balancer or orchestrator may probe without the token. */
const OPEN = { method: "GET", path: "/healthz" };

/** Starts the server; rejects on a non-loopback host without a token, unreadable TLS files, or a port in use. */
export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const token = o.token === "" ? undefined : o.token;
  if (!token && !isLoopbackHost(o.host)) {
    throw new Error(`the admin API may listen on ${o.host} (not a loopback address) only with a token`);
  }
  const tls = o.tls && { cert: await readFile(o.tls.certPath), key: await readFile(o.tls.keyPath) };
  const router = new Router(
    adminRoutes({
      store: o.store,
      maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      openapi: buildOpenApiDocument({ bearer: token !== undefined }),
    }),
  );
  const authorized = token === undefined ? () => true : bearerTokenChecker(token);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "GET";
    const [rawPath = "/", rawQuery = ""] = (req.url ?? "/").split(/\?(.*)/s);
    const path = normalisePath(rawPath);
    const match = router.match(path);
    const route = match?.template ?? "unmatched";
    res.once("finish", () => {
      o.onRequest?.(method, route, res.statusCode);
      if (method !== "GET" && res.statusCode < 400)
        o.log("info", "admin API write", { method, route, name: match?.params.name, status: res.statusCode });
    });
    try {
      const open = method === OPEN.method && path === OPEN.path;
      if (!open && !authorized(req.headers.authorization)) {
        o.log("warn", "admin API request refused: missing or wrong token", { method, route, remote: req.socket.remoteAddress });
        throw new ApiError(401, "unauthorized", "this endpoint needs Authorization: Bearer <token>", [], {
          "www-authenticate": req.headers.authorization
            ? 'Bearer realm="portico-admin", error="invalid_token"'
            : 'Bearer realm="portico-admin"',
        });
      }
      if (o.fallback && (await o.fallback(req, res))) return;
      await router.dispatch(req, res, method, match, new URLSearchParams(rawQuery));
    } catch (e) {
      if (!(e instanceof ApiError))
        o.log("error", "admin API request failed", { method, route, error: e instanceof Error ? e.message : String(e) });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, e instanceof ApiError ? e : new ApiError(500, "internal", "internal error (see the control plane's log)"));
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  // requestTimeout bounds how long a client may take to send a request (a body over the limit is
  // read and dropped, not buffered, until then).
  const server: Server = tls
    ? createHttpsServer({ ...tls, requestTimeout: 60_000 }, listener)
    : createHttpServer({ requestTimeout: 60_000 }, listener);
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const hostInUrl = o.host.includes(":") && !o.host.startsWith("[") ? `[${o.host}]` : o.host;
  const url = `${tls ? "https" : "http"}://${hostInUrl}:${port}`;
  o.log("info", "admin API listening", { url, auth: token ? "bearer token" : "none (loopback only)" });
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
