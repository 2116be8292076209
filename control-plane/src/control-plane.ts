// The control plane as one component: xDS server, module/status HTTP server, the gateway
// (translate + cache) and the file source, started in order and stopped in reverse.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { BootstrapOptions } from "./envoy/bootstrap.js";
import { FileConfigSource } from "./gateway/file-source.js";
import { Gateway } from "./gateway/gateway.js";
import type { DebouncerOptions } from "./gateway/debounce.js";
import type { LogFn } from "./log.js";
import { createMetrics, type ControlPlaneMetrics } from "./metrics.js";
import { createPluginChecker } from "./plugins/check-config.js";
import { moduleRequestHandler } from "./plugins/module-http.js";
import { ModuleStore } from "./plugins/modules.js";
import { SnapshotCache } from "./xds/cache.js";
import { XdsServer } from "./xds/server.js";


export interface ControlPlaneOptions {
  configPath: string;
  filtersDir: string;
  log: LogFn;
  xds: { host: string; port: number };
  http: { host: string; port: number };
  debounce?: DebouncerOptions;
}

export class ControlPlane {
  readonly cache = new SnapshotCache();
  readonly modules = new ModuleStore();
  readonly xds: XdsServer;
  readonly gateway: Gateway;
  readonly source: FileConfigSource;
  readonly metrics: ControlPlaneMetrics;
  private http: Server | undefined;
  xdsPort = 0;
  httpPort = 0;

  constructor(private readonly o: ControlPlaneOptions) {
    this.xds = new XdsServer({ cache: this.cache, log: o.log });
    this.metrics = createMetrics(this.xds);
    this.gateway = new Gateway({
      cache: this.cache, modules: this.modules, log: o.log,
    });
    this.source = new FileConfigSource({
      path: resolve(o.configPath), filtersDir: resolve(o.filtersDir), checkPlugin: createPluginChecker(),
      gateway: this.gateway, log: o.log, debounce: o.debounce,
      onOutcome: (r) => (r.ok ? this.metrics.configApplied.inc({ kind: r.kind ?? "full" }) : this.metrics.configRejected.inc()),
    });
  }

  /** Loads the config (a bad one fails start-up with its errors), then serves xDS and HTTP. */
  async start(): Promise<void> {
    const first = await this.source.start();
    if (!first.ok) {
      this.source.stop();
      throw new Error(`${this.o.configPath} is not valid:\n${first.error}`);
    }
    this.httpPort = await this.listenHttp();
    this.xdsPort = await this.xds.listen(this.o.xds.host, this.o.xds.port);
    this.o.log("info", "control plane ready", { xds: `${this.o.xds.host}:${this.xdsPort}`, http: `${this.o.http.host}:${this.httpPort}` });
  }

  async stop(): Promise<void> {
    this.source.stop();
    this.gateway.stop();
    await this.xds.stop();
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    this.http?.closeAllConnections();
  }

  /** What an Envoy needs to join this control plane (render with renderBootstrap/bootstrapYaml). */
  bootstrapOptions(o: { nodeId: string; nodeCluster?: string; host?: string; admin: { address: string; port: number } }): BootstrapOptions {
    const reach = (h: string) => o.host ?? (h === "0.0.0.0" ? "127.0.0.1" : h);
    return {
      nodeId: o.nodeId, nodeCluster: o.nodeCluster,
      xds: { host: reach(this.o.xds.host), port: this.xdsPort },
      admin: o.admin,
    };
  }

  /** What /status reports: the config in force, the last attempt, and every Envoy's sync state. */
  status(): object {
    return {
      config: { path: this.o.configPath, applied: this.gateway.lastOutcome, lastAttempt: this.source.last, pushes: this.gateway.pushCount },
      envoys: this.xds.status(),
    };
  }

  private listenHttp(): Promise<number> {
    const modules = moduleRequestHandler(this.modules);
    this.http = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (modules(req, res)) return;
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/status") return json(res, 200, this.status());
      if (req.method === "GET" && path === "/healthz") return json(res, 200, { ok: true });
      if (req.method === "GET" && path === "/metrics") {
        void this.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { "content-type": this.metrics.registry.contentType });
          res.end(text);
        });
        return;
      }
      json(res, 404, { error: "not_found" });
    });
    return new Promise((r, reject) => {
      this.http!.once("error", reject);
      this.http!.listen(this.o.http.port, this.o.http.host, () => r((this.http!.address() as AddressInfo).port));
    });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
