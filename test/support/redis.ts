// A throwaway Redis for tests: loopback only, nothing persisted, on a free port. kill() and
// restart() take it away and bring it back on the same port, as a fault test needs (clients
// configured with that address reconnect to the new, empty server).
import { connect } from "node:net";
import { onFreshPort } from "./ports.js";
import { spawnService, type ServiceProcess } from "./service-process.js";
import { redisServerPath } from "./tools.js";

export interface Redis {
  port: number;
  /** host:port, as REDIS_URL of the rate limit service takes it. */
  address: string;
  /** Output of the current server process. */
  logs(): string;
  /** The current server process's pid (for its CPU time, as the bench reads it). */
  pid(): number;
  /** SIGKILL, as a crash: clients see their connections reset and new ones refused. */
  kill(): Promise<void>;
  /** Starts a new (empty) server on the same port; resolves once it answers PING. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Resolves true when a Redis at 127.0.0.1:port answers PING with +PONG within `timeoutMs`. */
export function redisPing(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n")); // an inline command: no RESP framing needed
    socket.setEncoding("utf8").on("data", (d: string) => {
      reply += d;
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
  });
}

function launch(port: number): ServiceProcess {
  return spawnService({
    bin: redisServerPath(),
    // No config file: every setting on the command line. --save "" and --appendonly no: nothing on
    // disk, so a restarted server starts empty and no dump.rdb lands in the working directory.
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
  });
}

async function waitReady(proc: ServiceProcess, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.exited()) throw new Error(`redis-server on port ${port} exited:\n${proc.logs().slice(-2_000)}`);
    if (await redisPing(port, 500)) return;
    if (Date.now() > deadline) {
      throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${proc.logs().slice(-2_000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startOn(port: number): Promise<ServiceProcess> {
  const proc = launch(port);
  try {
    await waitReady(proc, port);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** Starts redis-server on a free loopback port; resolves once it answers PING. */
export async function startRedis(): Promise<Redis> {
  let proc: ServiceProcess | undefined;
  const port = await onFreshPort(async (p) => {
    proc = await startOn(p);
    return p;
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    logs: () => proc?.logs() ?? "",
    pid: () => proc?.pid ?? -1,
    kill: async () => {
      await proc?.kill();
    },
    restart: async () => {
      await proc?.stop();
      proc = await startOn(port);
    },
    stop: async () => {
      await proc?.stop();
    },
  };
}
