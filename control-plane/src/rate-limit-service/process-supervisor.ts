// Keeps one native server running (the rate limit service, a development redis-server): started
// as the leader of its own process group, restarted with exponential backoff when it exits on its
// own, stopped for good with SIGTERM (SIGKILL after a grace period) and nothing left behind.
// EnvoySupervisor does the same for Envoy, with func-e's signal quirks on top; the backoff policy
// is shared.
import { spawn, type ChildProcess } from "node:child_process";
import { RestartBackoff, type BackoffPolicy } from "../envoy/supervisor.js";
import { signalGroup, waitGroupGone } from "../envoy/process-group.js";

export type ProcessState = "idle" | "running" | "backoff" | "stopping" | "stopped";

export interface ProcessStateChange {
  state: ProcessState;
  restarts: number;
  pid?: number;
  /** With "backoff": how the run ended and when the next one starts. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; uptimeMs: number };
  restartInMs?: number;
}

export interface ProcessSupervisorOptions {
  /** For logs: "ratelimit", "redis-server". */
  name: string;
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  backoff?: Partial<BackoffPolicy>;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 5 s. */
  stopGraceMs?: number;
  onState?: (change: ProcessStateChange) => void;
  onLog?: (line: string) => void;
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, resetAfterMs: 30_000 };

interface Run {
  child: ChildProcess;
  pgid: number;
  exited: Promise<void>;
  /** No server may outlive this process, even one that exits without stop(). */
  exitHook: () => void;
}

export class ProcessSupervisor {
  private readonly backoff: RestartBackoff;
  private current: ProcessState = "idle";
  private run: Run | undefined;
  private timer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private stopping: Promise<void> | undefined;

  constructor(private readonly o: ProcessSupervisorOptions) {
    this.backoff = new RestartBackoff({ ...DEFAULT_BACKOFF, ...o.backoff });
  }

  get state(): ProcessState {
    return this.current;
  }

  /** The running process's pid (its process group), if one is up. */
  get pid(): number | undefined {
    return this.run?.pgid;
  }

  get restartCount(): number {
    return this.restarts;
  }

  start(): void {
    if (this.current !== "idle") throw new Error(`${this.o.name} supervisor cannot start: it is ${this.current}`);
    this.spawnRun();
  }

  /** Stops the server for good; resolves once no process of it is left. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private spawnRun(): void {
    const startedAt = Date.now();
    const child = spawn(this.o.command, this.o.args ?? [], {
      cwd: this.o.cwd,
      env: this.o.env ?? process.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pgid = child.pid;
    if (pgid === undefined) {
      child.once("error", (err) => {
        this.o.onLog?.(`[portico] ${this.o.name} could not start: ${err.message}`);
        if (!this.stopping) this.scheduleRestart({ code: null, signal: null, uptimeMs: 0 });
      });
      return;
    }
    const exitHook = () => signalGroup(pgid, "SIGKILL");
    process.on("exit", exitHook);
    let exit: ProcessStateChange["exit"];
    const exited = new Promise<void>((resolve) =>
      child.once("close", (code, signal) => {
        exit = { code, signal, uptimeMs: Date.now() - startedAt };
        resolve();
      }),
    );
    child.on("error", (err) => this.o.onLog?.(`[portico] ${this.o.name} process error: ${err.message}`));
    for (const stream of [child.stdout!, child.stderr!]) pipeLines(stream, (line) => this.o.onLog?.(line));
    const run: Run = { child, pgid, exited, exitHook };
    this.run = run;
    this.emit({ state: "running", pid: pgid });
    void exited.then(async () => {
      if (this.stopping) return; // stop() owns the shutdown
      // The leader is gone; a child it left would hold the ports the next run needs.
      signalGroup(pgid, "SIGKILL");
      await waitGroupGone(pgid, 5_000);
      process.removeListener("exit", exitHook);
      if (this.stopping) return;
      this.run = undefined;
      this.scheduleRestart(exit!);
    });
  }

  private scheduleRestart(exit: NonNullable<ProcessStateChange["exit"]>): void {
    const delay = this.backoff.next(exit.uptimeMs);
    this.emit({ state: "backoff", exit, restartInMs: delay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.restarts++;
      this.spawnRun();
    }, delay);
  }

  private async shutdown(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.run;
    if (run) {
      this.emit({ state: "stopping", pid: run.pgid });
      signalGroup(run.pgid, "SIGTERM");
      if (!(await waitGroupGone(run.pgid, this.o.stopGraceMs ?? 5_000))) {
        signalGroup(run.pgid, "SIGKILL");
        await waitGroupGone(run.pgid, 5_000);
      }
      await run.exited;
      process.removeListener("exit", run.exitHook);
      this.run = undefined;
    }
    this.emit({ state: "stopped" });
  }

  private emit(change: Omit<ProcessStateChange, "restarts">): void {
    this.current = change.state;
    this.o.onState?.({ ...change, restarts: this.restarts });
  }
}

/** A line longer than this is passed on in pieces: output without newlines must not grow memory. */
const MAX_LINE_CHARS = 16 * 1024;

function pipeLines(source: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = "";
  source.setEncoding("utf8");
  source.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    if (partial.length > MAX_LINE_CHARS) {
      lines.push(partial);
      partial = "";
    }
    for (const line of lines) onLine(line);
  });
  source.on("end", () => {
    if (partial !== "") onLine(partial);
  });
}
