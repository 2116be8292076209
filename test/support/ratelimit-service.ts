// The reference rate limit service (github.com/envoyproxy/ratelimit, built by install-tools.sh)
// for tests: on free loopback ports, backed by a given Redis, with a config the test writes.
//
// The service reads its config from files: <RUNTIME_ROOT>/<RUNTIME_SUBDIRECTORY>/config/*.yaml
// (RUNTIME_APPDIRECTORY defaults to "config"), one domain per file. RUNTIME_WATCH_ROOT=false makes
// it watch that directory rather than the root, which is what a plain directory (not a symlink
// swapped atomically, as in its Kubernetes deployments) needs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { request } from "./http.js";
import { freePort, onFreshPort } from "./ports.js";
import { spawnService, type ServiceProcess } from "./service-process.js";
import { ratelimitPath } from "./tools.js";

export type RateLimitUnit = "second" | "minute" | "hour" | "day";

/** One node of the service's descriptor tree (its YAML format, field names as it spells them). */
export interface RateLimitDescriptor {
  key: string;
  /** Absent: every value of `key` gets its own counter with this limit. */
  value?: string;
  rate_limit?: { unit: RateLimitUnit; requests_per_unit: number };
  descriptors?: RateLimitDescriptor[];
  shadow_mode?: boolean;
}

export interface RateLimitDomainConfig {
  domain: string;
  descriptors: RateLimitDescriptor[];
}

export interface StartRateLimitServiceOptions {
  /** host:port of the Redis the counters live in. */
  redis: string;
  /** One file per domain. */
  domains: RateLimitDomainConfig[];
  /** LOG_LEVEL (default "warn"; "debug" logs every decision). */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** REDIS_POOL_SIZE (default 2). A connection broken by a Redis restart fails one request before
   * it is replaced, so a small pool is back to healthy after a handful of requests. */
  redisPoolSize?: number;
  /** REDIS_TIMEOUT (default "500ms"; the service's own default is 10s): the I/O timeout of a Redis
   * connection. It does not bound the wait for a connection: with an empty pool (Redis down) a
   * decision blocks until one is back, so the caller's own timeout is what bounds it. */
  redisTimeout?: string;
}

export interface RateLimitService {
  /** envoy.service.ratelimit.v3.RateLimitService over gRPC (HTTP/2, plaintext). */
  grpcPort: number;
  /** HTTP: /healthcheck and /json (a ShouldRateLimit request as JSON). */
  httpPort: number;
  debugPort: number;
  /** The runtime directory holding <subdir>/config/*.yaml. */
  runtimeRoot: string;
  logs(): string;
  /** The current service process's pid (for its CPU time, as the bench reads it). */
  pid(): number;
  /** POST /json: the service's decision for one descriptor, without Envoy in between. */
  shouldRateLimit(domain: string, entries: Record<string, string>, timeoutMs?: number): Promise<{ status: number; body: string }>;
  /** SIGKILL, as a crash: Envoy sees its gRPC connection reset and new ones refused. */
  kill(): Promise<void>;
  /** Starts a new service process on the same three ports (after stopping the current one, if it
   * still runs); resolves once it is ready. Redis keeps the counters, so they carry over. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const SUBDIRECTORY = "ratelimit";
const READY_TIMEOUT_MS = 20_000;

/** Writes each domain's config as <root>/ratelimit/config/<n>-<domain>.yaml; returns the root. */
function writeRuntime(domains: RateLimitDomainConfig[]): string {
  const root = mkdtempSync(join(tmpdir(), "portico-ratelimit-"));
  const dir = join(root, SUBDIRECTORY, "config");
  mkdirSync(dir, { recursive: true });
  domains.forEach((d, i) => {
    writeFileSync(join(dir, `${i}-${d.domain.replace(/[^A-Za-z0-9_.-]/g, "_")}.yaml`), toYaml(d));
  });
  return root;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(false));
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
  });
}

/** Ready: /healthcheck says OK (config loaded, Redis pool up) and the gRPC port accepts connections. */
async function waitReady(proc: ServiceProcess, httpPort: number, grpcPort: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.exited()) throw new Error(`the rate limit service exited:\n${proc.logs().slice(-4_000)}`);
    const health = await request(`http://127.0.0.1:${httpPort}/healthcheck`, { timeoutMs: 1_000 }).catch(() => ({ status: 0 }));
    if (health.status === 200 && (await tcpOpen(grpcPort))) return;
    if (Date.now() > deadline) {
      throw new Error(`the rate limit service was not ready within ${READY_TIMEOUT_MS} ms:\n${proc.logs().slice(-4_000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Ports {
  grpcPort: number;
  httpPort: number;
  debugPort: number;
}

/** One service process on `ports`, resolved once it is ready (stopped again if it is not). */
async function launch(o: StartRateLimitServiceOptions, runtimeRoot: string, ports: Ports): Promise<ServiceProcess> {
  const proc = spawnService({
    bin: ratelimitPath(),
    cwd: runtimeRoot,
    env: {
      ...process.env,
      LOG_LEVEL: o.logLevel ?? "warn",
      USE_STATSD: "false",
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(ports.grpcPort),
      HOST: "127.0.0.1",
      PORT: String(ports.httpPort),
      DEBUG_HOST: "127.0.0.1",
      DEBUG_PORT: String(ports.debugPort),
      REDIS_SOCKET_TYPE: "tcp",
      REDIS_URL: o.redis,
      REDIS_POOL_SIZE: String(o.redisPoolSize ?? 2),
      REDIS_TIMEOUT: o.redisTimeout ?? "500ms",
      RUNTIME_ROOT: runtimeRoot,
      RUNTIME_SUBDIRECTORY: SUBDIRECTORY,
      RUNTIME_WATCH_ROOT: "false",
    },
  });
  try {
    await waitReady(proc, ports.httpPort, ports.grpcPort);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/**
 * Starts envoyproxy/ratelimit against `o.redis` with `o.domains`, on three free loopback ports
 * (gRPC, HTTP, debug); resolves once it is ready. A port taken before the service bound it means
 * a fresh set of ports and another start.
 */
export async function startRateLimitService(o: StartRateLimitServiceOptions): Promise<RateLimitService> {
  ratelimitPath(); // a missing binary fails here, with how to install it, before any directory is made
  const runtimeRoot = writeRuntime(o.domains);
  try {
    const ports: Ports = { grpcPort: 0, httpPort: 0, debugPort: 0 };
    let proc = await onFreshPort(async (grpcPort) => {
      Object.assign(ports, { grpcPort, httpPort: await freePort(), debugPort: await freePort() });
      return launch(o, runtimeRoot, ports);
    });
    return {
      ...ports,
      runtimeRoot,
      logs: () => proc.logs(),
      pid: () => proc.pid,
      shouldRateLimit: (domain, entries, timeoutMs = 5_000) =>
        request(`http://127.0.0.1:${ports.httpPort}/json`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ domain, descriptors: [{ entries: Object.entries(entries).map(([key, value]) => ({ key, value })) }] }),
          timeoutMs,
        }),
      kill: () => proc.kill(),
      restart: async () => {
        await proc.stop();
        proc = await launch(o, runtimeRoot, ports);
      },
      stop: async () => {
        await proc.stop();
        rmSync(runtimeRoot, { recursive: true, force: true });
      },
    } satisfies RateLimitService;
  } catch (err) {
    rmSync(runtimeRoot, { recursive: true, force: true });
    throw err;
  }
}
