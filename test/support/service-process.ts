// A native server a test starts and stops (redis-server, the rate limit service): spawned as the
// leader of its own process group, tracked so it cannot outlive the test run, its output kept for
// error messages. Readiness is the caller's business (each server has its own probe).
import { spawn } from "node:child_process";
import { signalGroup, trackGroup, untrackGroup, waitGroupGone } from "./procs.js";

export interface ServiceProcess {
  pid: number;
  /** stdout and stderr so far (the last MAX_LOG_CHARS of them). */
  logs(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once no process of the group is left. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash would; resolves once the group is gone. */
  kill(): Promise<void>;
}

const MAX_LOG_CHARS = 256 * 1024;

export function spawnService(o: { bin: string; args?: string[]; env?: NodeJS.ProcessEnv; cwd?: string }): ServiceProcess {
  const child = spawn(o.bin, o.args ?? [], { cwd: o.cwd, env: o.env ?? process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) {
    child.once("error", () => undefined); // reported by the throw below
    throw new Error(`could not start ${o.bin}`);
  }
  trackGroup(pid);
  let buffer = "";
  for (const s of [child.stdout!, child.stderr!])
    s.setEncoding("utf8").on("data", (d: string) => {
      buffer += d;
      if (buffer.length > MAX_LOG_CHARS) buffer = buffer.slice(-MAX_LOG_CHARS / 2);
    });
  let done = false;
  child.once("exit", () => {
    done = true;
  });
  const end = async (signal: NodeJS.Signals, graceMs: number) => {
    signalGroup(pid, signal);
    if (!(await waitGroupGone(pid, graceMs))) {
      signalGroup(pid, "SIGKILL");
      await waitGroupGone(pid, 5_000);
    }
    untrackGroup(pid);
  };
  return {
    pid,
    logs: () => buffer,
    exited: () => done,
    stop: (graceMs = 5_000) => end("SIGTERM", graceMs),
    kill: () => end("SIGKILL", 5_000),
  };
}
