// The suite module is config too (plugins_in_one_filter): a new build of the suite.wasm the
// model runs is a change the gateway reloads for, as for a plugin's module.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "../../../../test/support/index.js";
import { ConfigFileWatcher } from "../../../src/gateway/file-watcher.js";
import type { GatewayModel } from "../../../src/model/types.js";

describe("ConfigFileWatcher.follow", () => {
  let dir: string | undefined;
  let watcher: ConfigFileWatcher | undefined;
  afterEach(() => {
    watcher?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reports a new build of the suite module the model runs as a dependency change", async () => {
    dir = mkdtempSync(join(tmpdir(), "portico-follow-suite-"));
    const filters = join(dir, "filters");
    const suite = join(filters, "suite.wasm");
    mkdirSync(filters);
    writeFileSync(suite, "v1");
    const path = join(dir, "gateway.yaml");
    writeFileSync(path, "a: 0\n");
    const changes: { dependencies: boolean }[] = [];
    watcher = new ConfigFileWatcher({
      path,
      onChange: async (c) => {
        changes.push(c);
      },
      log: () => {},
      debounce: { quietMs: 50, maxDelayMs: 200 },
    });
    watcher.start();
    const model: GatewayModel = {
      listeners: [],
      routes: [],
      upstreams: [],
      plugins: [],
      consumers: [],
      rateLimitService: null,
      suite: { module: { sha256: "0".repeat(64), path: suite, size: 2 } },
    };
    watcher.follow(model);
    // A build replaces the file (write, then rename over it).
    writeFileSync(`${suite}.tmp`, "v2");
    renameSync(`${suite}.tmp`, suite);
    await pollUntil(
      async () => changes.length,
      (n) => n > 0,
      { timeoutMs: 3000, intervalMs: 10, what: "the suite module's change reported" },
    );
    expect(changes[0]).toEqual({ dependencies: true });
  });
});
