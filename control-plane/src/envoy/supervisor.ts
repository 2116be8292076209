// Keeps a local Envoy running for `portico run`: starts it through func-e (the way users run
// Envoy), restarts it with exponential backoff when it exits on its own, and stops it for good
// with nothing left behind.
//
// func-e is started as the leader of a new process group, with Envoy as its child. To stop, the
// supervisor sends SIGTERM to Envoy itself: func-e does not forward signals but answers its own
// SIGTERM by SIGKILLing Envoy, so Envoy would never shut down in order. Once Envoy exits, func-e
// exits too; anything still in the group after a grace period is SIGKILLed.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { livePidsInGroup, signalGroup, signalPid, waitGroupGone } from "./process-group.js";

/**
 * running: func-e (and Envoy) are up - not necessarily ready, see ready();
 * backoff: Envoy exited on its own and a restart is scheduled;
 * stopping / stopped: stop() was called (or not started yet: "idle").
 */
export type EnvoyState = "idle" | "running" | "backoff" | "stopping" | "stopped";

export interface EnvoyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long that run lasted. */
  uptimeMs: number;
  /** Set when func-e could not be started at all. */
  error?: string;
}

export interface EnvoyStateChange {
  state: EnvoyState;
  /** Restarts after unexpected exits so far. */
  restarts: number;
  /** func-e's pid (also the process-group id of func-e + Envoy), with "running" and "stopping". */
  pid?: number;
  /** With "backoff": how the run ended. With "stopped": how the last run ended, if one was running. */
  exit?: EnvoyExit;
  /** With "backoff": the delay before the next start. */
  restartInMs?: number;
}

export interface BackoffPolicy {
  /** First restart delay. Default 250 ms. */
  initialMs: number;
  /** Delays double up to this. Default 10 s. */
  maxMs: number;
  /** A run that lasted at least this long resets the delay to initialMs. Default 30 s. */
  resetAfterMs: number;
}

export interface EnvoySupervisorOptions {
  /** The func-e executable (see locateEnvoyTools). */
  funcE: string;
  /** Envoy binary for func-e (ENVOY_PATH); undefined lets func-e choose its version. */
  envoyPath?: string;
  /** Bootstrap file for `-c`. */
  bootstrapPath: string;
  /** Holds the admin address file and, unless env says otherwise, func-e's logs and runtime files. */
  workDir: string;
  /** --concurrency (Envoy worker threads). Default: the number of CPUs, as Envoy itself. */
  concurrency?: number;
  /** --log-level. Default "info". */
  logLevel?: string;
  /** More Envoy arguments, appended as they are. */
  extraArgs?: string[];
  /** Extra environment for func-e (on top of process.env). */
  env?: NodeJS.ProcessEnv;
  backoff?: Partial<BackoffPolicy>;
  /** How long stop() lets Envoy shut down before SIGKILL. Default 10 s. */
  stopGraceMs?: number;
  onState?: (change: EnvoyStateChange) => void;
  /** Every line func-e and Envoy print (Envoy's log goes to stderr). */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, resetAfterMs: 30_000 };
const READY_POLL_MS = 50;

/** Restart delays: initialMs, doubling to maxMs, back to initialMs after a run that lasted resetAfterMs. */
export class RestartBackoff {
  private nextMs: number;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {
    this.nextMs = policy.initialMs;
  }

  /** The delay before restarting a run that lasted `uptimeMs`. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.policy.resetAfterMs) this.nextMs = this.policy.initialMs;
    const delay = this.nextMs;
    this.nextMs = Math.min(Math.max(this.nextMs * 2, 1), this.policy.maxMs);
    return delay;
  }
}

interface Run {
  child: ChildProcess;
  pgid: number;
  /** Resolves when func-e exited. */
  exited: Promise<EnvoyExit>;
  /** Resolves when func-e exited and its output was fully read. */
  closed: Promise<void>;
  /** Last line of defence if this process exits without stop(): no Envoy may outlive it. */
  exitHook: () => void;
  adminUrl?: string;
}

export class EnvoySupervisor {
  private readonly opts: EnvoySupervisorOptions;
  private readonly backoff: RestartBackoff;
  private readonly adminAddressPath: string;
  private current: EnvoyState = "idle";
  private run: Run | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private runNumber = 0;
  private stopRequested = false;
  private stopping: Promise<void> | undefined;

  constructor(opts: EnvoySupervisorOptions) {
    this.opts = opts;
    this.backoff = new RestartBackoff({ ...DEFAULT_BACKOFF, ...opts.backoff });
    this.adminAddressPath = join(opts.workDir, "admin-address.txt");
  }

  get state(): EnvoyState {
    return this.current;
  }

  /** func-e's pid (= the process group of func-e and Envoy) while a run is up. */
  get pid(): number | undefined {
    return this.run?.pgid;
  }

  /** Envoy's own pid (func-e's child), once func-e has started it. Linux only (reads /proc). */
  envoyPid(): number | undefined {
    const run = this.run;
    return run && livePidsInGroup(run.pgid).find((p) => p !== run.pgid);
  }

  /** The admin API of the current run, e.g. http://127.0.0.1:40123, once Envoy has bound it. */
  get adminUrl(): string | undefined {
    const run = this.run;
    if (!run) return undefined;
    run.adminUrl ??= readAdminAddress(this.adminAddressPath);
    return run.adminUrl;
  }

  start(): void {
    if (this.current !== "idle") throw new Error(`Envoy supervisor cannot start: it is ${this.current}`);
    // Fail here, clearly, rather than in an endless restart loop.
    try {
      accessSync(this.opts.funcE, constants.X_OK);
    } catch {
      throw new Error(`func-e at ${this.opts.funcE} is not an executable file`);
    }
    mkdirSync(this.opts.workDir, { recursive: true });
    this.spawnRun();
  }

  /** Resolves once the admin API answers /ready with LIVE (after restarts, too). */
  async ready(o: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopRequested) throw new Error("Envoy supervisor was stopped before Envoy became ready");
      const url = this.adminUrl;
      if (url !== undefined && (await isLive(url))) return;
      if (Date.now() >= deadline) throw new Error(`Envoy not ready after ${timeoutMs} ms (state: ${this.current})`);
      await sleep(READY_POLL_MS);
    }
  }

  /** Stops Envoy (no restart afterwards); resolves once no process of it is left. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private spawnRun(): void {
    rmSync(this.adminAddressPath, { force: true }); // ready() must not read the previous run's address
    const o = this.opts;
    const args = [
      "run",
      "-c",
      o.bootstrapPath,
      "--admin-address-path",
      this.adminAddressPath,
      "--concurrency",
      String(o.concurrency ?? availableParallelism()),
      // Hot restart would take a shared-memory segment and a socket keyed by base id 0, so a
      // second Envoy on the host could not start; the supervisor restarts cold anyway.
      "--disable-hot-restart",
      "--log-level",
      o.logLevel ?? "info",
      ...(o.extraArgs ?? []),
    ];
    const env: NodeJS.ProcessEnv = {
      FUNC_E_STATE_HOME: join(o.workDir, "func-e", "state"),
      FUNC_E_RUNTIME_DIR: join(o.workDir, "func-e", "runtime"),
      ...process.env,
      ...o.env,
      // One directory per run: func-e's default (a timestamp) is only as unique as the clock.
      FUNC_E_RUN_ID: `envoy-${process.pid}-${++this.runNumber}`,
    };
    if (o.envoyPath !== undefined) env.ENVOY_PATH = o.envoyPath;

    const startedAt = Date.now();
    // detached: func-e leads a new process group, so the group can be signalled as a whole.
    const child = spawn(o.funcE, args, { cwd: o.workDir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const pgid = child.pid;
    if (pgid === undefined) {
      // The spawn failed (e.g. func-e was removed); 'error' says why. Treated like a crash.
      child.once("error", (err) => this.afterRun(undefined, { code: null, signal: null, uptimeMs: 0, error: err.message }));
      return;
    }
    const exitHook = () => signalGroup(pgid, "SIGKILL");
    process.on("exit", exitHook);
    const exited = new Promise<EnvoyExit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal, uptimeMs: Date.now() - startedAt }));
    });
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    // After a successful spawn 'error' only reports a failed kill(): nothing to act on.
    child.on("error", (err) => this.opts.onLog?.(`[portico] func-e process error: ${err.message}`, "stderr"));
    this.pipeLines(child, "stdout");
    this.pipeLines(child, "stderr");
    const run: Run = { child, pgid, exited, closed, exitHook };
    this.run = run;
    this.emit({ state: "running", pid: pgid });
    void exited.then((exit) => this.afterRun(run, exit));
  }

  /** A run ended on its own: clean up what is left of it and schedule the next one. */
  private async afterRun(run: Run | undefined, exit: EnvoyExit): Promise<void> {
    if (this.stopRequested) return; // stop() owns the shutdown
    if (run) {
      // func-e is gone; an Envoy it left behind would hold the ports the next run needs.
      signalGroup(run.pgid, "SIGKILL");
      await run.closed;
      await waitGroupGone(run.pgid, 5_000);
      process.removeListener("exit", run.exitHook);
      if (this.stopRequested) return;
      this.run = undefined;
    }
    rmSync(this.adminAddressPath, { force: true });
    const delay = this.backoff.next(exit.uptimeMs);
    this.emit({ state: "backoff", exit, restartInMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.spawnRun();
    }, delay);
  }

  private async shutdown(): Promise<void> {
    this.stopRequested = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const run = this.run;
    if (!run) {
      this.emit({ state: "stopped" });
      return;
    }
    this.emit({ state: "stopping", pid: run.pgid });
    const exit = await this.terminate(run);
    this.run = undefined;
    rmSync(this.adminAddressPath, { force: true });
    this.emit({ state: "stopped", exit });
  }

  private async terminate(run: Run): Promise<EnvoyExit> {
    const grace = this.opts.stopGraceMs ?? 10_000;
    const envoys = livePidsInGroup(run.pgid).filter((p) => p !== run.pgid);
    if (envoys.length > 0) for (const p of envoys) signalPid(p, "SIGTERM");
    else signalGroup(run.pgid, "SIGTERM"); // func-e has not started Envoy yet (or Envoy is gone)
    let exit = await withTimeout(run.exited, grace);
    if (exit === undefined) {
      signalGroup(run.pgid, "SIGKILL");
      exit = await run.exited;
    }
    await run.closed;
    if (!(await waitGroupGone(run.pgid, grace))) {
      signalGroup(run.pgid, "SIGKILL");
      if (!(await waitGroupGone(run.pgid, 5_000))) {
        throw new Error(`Envoy processes ${livePidsInGroup(run.pgid).join(", ")} survived SIGKILL`);
      }
    }
    process.removeListener("exit", run.exitHook);
    return exit;
  }

  private pipeLines(child: ChildProcess, stream: "stdout" | "stderr"): void {
    const source = child[stream]!;
    let partial = "";
    // setEncoding: a multi-byte character split across chunks is decoded whole.
    source.setEncoding("utf8");
    source.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.opts.onLog?.(line, stream);
    });
    source.on("end", () => {
      if (partial !== "") this.opts.onLog?.(partial, stream);
      partial = "";
    });
  }

  private emit(change: Omit<EnvoyStateChange, "restarts">): void {
    this.current = change.state;
    this.opts.onState?.({ ...change, restarts: this.restarts });
  }
}

function readAdminAddress(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8").trim();
  // Envoy may still be writing it: only a complete host:port counts.
  return /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+$/.test(text) ? `http://${text}` : undefined;
}

async function isLive(adminUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(2_000) });
    return res.status === 200 && (await res.text()).trim() === "LIVE";
  } catch {
    return false; // not listening yet, or that run just died
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The promise's value, or undefined once `ms` passed (the timer does not outlive the race). */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(r, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}
