// `portico`: run the gateway (control plane + a supervised local Envoy), validate a config,
// or print the bootstrap a remote Envoy needs to join.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatConfigErrors, loadGatewayFile } from "../config/index.js";
import { ControlPlane } from "../control-plane.js";
import { bootstrapYaml } from "../envoy/bootstrap.js";
import { MIN_HEAP_BYTES, machineOverloadLimits, type OverloadLimits } from "../envoy/overload.js";
import { parseByteSize } from "./byte-size.js";
import { EnvoySupervisor } from "../envoy/supervisor.js";
import { statusCommand } from "./status.js";
import { locateEnvoyTools, locateTool } from "../envoy/tools.js";
import { writeRateLimitConfigDir } from "../rate-limit-service/config-dir.js";
import { parseRedisUrl, type RedisTarget } from "../rate-limit-service/redis-url.js";
import { freeLoopbackPorts, SupervisedRateLimitService } from "../rate-limit-service/supervised.js";
import { rateLimitConfigYaml, rateLimitServiceConfigs } from "../translate/rate-limit-service.js";
import { consoleLog, type LogFn, type LogLevel } from "../log.js";
import type { GatewayModel } from "../model/types.js";
import { createPluginChecker, type PluginCheckerOptions } from "../plugins/check-config.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DEFAULT_FILTERS_DIR = join(REPO_ROOT, "dist/filters");

const USAGE = `usage: portico <command> [options]

commands:
  run        -c gateway.yaml   control plane + a supervised local Envoy (func-e); follows the file
  validate   -c gateway.yaml   check a config (schema, references, each plugin's own config check)
  ratelimit-config -c gateway.yaml [--out DIR]
                               the rate limit service config (envoyproxy/ratelimit YAML, one domain
                               per rate-limit plugin with global rules) for a service you run
                               yourself (rate_limit_service.address); --out writes one file per
                               domain into DIR (atomically; other portico.*.yaml files there removed)
  bootstrap  --node NAME       print the Envoy bootstrap for a remote Envoy joining the control plane
  status                       table of connected Envoys: versions ACKed per type, last NACK
                               (--http HOST:PORT or --url URL of the control plane; --token; --json)

options:
  -c, --config PATH        gateway config (default ./gateway.yaml)
  --filters DIR            built suite filters and suite.wasm (default <repo>/dist/filters)
  --xds HOST:PORT          gRPC xDS listen address (run; default 127.0.0.1:18000); address to reach (bootstrap)
  --http HOST:PORT         admin API + /status + /metrics (run; default 127.0.0.1:18001). Beyond
                           loopback it needs a token: --admin-token or $PORTICO_ADMIN_TOKEN
  --admin-tls-cert FILE    serve the admin API over HTTPS with this certificate (and --admin-tls-key)
  --admin-tls-key FILE
  --node NAME              Envoy node id (default: portico-local for run)
  --admin HOST:PORT        Envoy admin address (default 127.0.0.1:9901)
  --concurrency N          Envoy worker threads (run; default 2)
  --no-envoy               run: control plane only (Envoys join with 'portico bootstrap')
  --redis URL              run: the Redis (redis://[user:password@]host:port, rediss:// for TLS)
                           the supervised rate limit service counts global limits in; without it
                           a development redis-server is started (counters not persistent)
  --log-json               JSON log lines
  --max-heap SIZE          run, bootstrap: Envoy's heap limit (overload manager: frees memory at 95%,
                           answers 503 at 98%), in bytes or with a unit (512MiB, 2GiB, 1.5G);
                           default 3/4 of this machine's memory (cgroup limit if set), at least 64MiB
  --max-downstream-connections N  run, bootstrap: client connections Envoy accepts in all; default
                           4/5 of this process's open-file limit, 256 to 1000000. For a remote Envoy
                           (bootstrap), give its machine's values: the defaults are this machine's
  --plugin-check-timeout MS  run, validate: bound on each plugin module's start and configure step
                           when the config is checked (default 2000); a module past it is refused
`;

function hostPort(value: string | undefined, fallback: string, what: string): { host: string; port: number } {
  const v = value ?? fallback;
  const i = v.lastIndexOf(":");
  const host = v.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${what}: expected HOST:PORT, got "${v}"`);
  return { host, port };
}

function positiveInt(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what}: expected a whole number of milliseconds, got "${value}"`);
  return n;
}

/** The overload limits given on the command line; the others are sized for the machine. */
function overloadFlags(heap: string | undefined, connections: string | undefined): Partial<OverloadLimits> {
  const out: Partial<OverloadLimits> = {};
  if (heap !== undefined) {
    const bytes = parseByteSize(heap);
    if (bytes === null)
      throw new UsageError(`--max-heap: expected a size in bytes or with a unit (536870912, 512MiB, 2GiB), got "${heap}"`);
    if (bytes < MIN_HEAP_BYTES) throw new UsageError(`--max-heap: must be at least 64MiB (${MIN_HEAP_BYTES} bytes), got "${heap}"`);
    out.maxHeapBytes = bytes;
  }
  if (connections !== undefined) {
    const n = Number(connections);
    if (!/^\d+$/.test(connections) || !Number.isSafeInteger(n) || n < 1) {
      throw new UsageError(`--max-downstream-connections: expected a whole number of connections (at least 1), got "${connections}"`);
    }
    out.maxDownstreamConnections = n;
  }
  return out;
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      filters: { type: "string" },
      xds: { type: "string" },
      http: { type: "string" },
      node: { type: "string" },
      admin: { type: "string" },
      concurrency: { type: "string" },
      "admin-token": { type: "string" },
      "admin-tls-cert": { type: "string" },
      "admin-tls-key": { type: "string" },
      "no-envoy": { type: "boolean", default: false },
      redis: { type: "string" },
      out: { type: "string" },
      "log-json": { type: "boolean", default: false },
      "plugin-check-timeout": { type: "string" },
      "max-heap": { type: "string" },
      "max-downstream-connections": { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const log = consoleLog({ json: values["log-json"], level: (process.env.PORTICO_LOG_LEVEL as LogLevel | undefined) ?? "info" });
  const configPath = resolve(values.config ?? "gateway.yaml");
  const filtersDir = resolve(values.filters ?? DEFAULT_FILTERS_DIR);
  const pluginCheck = { timeoutMs: positiveInt(values["plugin-check-timeout"], 2000, "--plugin-check-timeout") };
  switch (command) {
    case "validate":
      return validate(configPath, filtersDir, pluginCheck);
    case "ratelimit-config":
      return rateLimitConfig(configPath, filtersDir, pluginCheck, values.out);
    case "status":
      return statusCommand({
        url: values.url ?? values.http ?? "127.0.0.1:18001",
        token: values.token ?? (process.env.PORTICO_ADMIN_TOKEN || undefined),
        json: values.json,
      });
    case "bootstrap": {
      if (!values.node) throw new UsageError("bootstrap: --node NAME is required");
      process.stdout.write(
        bootstrapYaml({
          nodeId: values.node,
          xds: hostPort(values.xds, "127.0.0.1:18000", "--xds"),
          admin: toAdmin(hostPort(values.admin, "127.0.0.1:9901", "--admin")),
          overload: machineOverloadLimits(overloadFlags(values["max-heap"], values["max-downstream-connections"])),
        }),
      );
      return 0;
    }
    case "run":
      return run({
        configPath,
        filtersDir,
        log,
        xds: hostPort(values.xds, "127.0.0.1:18000", "--xds"),
        http: hostPort(values.http, "127.0.0.1:18001", "--http"),
        admin: toAdmin(hostPort(values.admin, "127.0.0.1:9901", "--admin")),
        nodeId: values.node ?? "portico-local",
        concurrency: Number(values.concurrency ?? 2),
        envoy: !values["no-envoy"],
        adminToken: values["admin-token"] ?? (process.env.PORTICO_ADMIN_TOKEN || undefined),
        adminTls: tlsOption(values["admin-tls-cert"], values["admin-tls-key"]),
        pluginCheck,
        overload: overloadFlags(values["max-heap"], values["max-downstream-connections"]),
        redis: redisFlag(values.redis),
      });
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

function tlsOption(cert: string | undefined, key: string | undefined): { certPath: string; keyPath: string } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new UsageError("--admin-tls-cert and --admin-tls-key go together");
  return { certPath: resolve(cert), keyPath: resolve(key) };
}

const toAdmin = (a: { host: string; port: number }) => ({ address: a.host, port: a.port });

function redisFlag(value: string | undefined): RedisTarget | undefined {
  if (value === undefined) return undefined;
  const parsed = parseRedisUrl(value);
  if (typeof parsed === "string") throw new UsageError(parsed);
  return parsed;
}

async function rateLimitConfig(
  configPath: string,
  filtersDir: string,
  pluginCheck: PluginCheckerOptions,
  out: string | undefined,
): Promise<number> {
  const r = await loadGatewayFile(configPath, { filtersDir, checkPlugin: createPluginChecker(pluginCheck) });
  if (!r.ok) {
    process.stderr.write(`${formatConfigErrors(r.errors)}\n${r.errors.length} error(s)\n`);
    return 1;
  }
  const domains = rateLimitServiceConfigs(r.model);
  if (out !== undefined) {
    const written = await writeRateLimitConfigDir(resolve(out), domains);
    process.stderr.write(`${written.length} domain(s) written to ${resolve(out)}: ${written.join(", ") || "none"}\n`);
    return 0;
  }
  if (domains.length === 0) process.stderr.write(`${configPath}: no rate-limit rule has scope: global\n`);
  process.stdout.write(
    domains.map((d) => `# ${d.domain}: one file of its own in the service's config directory\n${rateLimitConfigYaml(d)}`).join("---\n"),
  );
  return 0;
}

async function validate(configPath: string, filtersDir: string, pluginCheck: PluginCheckerOptions): Promise<number> {
  const r = await loadGatewayFile(configPath, { filtersDir, checkPlugin: createPluginChecker(pluginCheck) });
  if (!r.ok) {
    process.stderr.write(`${formatConfigErrors(r.errors)}\n${r.errors.length} error(s); nothing would be applied\n`);
    return 1;
  }
  const m = r.model;
  process.stdout.write(
    `${configPath}: valid (${m.listeners.length} listeners, ${m.routes.length} routes, ${m.upstreams.length} upstreams, ${m.plugins.length} plugins)\n`,
  );
  return 0;
}

interface RunOptions {
  pluginCheck: PluginCheckerOptions;
  configPath: string;
  filtersDir: string;
  log: LogFn;
  xds: { host: string; port: number };
  http: { host: string; port: number };
  admin: { address: string; port: number };
  nodeId: string;
  concurrency: number;
  envoy: boolean;
  adminToken?: string;
  adminTls?: { certPath: string; keyPath: string };
  /** Overload limits from the command line; the others are sized for this machine. */
  overload: Partial<OverloadLimits>;
  /** --redis: where the supervised rate limit service counts; absent: a development redis-server. */
  redis?: RedisTarget;
}

async function run(o: RunOptions): Promise<number> {
  // Ports are chosen now: Envoy's cluster for the service must name its gRPC port before the
  // service is started (which happens only when the config has global rate limits).
  const [grpc, http, debug, devRedis] = await freeLoopbackPorts(4);
  const rateLimitService = new SupervisedRateLimitService({
    tools: () => ({
      ratelimit: locateTool("RATELIMIT", "ratelimit"),
      ...(o.redis ? {} : { redisServer: locateTool("REDIS_SERVER", "redis-server") }),
    }),
    ports: { grpc: grpc!, http: http!, debug: debug! },
    ...(o.redis ? { redis: o.redis } : { devRedisPort: devRedis! }),
    log: o.log,
  });
  const cp = new ControlPlane({
    rateLimitService,
    configPath: o.configPath,
    filtersDir: o.filtersDir,
    log: o.log,
    xds: o.xds,
    http: o.http,
    adminToken: o.adminToken,
    adminTls: o.adminTls,
    pluginCheck: o.pluginCheck,
  });
  await cp.start();
  let supervisor: EnvoySupervisor | undefined;
  const workDir = mkdtempSync(join(tmpdir(), "portico-run-"));
  if (o.envoy) {
    const tools = locateEnvoyTools();
    const bootstrapPath = join(workDir, "bootstrap.yaml");
    writeFileSync(bootstrapPath, bootstrapYaml(cp.bootstrapOptions({ nodeId: o.nodeId, admin: o.admin, overload: o.overload })));
    supervisor = new EnvoySupervisor({
      funcE: tools.funcE,
      envoyPath: tools.envoyPath,
      bootstrapPath,
      workDir,
      concurrency: o.concurrency,
      logLevel: "warning",
      // Access logs reach their file within a second instead of Envoy's default 10 s.
      extraArgs: ["--component-log-level", "wasm:info", "--file-flush-interval-msec", "1000"],
      onState: (s) =>
        o.log(s.state === "backoff" ? "warn" : "info", `envoy ${s.state}`, {
          restarts: s.restarts,
          ...(s.exit ? { exit: s.exit } : {}),
          ...(s.restartInMs ? { restartInMs: s.restartInMs } : {}),
        }),
      onLog: (line) => process.stderr.write(`envoy: ${line}\n`),
    });
    supervisor.start();
    await supervisor.ready({ timeoutMs: 30_000 });
  }
  printWhereToSend(
    cp.gateway.model!,
    { ...o, xds: { ...o.xds, port: cp.xdsPort }, http: { ...o.http, port: cp.httpPort } },
    supervisor?.adminUrl,
  );
  await new Promise<void>((r) => {
    process.once("SIGINT", r);
    process.once("SIGTERM", r);
  });
  o.log("info", "stopping");
  await supervisor?.stop();
  await cp.stop();
  rmSync(workDir, { recursive: true, force: true });
  return 0;
}

function printWhereToSend(model: GatewayModel, o: RunOptions, adminUrl: string | undefined): void {
  const lines = ["", "portico is running."];
  for (const l of model.listeners) {
    const host = l.address === "0.0.0.0" ? "127.0.0.1" : l.address.includes(":") ? `[${l.address}]` : l.address;
    lines.push(`  listener ${l.name}: ${l.tls ? "https" : "http"}://${host}:${l.port}/`);
  }
  if (adminUrl) lines.push(`  Envoy admin:   ${adminUrl}  (stats: ${adminUrl}/stats/prometheus)`);
  const admin = `${o.adminTls ? "https" : "http"}://${o.http.host}:${o.http.port}`;
  lines.push(`  admin API:     ${admin}/routes, ${admin}/config, ${admin}/openapi.json  (status: ${admin}/status)`);
  lines.push(`  xDS (ADS):     ${o.xds.host}:${o.xds.port}`);
  lines.push(`  edit ${o.configPath} and save (or use the admin API): changes apply live. Ctrl-C stops.`, "");
  process.stdout.write(`${lines.join("\n")}\n`);
}

export async function cli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`portico: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
