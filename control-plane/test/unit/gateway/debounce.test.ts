// The file watch coalesces saves (docs/control-plane.md: 150 ms quiet window, at most 1 s): a
// burst of saves is applied once after the burst; a steady stream of saves, none of them ever
// followed by a quiet window, is still applied by the cap. The real Debouncer on fake timers
// (the gateway's own windows), and the real ConfigFileWatcher on real files with small windows.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Debouncer } from "../../../src/gateway/debounce.js";
import { ConfigFileWatcher } from "../../../src/gateway/file-watcher.js";
import { pollUntil } from "../../../../test/support/poll.js";

describe("Debouncer with the gateway's windows (150 ms quiet, 1 s cap)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const start = () => {
    vi.useFakeTimers();
    const runs: number[] = [];
    const t0 = Date.now();
    const d = new Debouncer(
      async () => {
        runs.push(Date.now() - t0);
      },
      { quietMs: 150, maxDelayMs: 1000 },
    );
    return { d, runs };
  };

  it("applies a burst of saves, each within the quiet window of the last, once, 150 ms after the last", async () => {
    const { d, runs } = start();
    for (let i = 0; i < 10; i++) {
      d.trigger();
      await vi.advanceTimersByTimeAsync(50);
    }
    // Last save at 450 ms; 50 ms of quiet so far: nothing applied yet.
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(99);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([600]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs, "applied once").toEqual([600]);
  });

  it("applies a continuous stream of saves by the 1 s cap, not only when it stops", async () => {
    const { d, runs } = start();
    // A save every 100 ms for 3 s: never 150 ms of quiet.
    for (let t = 0; t < 3000; t += 100) {
      d.trigger();
      await vi.advanceTimersByTimeAsync(100);
    }
    // Each burst is cut at 1 s after its first save: at 1000 ms, then 1 s after the next save.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]).toBe(1000);
    for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeLessThanOrEqual(1100);
    d.stop();
  });
});

describe("ConfigFileWatcher on real saves (quiet 100 ms, cap 500 ms)", () => {
  let dir: string | undefined;
  let watcher: ConfigFileWatcher | undefined;
  afterEach(() => {
    watcher?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const setUp = () => {
    dir = mkdtempSync(join(tmpdir(), "portico-watch-"));
    const path = join(dir, "gateway.yaml");
    writeFileSync(path, "a: 0\n");
    const changes: number[] = [];
    watcher = new ConfigFileWatcher({
      path,
      onChange: async () => {
        changes.push(Date.now());
      },
      log: () => {},
      debounce: { quietMs: 100, maxDelayMs: 500 },
    });
    watcher.start();
    let n = 0;
    /** An editor's save: write a temp file and rename it over the config. */
    const saveFile = () => {
      writeFileSync(`${path}.tmp`, `a: ${++n}\n`);
      renameSync(`${path}.tmp`, path);
    };
    return { changes, saveFile };
  };

  it("a burst of 10 saves 20 ms apart is one change, reported after the burst", async () => {
    const { changes, saveFile } = setUp();
    for (let i = 0; i < 10; i++) {
      saveFile();
      await new Promise((r) => setTimeout(r, 20));
    }
    const lastSave = Date.now();
    expect(changes, "nothing reported while the saves keep coming").toEqual([]);
    await pollUntil(
      async () => changes.length,
      (n) => n > 0,
      { timeoutMs: 2000, intervalMs: 10, what: "the change reported" },
    );
    // Nothing further arrives: a second report would be at most another quiet window away.
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toBeGreaterThanOrEqual(lastSave);
  });

  it("a save every 40 ms for 1.5 s is reported by the cap while it goes on", async () => {
    const { changes, saveFile } = setUp();
    const start = Date.now();
    while (Date.now() - start < 1500) {
      saveFile();
      await new Promise((r) => setTimeout(r, 40));
    }
    const reportedDuring = changes.filter((t) => t < start + 1500);
    expect(reportedDuring.length, "reports during the stream (a 500 ms cap over 1.5 s)").toBeGreaterThanOrEqual(2);
  });
});
