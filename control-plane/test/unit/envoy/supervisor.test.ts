// The supervisor's restart/stop logic, driven by stand-in "func-e" shell scripts so each case
// runs in milliseconds (the real func-e + Envoy are in control-plane/test/e2e/supervisor.test.ts).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { livePidsInGroup } from "../../../src/envoy/process-group.js";
import { EnvoySupervisor, RestartBackoff, type EnvoyStateChange, type EnvoySupervisorOptions } from "../../../src/envoy/supervisor.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

interface Harness {
  sup: EnvoySupervisor;
  dir: string;
  changes: EnvoyStateChange[];
  logs: { line: string; stream: string }[];
}

/** A supervisor running `script` (a /bin/sh body) as its func-e. */
function supervise(script: string, o: Partial<EnvoySupervisorOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), "portico-supervisor-unit-"));
  const funcE = join(dir, "fake-func-e");
  writeFileSync(funcE, `#!/bin/sh\n${script}\n`);
  chmodSync(funcE, 0o755);
  const changes: EnvoyStateChange[] = [];
  const logs: { line: string; stream: string }[] = [];
  const sup = new EnvoySupervisor({
    funcE,
    bootstrapPath: join(dir, "envoy.yaml"),
    workDir: join(dir, "work"),
    concurrency: 1,
    backoff: { initialMs: 20, maxMs: 80, resetAfterMs: 60_000 },
    stopGraceMs: 2_000,
    onState: (c) => changes.push(c),
    onLog: (line, stream) => logs.push({ line, stream }),
    ...o,
  });
  cleanups.push(async () => {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { sup, dir, changes, logs };
}

const states = (h: Harness) => h.changes.map((c) => c.state);

describe("RestartBackoff", () => {
  it("doubles from 250 ms to 10 s and starts over after a run of 30 s", () => {
    const b = new RestartBackoff({ initialMs: 250, maxMs: 10_000, resetAfterMs: 30_000 });
    expect(Array.from({ length: 8 }, () => b.next(100))).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(b.next(29_999)).toBe(10_000);
    expect(b.next(30_000)).toBe(250);
    expect(b.next(10)).toBe(500);
  });
});

describe("EnvoySupervisor", () => {
  it("restarts a run that exits on its own, backing off, and reports each exit and restart", async () => {
    const h = supervise(`echo "started as $FUNC_E_RUN_ID with $*"; echo "an error line" >&2; exit 3`);
    h.sup.start();
    await vi.waitFor(() => expect(h.changes.filter((c) => c.state === "backoff").length).toBeGreaterThanOrEqual(4), {
      timeout: 5_000,
      interval: 10,
    });
    await h.sup.stop();

    const backoffs = h.changes.filter((c) => c.state === "backoff");
    expect(backoffs.slice(0, 4).map((c) => c.restartInMs)).toEqual([20, 40, 80, 80]);
    expect(backoffs[0]!.exit).toMatchObject({ code: 3, signal: null });
    const running = h.changes.filter((c) => c.state === "running");
    expect(running.slice(0, 3).map((c) => c.restarts)).toEqual([0, 1, 2]);
    expect(new Set(running.map((c) => c.pid)).size).toBe(running.length); // a new process each time
    expect(states(h).at(-1)).toBe("stopped");

    const out = h.logs.filter((l) => l.stream === "stdout").map((l) => l.line);
    expect(out[0]).toMatch(
      /^started as \S+ with run -c .*envoy\.yaml --admin-address-path .* --concurrency 1 --disable-hot-restart --log-level info$/,
    );
    expect(new Set(out.map((l) => l.split(" ")[2])).size).toBe(out.length); // one func-e run id per run
    expect(h.logs).toContainEqual({ line: "an error line", stream: "stderr" });
  });

  it("does not restart after stop(), even with a restart pending", async () => {
    const h = supervise("exit 1", { backoff: { initialMs: 100 } });
    h.sup.start();
    await vi.waitFor(() => expect(h.sup.state).toBe("backoff"), { timeout: 5_000, interval: 5 });
    await h.sup.stop();
    // Proving that nothing happens needs a wait: well past the pending restart's 100 ms.
    await new Promise((r) => setTimeout(r, 300));
    expect(states(h)).toEqual(["running", "backoff", "stopped"]);
  });

  it("stops Envoy with SIGTERM to Envoy itself, not to func-e, and leaves no process behind", async () => {
    // Stand-in func-e: starts a stand-in Envoy and reports how it ended, or that it got SIGTERM itself.
    const h = supervise(`trap 'echo "func-e got SIGTERM"; exit 9' TERM
sleep 300 &
echo "envoy pid $!"
wait $!
echo "envoy exited with $?"`);
    const exitListeners = process.listenerCount("exit");
    h.sup.start();
    await vi.waitFor(() => expect(h.logs.some((l) => l.line.startsWith("envoy pid"))).toBe(true), { timeout: 5_000, interval: 5 });
    const pgid = h.sup.pid!;
    const envoy = h.sup.envoyPid();
    expect(envoy).toBe(Number(h.logs.find((l) => l.line.startsWith("envoy pid"))!.line.split(" ")[2]));

    await h.sup.stop();
    expect(h.logs.map((l) => l.line)).toContain("envoy exited with 143"); // 128 + SIGTERM
    expect(h.logs.map((l) => l.line)).not.toContain("func-e got SIGTERM");
    expect(h.changes.at(-1)).toMatchObject({ state: "stopped", exit: { code: 0 } });
    expect(livePidsInGroup(pgid)).toEqual([]);
    expect(isAlive(envoy!)).toBe(false);
    expect(h.sup.pid).toBeUndefined();
    expect(process.listenerCount("exit")).toBe(exitListeners);
  });

  it("kills an Envoy whose func-e died before starting the next run", async () => {
    const h = supervise(`sleep 300 &
echo "envoy pid $!"
wait`);
    h.sup.start();
    await vi.waitFor(() => expect(h.logs.some((l) => l.line.startsWith("envoy pid"))).toBe(true), { timeout: 5_000, interval: 5 });
    const envoy = h.sup.envoyPid()!;
    process.kill(h.sup.pid!, "SIGKILL"); // func-e dies; its Envoy would keep the ports
    await vi.waitFor(() => expect(h.sup.state).toBe("backoff"), { timeout: 5_000, interval: 5 });
    expect(isAlive(envoy)).toBe(false);
    expect(h.changes.find((c) => c.state === "backoff")!.exit).toMatchObject({ signal: "SIGKILL" });
    await vi.waitFor(() => expect(h.changes.filter((c) => c.state === "running")).toHaveLength(2), { timeout: 5_000, interval: 5 });
  });

  it("stops a func-e that is still starting (no Envoy yet) through its process group", async () => {
    const h = supervise("exec sleep 300");
    h.sup.start();
    const pgid = h.sup.pid!;
    await h.sup.stop();
    expect(h.changes.at(-1)).toMatchObject({ state: "stopped", exit: { signal: "SIGTERM" } });
    expect(livePidsInGroup(pgid)).toEqual([]);
  });

  it("makes ready() fail once stopped instead of waiting forever", async () => {
    const h = supervise("exit 1");
    h.sup.start();
    const ready = h.sup.ready({ timeoutMs: 60_000 });
    await h.sup.stop();
    await expect(ready).rejects.toThrow(/stopped before Envoy became ready/);
  });

  it("refuses to start with a func-e that is not executable, and to start twice", () => {
    const missing = new EnvoySupervisor({
      funcE: "/nonexistent/func-e",
      bootstrapPath: "/x.yaml",
      workDir: join(tmpdir(), "portico-unused"),
    });
    expect(() => missing.start()).toThrow("func-e at /nonexistent/func-e is not an executable file");
    const h = supervise("exec sleep 300");
    h.sup.start();
    expect(() => h.sup.start()).toThrow(/cannot start: it is running/);
  });
});
