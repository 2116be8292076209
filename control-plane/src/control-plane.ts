// The control plane as one component: xDS server, module/status HTTP server, the gateway
// (translate + cache) and the config source with its two ways in (the file watcher and the
// admin API's store), started in order and stopped in reverse.
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, resolve } from "node:path";
import { sendJson } from "./admin/http.js";
import { startAdminServer, type AdminServer } from "./admin/server.js";
import { loadGatewayConfig } from "./config/index.js";
import type { BootstrapOptions } from "./envoy/bootstrap.js";
import { machineOverloadLimits, type OverloadLimits } from "./envoy/overload.js";
import { ConfigSource, gatewayTarget } from "./gateway/config-source.js";
import { ConfigFileWatcher } from "./gateway/file-watcher.js";
import { Gateway } from "./gateway/gateway.js";
import type { DebouncerOptions } from "./gateway/debounce.js";
import type { ApplyOutcome } from "./gateway/gateway.js";
import type { LogFn } from "./log.js";
import { createMetrics, type ControlPlaneMetrics } from "./metrics.js";
import { createPluginChecker, type PluginCheckerOptions } from "./plugins/check-config.js";
import { moduleRequestHandler } from "./plugins/module-http.js";
import type { SupervisedRateLimitService } from "./rate-limit-service/supervised.js";
import { isEnvoyNode } from "./xds/types.js";
import { ConfigStore } from "./store/config-store.js";
import { usesSupervisedService } from "./translate/rate-limit-service.js";
import { SnapshotCache } from "./xds/cache.js";
import { XdsServer } from "./xds/server.js";

export interface ControlPlaneOptions {
  configPath: string;
  filtersDir: string;
  log: LogFn;
  xds: { host: string; port: number };
  /** Admin API (+ /status, /metrics, /modules): loopback unless a token is given. */
  http: { host: string; port: number };
  /** Bearer token for the admin API; required to bind beyond loopback. */
  adminToken?: string;
  adminTls?: { certPath: string; keyPath: string };
  debounce?: DebouncerOptions;
  /** How plugin modules are checked at load (the time bound on their start and configure step). */
  pluginCheck?: PluginCheckerOptions;
  /** The config loader (default loadGatewayConfig); every text goes through it exactly once. */
  load?: typeof loadGatewayConfig;
  /**
   * The rate limit service to start (once) when a config has global rate limits and no
   * `rate_limit_service.address`; it takes its config over this control plane's ADS server.
   * Without it such a config is refused.
   */
  rateLimitService?: SupervisedRateLimitService;
}

export class ControlPlane {
  readonly cache = new SnapshotCache();
  readonly xds: XdsServer;
  readonly gateway: Gateway;
  /** The one path a change takes: load, apply, record (`last` is /status `lastAttempt`). */
  readonly source: ConfigSource;
  /** The file's way in: tells the source when the file, or a file it names, changed. */
  readonly watcher: ConfigFileWatcher;
  /** The admin API's way in: edits the file's text and proposes it to the source. */
  readonly store: ConfigStore;
  readonly metrics: ControlPlaneMetrics;
  private admin: AdminServer | undefined;
  xdsPort = 0;
  httpPort = 0;

  constructor(private readonly o: ControlPlaneOptions) {
    this.xds = new XdsServer({ cache: this.cache, log: o.log });
    this.metrics = createMetrics(this.xds, { cache: this.cache });
    this.gateway = new Gateway({ cache: this.cache, log: o.log, supervisedRateLimitService: o.rateLimitService?.grpcAddress });
    const configPath = resolve(o.configPath);
    const filtersDir = resolve(o.filtersDir);
    // One checker for file and API: it caches compiled modules.
    const checkPlugin = createPluginChecker(o.pluginCheck);
    const load = o.load ?? loadGatewayConfig;
    this.source = new ConfigSource({
      path: configPath,
      load: (text) => load(text, { source: configPath, baseDir: dirname(configPath), filtersDir, checkPlugin }),
      ...gatewayTarget(this.gateway),
      log: o.log,
      onOutcome: (r: ApplyOutcome) => {
        if (r.ok) this.metrics.configApplied.inc({ kind: r.kind ?? "full" });
        else this.metrics.configRejected.inc();
        // A config that gains its first global rule live starts the service then.
        if (r.ok && this.xdsPort !== 0)
          this.startRateLimitServiceIfNeeded().catch((e: Error) =>
            o.log("error", "the rate limit service did not start", { error: e.message }),
          );
      },
      onLoaded: (model) => this.watcher.follow(model),
    });
    this.watcher = new ConfigFileWatcher({
      path: configPath,
      log: o.log,
      debounce: o.debounce,
      onChange: (c) => this.source.filesChanged(c),
    });
    this.store = new ConfigStore({ source: this.source, log: o.log });
  }

  /** Loads the config (a bad one fails start-up with its errors), then serves xDS and HTTP. */
  async start(): Promise<void> {
    const first = await this.source.reload();
    if (!first.ok) {
      this.watcher.stop(); // it may follow the modules and certificates of a config that loaded
      throw new Error(`${this.o.configPath} is not valid:\n${first.error}`);
    }
    this.watcher.start();
    try {
      this.admin = await startAdminServer({
        store: this.store,
        fallback: (req, res) => this.serveOwn(req, res),
        host: this.o.http.host,
        port: this.o.http.port,
        token: this.o.adminToken,
        tls: this.o.adminTls,
        onRequest: (method, route, status) => this.metrics.observeAdminRequest(method, route, status),
        log: this.o.log,
      });
      this.httpPort = this.admin.port;
      this.xdsPort = await this.xds.listen(this.o.xds.host, this.o.xds.port);
      await this.startRateLimitServiceIfNeeded();
    } catch (e) {
      await this.stop(); // nothing half-started keeps the process alive
      throw e;
    }
    this.o.log("info", "control plane ready", { xds: `${this.o.xds.host}:${this.xdsPort}`, http: `${this.o.http.host}:${this.httpPort}` });
  }

  async stop(): Promise<void> {
    this.watcher.stop();
    await this.o.rateLimitService?.stop();
    await this.xds.stop();
    await this.admin?.close();
    this.metrics.close();
  }

  /** Starts the supervised rate limit service once the config in force needs it (it then runs until stop()). */
  private async startRateLimitServiceIfNeeded(): Promise<void> {
    const service = this.o.rateLimitService;
    const model = this.gateway.model;
    if (!service || !model || !usesSupervisedService(model)) return;
    const host = this.o.xds.host === "0.0.0.0" ? "127.0.0.1" : this.o.xds.host === "::" ? "::1" : this.o.xds.host;
    await service.start({ host, port: this.xdsPort });
  }

  /** What an Envoy needs to join this control plane (render with renderBootstrap/bootstrapYaml). */
  /** The overload limits are sized for this machine unless given (an Envoy elsewhere needs its own). */
  bootstrapOptions(o: {
    nodeId: string;
    nodeCluster?: string;
    host?: string;
    admin: { address: string; port: number };
    overload?: Partial<OverloadLimits>;
  }): BootstrapOptions {
    const reach = (h: string) => o.host ?? (h === "0.0.0.0" ? "127.0.0.1" : h);
    return {
      nodeId: o.nodeId,
      nodeCluster: o.nodeCluster,
      xds: { host: reach(this.o.xds.host), port: this.xdsPort },
      admin: o.admin,
      overload: machineOverloadLimits(o.overload),
    };
  }

  /**
   * What /status reports: the config in force, the last attempt, every Envoy's sync state, and the
   * rate limit service (supervised, and its own xDS sync state when it subscribes: it is an xDS
   * client but not an Envoy, so it is not among `envoys`).
   */
  status(): object {
    const nodes = this.xds.status();
    const serviceNode = nodes.find((n) => !isEnvoyNode(n));
    const service =
      this.o.rateLimitService || serviceNode
        ? { rateLimitService: { ...(this.o.rateLimitService?.status() ?? {}), ...(serviceNode ? { xds: serviceNode } : {}) } }
        : {};
    return {
      config: { path: this.o.configPath, applied: this.gateway.lastOutcome, lastAttempt: this.source.last, pushes: this.gateway.pushCount },
      envoys: nodes.filter(isEnvoyNode),
      ...service,
    };
  }

  private readonly modulesHandler = moduleRequestHandler({ get: (sha256) => this.gateway.modules.get(sha256) });

  /** What the control plane serves beside the admin API: modules, status, metrics. */
  private serveOwn(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.modulesHandler(req, res)) return true;
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") return false;
    if (path === "/status") {
      sendJson(res, 200, this.status());
      return true;
    }
    if (path === "/metrics") {
      void this.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { "content-type": this.metrics.registry.contentType });
        res.end(text);
      });
      return true;
    }
    return false;
  }
}
