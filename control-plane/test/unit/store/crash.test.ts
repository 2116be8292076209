// A process killed (SIGKILL) in the middle of API writes never leaves a half-written config, and
// loses nothing it acknowledged: after each kill the file loads, and holds the last acknowledged
// write or the one after it (written, killed before it could say so).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { fakeFiltersDir } from "../../support/golden.js";

const dir = mkdtempSync(join(tmpdir(), "portico-crash-"));
const filtersDir = fakeFiltersDir();
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});
const path = join(dir, "gateway.yaml");
const writer = new URL("../../fixtures/store-writer.ts", import.meta.url).pathname;

async function writeThenKill(afterCommits: number): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", writer, path, filtersDir], { stdio: ["ignore", "pipe", "pipe"] });
  let last = 0;
  let err = "";
  let killing = false;
  child.stderr.on("data", (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      for (const m of d.toString().matchAll(/committed (\d+)/g)) last = Number(m[1]);
      // Then at a random instant of the following writes: the kill must be able to land anywhere.
      if (last >= afterCommits && !killing) {
        killing = true;
        setTimeout(() => child.kill("SIGKILL"), Math.random() * 20);
      }
    });
    child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`writer exited ${code}: ${err}`))));
  });
  return last;
}

describe("crash during API writes", () => {
  it("never leaves a half-written file and keeps every acknowledged write", async () => {
    writeFileSync(
      path,
      'listeners: [{ name: public, port: 8080 }]\nroutes: [{ name: r, upstream: a }]\nupstreams: [{ name: a, endpoints: ["127.0.0.1:1"] }]\n',
    );
    for (let round = 0; round < 25; round++) {
      const acknowledged = await writeThenKill(2 + (round % 5));
      const text = readFileSync(path, "utf8");
      const loaded = await loadGatewayConfig(text, { source: path, baseDir: dir, filtersDir });
      expect(loaded.ok, `round ${round}: the file must load after a kill:\n${text.slice(0, 500)}`).toBe(true);
      const timeout = parse(text).upstreams[0].connect_timeout as string;
      const inFile = Number(timeout.replace("ms", ""));
      // Each round starts counting at 1 again, so the file holds this round's last write: the
      // acknowledged one or the one after it (written, killed before it could say so).
      expect([acknowledged, acknowledged + 1], `round ${round}`).toContain(inFile);
    }
  }, 120_000);
});
