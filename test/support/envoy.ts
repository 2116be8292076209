// Runs a real Envoy for e2e tests, the way users run it: through func-e.
//
// - Configs use port_value: 0 for listeners and admin; the bound admin address
//   comes back through --admin-address-path and listener ports through the
//   admin API, so any number of Envoys can run side by side without port races.
// - --disable-hot-restart: Envoy otherwise takes a shared-memory segment and an
//   abstract unix socket keyed by --base-id (default 0), so a second Envoy
//   fails with "unable to bind domain socket with base_id=0". --base-id N and
//   --use-dynamic-base-id work through func-e too, but leave a
//   /dev/shm/envoy_shared_memory_* file behind on every stop; tests never hot
//   restart, so there is nothing to share in the first place.
// - func-e is started as the leader of a new process group. stop() sends
//   SIGTERM to Envoy, then SIGKILL to the whole group if anything lingers, so
//   no Envoy outlives its test (see stopLaunch for why not SIGTERM to func-e).
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { envoyPath, funcEPath } from "./tools.js";
import { livePidsInGroup, signalGroup, trackGroup, untrackGroup, waitGroupGone } from "./procs.js";

export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "critical" | "off";

export interface StartEnvoyOptions {
  /** Bootstrap as an object, or YAML text. */
  config: object | string;
  /** Label for the temp dir and error messages. */
  name?: string;
  /** Worker threads (--concurrency). Default 1: deterministic, and CI has 2 cores. */
  concurrency?: number;
  /** --log-level, default "info". */
  logLevel?: LogLevel;
  /** --component-log-level, e.g. { wasm: "debug" } or "wasm:debug,http:trace". */
  componentLogLevel?: string | Record<string, LogLevel>;
  /** Give up waiting for /ready after this long (default 20s). */
  readyTimeoutMs?: number;
  /** More Envoy arguments, appended as is. */
  extraArgs?: string[];
}

export interface EnvoyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Envoy {
  name: string;
  /** func-e's pid, which is also the process-group id of func-e + Envoy. */
  pid: number;
  /** Envoy's own pid (func-e's child). */
  envoyPid: number;
  /** e.g. http://127.0.0.1:40123 */
  adminUrl: string;
  /** Listener name -> bound port, read from the admin API once Envoy was ready. */
  listeners: Record<string, number>;
  /** Port of the named listener; the name may be omitted when there is exactly one. */
  listenerPort(name?: string): number;
  /** http://127.0.0.1:<port><path> for the named (or only) listener. */
  url(path?: string, listener?: string): string;
  /** Counters and gauges from /stats?format=json; `filter` is an RE2 regex applied by Envoy. */
  stats(filter?: string): Promise<Map<string, number>>;
  /** One counter or gauge by its exact name; undefined when Envoy has none of that name. */
  stat(name: string): Promise<number | undefined>;
  /** /stats/prometheus text. */
  promStats(): Promise<string>;
  /** Any admin endpoint, e.g. admin("/config_dump") or admin("/logging?wasm=debug", "POST"). */
  admin(path: string, method?: string): Promise<{ status: number; body: string }>;
  /** Everything Envoy (and func-e) printed so far, stdout and stderr interleaved. */
  logs(): string;
  /** Resolves with the first log line matching `pattern`, waiting for it if needed. */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Temp dir with the config, the log file and func-e's state. Removed by stop() unless
   * keepDir (useEnvoy keeps it when the test failed) or PORTICO_KEEP_ENVOY_DIRS=1. */
  dir: string;
  configPath: string;
  logFile: string;
  /** Resolves when func-e has exited. */
  exited: Promise<EnvoyExit>;
  /** SIGTERM to the group, SIGKILL after a grace period; resolves once no process of it is left. */
  stop(opts?: { keepDir?: boolean; graceMs?: number }): Promise<EnvoyExit>;
}

export class EnvoyStartError extends Error {
  constructor(
    message: string,
    readonly logs: string,
  ) {
    super(message);
    this.name = "EnvoyStartError";
  }
}

/** PORTICO_KEEP_ENVOY_DIRS=1 keeps every temp dir (config, full log) for post-mortems. */
const keepDirs = (): boolean => process.env.PORTICO_KEEP_ENVOY_DIRS === "1";

const MAX_LOG_CHARS = 8 * 1024 * 1024; // in memory; the log file keeps everything
const POLL_MS = 25;
let sequence = 0;

/** Tail of a log for error messages. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Config as YAML text (Envoy reads YAML or JSON; YAML is easier to read when a test fails). */
export function configText(config: object | string): string {
  return typeof config === "string" ? config : toYaml(config, { aliasDuplicateObjects: false });
}

/** One launched func-e process with its log capture; shared by startEnvoy and startEnvoyExpectFailure. */
interface Launch {
  name: string;
  dir: string;
  configPath: string;
  adminAddressPath: string;
  logFile: string;
  child: ChildProcess;
  pid: number;
  logs(): string;
  onLog(listener: (chunk: string) => void): () => void;
  exited: Promise<EnvoyExit>;
  isExited(): boolean;
}

function launch(opts: StartEnvoyOptions): Launch {
  // Resolve tools first: a missing Envoy must fail the test with the fix in the message.
  const envoy = envoyPath();
  const funcE = funcEPath();
  const name = (opts.name ?? "envoy").replace(/[^A-Za-z0-9_.-]/g, "_");
  const dir = mkdtempSync(join(tmpdir(), `portico-${name}-`));
  const configPath = join(dir, "envoy.yaml");
  const adminAddressPath = join(dir, "admin-address.txt");
  const logFile = join(dir, "envoy.log");
  writeFileSync(configPath, configText(opts.config));

  const args = [
    "run",
    "-c",
    configPath,
    "--admin-address-path",
    adminAddressPath,
    "--concurrency",
    String(opts.concurrency ?? 1),
    "--log-level",
    opts.logLevel ?? "info",
    "--disable-hot-restart",
  ];
  if (opts.componentLogLevel) {
    const c = opts.componentLogLevel;
    args.push(
      "--component-log-level",
      typeof c === "string"
        ? c
        : Object.entries(c)
            .map(([k, v]) => `${k}:${v}`)
            .join(","),
    );
  }
  args.push(...(opts.extraArgs ?? []));

  // All func-e state goes into our temp dir: nothing in $HOME, and with
  // ENVOY_PATH set func-e never resolves or downloads an Envoy version.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENVOY_PATH: envoy,
    FUNC_E_CONFIG_HOME: join(dir, "func-e", "config"),
    FUNC_E_DATA_HOME: join(dir, "func-e", "data"),
    FUNC_E_STATE_HOME: join(dir, "func-e", "state"),
    FUNC_E_RUNTIME_DIR: join(dir, "func-e", "runtime"),
    FUNC_E_RUN_ID: `${name}-${process.pid}-${++sequence}`,
  };
  delete env.FUNC_E_HOME; // would switch func-e to its legacy single-dir layout

  // detached: func-e leads a new process group that stop() can signal as a whole.
  const child = spawn(funcE, args, { cwd: dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) {
    child.once("error", () => undefined); // reported by the throw below, not as an uncaught error
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start ${funcE}`);
  }
  trackGroup(pid);

  const file: WriteStream = createWriteStream(logFile);
  let buffer = "";
  const listeners = new Set<(chunk: string) => void>();
  const append = (s: string) => {
    file.write(s);
    buffer += s;
    if (buffer.length > MAX_LOG_CHARS) buffer = buffer.slice(buffer.length - MAX_LOG_CHARS / 2);
    for (const l of listeners) l(s);
  };
  // setEncoding: multi-byte characters split across chunks are decoded whole.
  child.stdout!.setEncoding("utf8").on("data", append);
  child.stderr!.setEncoding("utf8").on("data", append);

  let done = false;
  // 'close' (not 'exit') so every byte of output has been captured.
  const exited = new Promise<EnvoyExit>((resolve) => {
    // After a successful spawn, 'error' only means a failed kill(); keep it in the log.
    child.on("error", (err) => append(`\n[harness] func-e process error: ${err.message}\n`));
    child.once("close", (code, signal) => {
      done = true;
      file.end();
      resolve({ code, signal });
    });
  });

  return {
    name,
    dir,
    configPath,
    adminAddressPath,
    logFile,
    child,
    pid,
    exited,
    logs: () => buffer,
    onLog: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    isExited: () => done,
  };
}

function removeDir(l: Launch): void {
  if (!keepDirs()) rmSync(l.dir, { recursive: true, force: true });
}

async function adminGet(url: string, method = "GET"): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

function readAdminAddress(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8").trim();
  // Envoy may still be writing it; only accept a complete host:port.
  return /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+$/.test(text) ? text : undefined;
}

/** Polls until /ready says LIVE ("ready"), or the process exits ("exited"); throws on timeout. */
async function waitReadyOrExit(l: Launch, timeoutMs: number): Promise<{ state: "ready"; adminUrl: string } | { state: "exited" }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (l.isExited()) return { state: "exited" };
    const addr = readAdminAddress(l.adminAddressPath);
    if (addr) {
      const adminUrl = `http://${addr}`;
      try {
        const r = await adminGet(`${adminUrl}/ready`);
        if (r.status === 200 && r.body.trim() === "LIVE") return { state: "ready", adminUrl };
      } catch {
        // admin not accepting yet
      }
    }
    if (Date.now() >= deadline) {
      throw new EnvoyStartError(`Envoy "${l.name}" not ready after ${timeoutMs} ms; log tail:\n${tail(l.logs())}`, l.logs());
    }
    // Wake on whichever comes first: the next poll tick or the process exiting.
    await Promise.race([new Promise((r) => setTimeout(r, POLL_MS)), l.exited]);
  }
}

/**
 * SIGTERM goes to Envoy itself: func-e does not forward signals, it answers
 * its own SIGTERM by SIGKILLing Envoy (exec.CommandContext), so Envoy would
 * never shut down in order. Once Envoy exits, func-e exits by itself.
 */
async function stopLaunch(l: Launch, graceMs: number): Promise<EnvoyExit> {
  if (!l.isExited()) {
    const envoys = livePidsInGroup(l.pid).filter((p) => p !== l.pid);
    if (envoys.length) {
      for (const p of envoys) {
        try {
          process.kill(p, "SIGTERM");
        } catch {
          // exited in the meantime
        }
      }
    } else {
      signalGroup(l.pid, "SIGTERM"); // still starting Envoy, or Envoy already gone
    }
  }
  let exit = await Promise.race([l.exited, new Promise<null>((r) => setTimeout(r, graceMs, null))]);
  if (exit === null) {
    signalGroup(l.pid, "SIGKILL");
    exit = await l.exited;
  }
  // func-e is gone; make sure Envoy is too (Pdeathsig normally sees to it).
  if (!(await waitGroupGone(l.pid, graceMs))) {
    signalGroup(l.pid, "SIGKILL");
    if (!(await waitGroupGone(l.pid, 5_000))) {
      throw new Error(`processes ${livePidsInGroup(l.pid).join(",")} of Envoy "${l.name}" survived SIGKILL`);
    }
  }
  untrackGroup(l.pid);
  return exit;
}

function envoyChildPid(funcEPid: number): number {
  // func-e's only child in its group is Envoy.
  return livePidsInGroup(funcEPid).find((p) => p !== funcEPid) ?? -1;
}

interface ListenerStatus {
  name: string;
  local_address?: { socket_address?: { address?: string; port_value?: number } };
}

function hostFor(address: string | undefined): string {
  if (!address || address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "[::1]";
  return address.includes(":") ? `[${address}]` : address;
}

/**
 * Starts Envoy through func-e and resolves once it reports ready on /ready.
 * Rejects with EnvoyStartError (carrying the log) if Envoy exits first or is
 * not ready within readyTimeoutMs.
 */
export async function startEnvoy(opts: StartEnvoyOptions): Promise<Envoy> {
  const l = launch(opts);
  let adminUrl: string;
  const listeners: Record<string, number> = {};
  const hosts: Record<string, string> = {};
  try {
    const r = await waitReadyOrExit(l, opts.readyTimeoutMs ?? 20_000);
    if (r.state === "exited") {
      const exit = await l.exited;
      throw new EnvoyStartError(
        `Envoy "${l.name}" exited during startup (code ${exit.code}, signal ${exit.signal}); log tail:\n${tail(l.logs())}`,
        l.logs(),
      );
    }
    adminUrl = r.adminUrl;
    const body = JSON.parse((await adminGet(`${adminUrl}/listeners?format=json`)).body) as {
      listener_statuses?: ListenerStatus[];
    };
    for (const s of body.listener_statuses ?? []) {
      const sa = s.local_address?.socket_address;
      if (sa?.port_value === undefined) continue; // pipe / internal listeners have no port
      listeners[s.name] = sa.port_value;
      hosts[s.name] = hostFor(sa.address);
    }
  } catch (err) {
    await stopLaunch(l, 2_000).catch(() => undefined);
    removeDir(l);
    throw err;
  }

  const listenerName = (name?: string): string => {
    const names = Object.keys(listeners);
    if (name !== undefined) {
      if (!(name in listeners)) throw new Error(`Envoy "${l.name}" has no listener "${name}" (has: ${names.join(", ") || "none"})`);
      return name;
    }
    if (names.length !== 1) throw new Error(`Envoy "${l.name}" has ${names.length} listeners (${names.join(", ")}): name one`);
    return names[0]!;
  };

  let stopping: Promise<EnvoyExit> | undefined;
  const handle: Envoy = {
    name: l.name,
    pid: l.pid,
    envoyPid: envoyChildPid(l.pid),
    adminUrl,
    listeners,
    listenerPort: (name) => listeners[listenerName(name)]!,
    url: (path = "/", listener) => {
      const n = listenerName(listener);
      return `http://${hosts[n]}:${listeners[n]}${path}`;
    },
    async stats(filter) {
      const q = filter ? `&filter=${encodeURIComponent(filter)}` : "";
      const r = await adminGet(`${adminUrl}/stats?format=json${q}`);
      const parsed = JSON.parse(r.body) as { stats?: { name?: string; value?: number }[] };
      const out = new Map<string, number>();
      for (const s of parsed.stats ?? []) {
        if (typeof s.name === "string" && typeof s.value === "number") out.set(s.name, s.value); // histograms have no value
      }
      return out;
    },
    async stat(name) {
      return (await handle.stats(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`)).get(name);
    },
    promStats: async () => (await adminGet(`${adminUrl}/stats/prometheus`)).body,
    admin: (path, method = "GET") => adminGet(`${adminUrl}${path.startsWith("/") ? path : `/${path}`}`, method),
    logs: l.logs,
    waitForLog: (pattern, timeoutMs = 5_000) => waitForLog(l, pattern, timeoutMs),
    dir: l.dir,
    configPath: l.configPath,
    logFile: l.logFile,
    exited: l.exited,
    stop(o = {}) {
      stopping ??= stopLaunch(l, o.graceMs ?? 5_000);
      return stopping.then((exit) => {
        if (!o.keepDir) removeDir(l);
        return exit;
      });
    },
  };
  return handle;
}

function waitForLog(l: Launch, pattern: RegExp | string, timeoutMs: number): Promise<string> {
  const matches = (line: string) => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line));
  const find = () => l.logs().split("\n").find(matches);
  const found = find();
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      off();
      fn();
    };
    // Re-scan the whole buffer: a line may arrive split across chunks.
    const off = l.onLog(() => {
      const line = find();
      if (line !== undefined) finish(() => resolve(line));
    });
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log tail:\n${tail(l.logs())}`))),
      timeoutMs,
    );
  });
}

export interface EnvoyFailure extends EnvoyExit {
  logs: string;
}

/**
 * Starts Envoy with a config it is expected to refuse, and resolves with the
 * exit status and the log (where Envoy states the reason). Rejects if Envoy
 * becomes ready instead, or neither happens within readyTimeoutMs.
 */
export async function startEnvoyExpectFailure(
  config: object | string,
  opts: Omit<StartEnvoyOptions, "config"> = {},
): Promise<EnvoyFailure> {
  const l = launch({ ...opts, config, name: opts.name ?? "envoy-expect-failure" });
  try {
    const r = await waitReadyOrExit(l, opts.readyTimeoutMs ?? 20_000);
    if (r.state === "ready") {
      throw new Error(`Envoy "${l.name}" accepted a config that was expected to be rejected; log tail:\n${tail(l.logs())}`);
    }
    const exit = await stopLaunch(l, 2_000); // reaps anything left in the group
    return { ...exit, logs: l.logs() };
  } catch (err) {
    await stopLaunch(l, 2_000).catch(() => undefined);
    throw err;
  } finally {
    removeDir(l);
  }
}

export interface ValidationResult {
  ok: boolean;
  code: number;
  output: string;
}

/**
 * `envoy --mode validate`: parses and checks a config without starting
 * listeners. Accepts a file path, YAML text, or a bootstrap object. Does not
 * go through func-e (which has no validate mode of its own).
 */
export async function validateEnvoyConfig(config: object | string): Promise<ValidationResult> {
  const envoy = envoyPath();
  const isPath = typeof config === "string" && !config.includes("\n") && existsSync(config);
  const dir = isPath ? undefined : mkdtempSync(join(tmpdir(), "portico-validate-"));
  const file = isPath ? (config as string) : join(dir!, "envoy.yaml");
  if (dir) writeFileSync(file, configText(config));
  try {
    return await new Promise<ValidationResult>((resolve) => {
      execFile(
        envoy,
        ["--mode", "validate", "-c", file, "--log-level", "warning", "--disable-hot-restart"],
        { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
          resolve({ ok: code === 0, code, output: `${stdout}${stderr}` });
        },
      );
    });
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
