// The rate limit service `portico run` starts when the config has global rate limits and names
// no `rate_limit_service.address`: envoyproxy/ratelimit on loopback ports chosen at start-up,
// taking its config (domains, descriptors, limits) over ADS from this control plane
// (CONFIG_TYPE=GRPC_XDS_SOTW), so a limit edit reaches it live; its counters in the Redis given by
// --redis, or else in a development redis-server started here (nothing persisted). Each process is
// supervised: restarted with backoff when it exits, stopped with the gateway.
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import type { LogFn } from "../log.js";
import { ProcessSupervisor, type ProcessStateChange } from "./process-supervisor.js";
import type { RedisTarget } from "./redis-url.js";
import { RATE_LIMIT_SERVICE_NODE } from "../xds/types.js";

export { RATE_LIMIT_SERVICE_NODE } from "../xds/types.js";

export interface SupervisedRateLimitServiceOptions {
  /** Finds the executables when the service is first needed (a gateway without global limits needs neither). */
  tools: () => { ratelimit: string; redisServer?: string };
  /** Loopback ports: gRPC (Envoy's cluster points here), HTTP (/healthcheck, /json), debug (/rlconfig). */
  ports: { grpc: number; http: number; debug: number };
  /** Absent: a development redis-server on `devRedisPort`. */
  redis?: RedisTarget;
  devRedisPort?: number;
  log: LogFn;
  /** The service's LOG_LEVEL (default "warn"). */
  logLevel?: "debug" | "info" | "warn" | "error";
}

const LOOPBACK = "127.0.0.1";
const POLL_MS = 50;

export class SupervisedRateLimitService {
  private service: ProcessSupervisor | undefined;
  private redis: ProcessSupervisor | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly o: SupervisedRateLimitServiceOptions) {}

  get grpcAddress(): { host: string; port: number } {
    return { host: LOOPBACK, port: this.o.ports.grpc };
  }

  get started(): boolean {
    return this.starting !== undefined;
  }

  /** The service's pid while it runs. */
  get pid(): number | undefined {
    return this.service?.pid;
  }

  /**
   * Starts Redis (unless given) and the service, taking its config from the ADS server at
   * `xds`; resolves once the service answers /healthcheck (config loaded, Redis reachable).
   * Calling it again returns the first start.
   */
  start(xds: { host: string; port: number }, timeoutMs = 30_000): Promise<void> {
    this.starting ??= this.startAll(xds, timeoutMs);
    return this.starting;
  }

  async stop(): Promise<void> {
    await this.service?.stop();
    await this.redis?.stop();
  }

  /** For /status. */
  status(): object {
    return {
      state: this.service?.state ?? "idle",
      pid: this.service?.pid ?? null,
      restarts: this.service?.restartCount ?? 0,
      grpc: `${LOOPBACK}:${this.o.ports.grpc}`,
      http: `${LOOPBACK}:${this.o.ports.http}`,
      debug: `${LOOPBACK}:${this.o.ports.debug}`,
      redis: this.o.redis
        ? { address: this.o.redis.address, development: false }
        : {
            address: `${LOOPBACK}:${this.o.devRedisPort}`,
            development: true,
            state: this.redis?.state ?? "idle",
            pid: this.redis?.pid ?? null,
          },
    };
  }

  private async startAll(xds: { host: string; port: number }, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const tools = this.o.tools();
    let redisAddress: string;
    if (this.o.redis) {
      redisAddress = this.o.redis.address;
    } else {
      if (!tools.redisServer || this.o.devRedisPort === undefined) throw new Error("internal: no Redis to start");
      const port = this.o.devRedisPort;
      redisAddress = `${LOOPBACK}:${port}`;
      this.o.log("warn", "development Redis: counters are not persistent (give --redis redis://host:port for a real one)", {
        redis: redisAddress,
      });
      this.redis = this.supervise("redis-server", tools.redisServer, {
        // No config file: every setting here. Nothing on disk, loopback only.
        args: ["--port", String(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--loglevel", "warning"],
        env: { PATH: process.env.PATH ?? "" },
      });
      // The service exits at start-up when Redis refuses it: start it once Redis answers.
      await until(() => redisPing(port), deadline, `the development Redis on ${redisAddress} did not answer PING`);
    }
    this.service = this.supervise("ratelimit", tools.ratelimit, { env: this.serviceEnv(xds, redisAddress) });
    const health = `http://${LOOPBACK}:${this.o.ports.http}/healthcheck`;
    await until(() => httpOk(health), deadline, `the rate limit service did not answer ${health}`);
    this.o.log("info", "rate limit service ready", {
      grpc: `${LOOPBACK}:${this.o.ports.grpc}`,
      pid: this.service.pid,
      redis: redisAddress,
    });
  }

  /** Only what the service reads (see its settings.go): nothing from this process's environment leaks in. */
  private serviceEnv(xds: { host: string; port: number }, redisAddress: string): NodeJS.ProcessEnv {
    const { ports, redis } = this.o;
    return {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: this.o.logLevel ?? "warn",
      USE_STATSD: "false",
      GRPC_HOST: LOOPBACK,
      GRPC_PORT: String(ports.grpc),
      HOST: LOOPBACK,
      PORT: String(ports.http),
      DEBUG_HOST: LOOPBACK,
      DEBUG_PORT: String(ports.debug),
      REDIS_SOCKET_TYPE: "tcp",
      REDIS_URL: redisAddress,
      ...(redis?.auth !== undefined ? { REDIS_AUTH: redis.auth } : {}),
      ...(redis?.tls ? { REDIS_TLS: "true" } : {}),
      CONFIG_TYPE: "GRPC_XDS_SOTW",
      CONFIG_GRPC_XDS_SERVER_URL: `${xds.host.includes(":") ? `[${xds.host}]` : xds.host}:${xds.port}`,
      CONFIG_GRPC_XDS_NODE_ID: RATE_LIMIT_SERVICE_NODE,
      // The control plane is local: reconnect within a second or two, not the default 10-60 s.
      CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL: "1s",
      XDS_CLIENT_BACKOFF_INITIAL_INTERVAL: "500ms",
      XDS_CLIENT_BACKOFF_MAX_INTERVAL: "5s",
    };
  }

  private supervise(name: string, command: string, o: { args?: string[]; env: NodeJS.ProcessEnv }): ProcessSupervisor {
    const s = new ProcessSupervisor({
      name,
      command,
      args: o.args,
      env: o.env,
      onState: (c: ProcessStateChange) =>
        this.o.log(c.state === "backoff" ? "warn" : "info", `${name} ${c.state}`, {
          restarts: c.restarts,
          ...(c.pid !== undefined ? { pid: c.pid } : {}),
          ...(c.exit ? { exit: c.exit } : {}),
          ...(c.restartInMs !== undefined ? { restartInMs: c.restartInMs } : {}),
        }),
      onLog: (line) => {
        if (line.trim() !== "") this.o.log("info", `${name}: ${line}`);
      },
    });
    s.start();
    return s;
  }
}

async function until(check: () => Promise<boolean>, deadline: number, what: string): Promise<void> {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} in time`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** True when a Redis at 127.0.0.1:port answers PING with +PONG. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n")); // an inline command: no RESP framing needed
    socket.setEncoding("utf8").on("data", (d: string) => {
      reply += d;
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
  });
}

/**
 * `n` distinct free loopback ports, each found by binding port 0 (all held until every one is
 * found, so none repeats). Another process may take one before the service binds it; the
 * supervisor then restarts the service, which fails the same way: `portico run` reports it.
 */
export async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, LOOPBACK, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
