// The `portico` command as a user runs it: validate (with the filter's own verdict on plugin
// configs), bootstrap (accepted by `envoy --mode validate`), and run (control plane + a local
// Envoy through func-e, serving the file's routes; SIGTERM stops everything).
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort, isAlive, parseEcho, pollUntil, repoRoot, request, useEchoUpstream, validateEnvoyConfig } from "../../../test/support/index.js";

const BIN = join(repoRoot, "bin/portico.mjs");
const dir = mkdtempSync(join(tmpdir(), "portico-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const echo = useEchoUpstream("all");

function portico(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: repoRoot, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }));
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("portico validate", () => {
  it("accepts the example gateway.yaml", async () => {
    const r = await portico(["validate", "-c", "gateway.yaml"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/gateway\.yaml: valid \(1 listeners, 3 routes, 2 upstreams, 3 plugins\)/);
  });

  it("reports every error with file, line and path, and exits 1", async () => {
    const path = file("bad.yaml", [
      "listeners:",
      "  - { name: public, port: 8080 }",
      "routes:",
      "  - name: r",
      "    upstream: missing",
      "upstreams:",
      "  - { name: u, endpoints: [\"127.0.0.1:9\"], lb: fastest }",
    ].join("\n"));
    const r = await portico(["validate", "-c", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bad.yaml:5:15: routes[0].upstream: no upstream named \"missing\"");
    expect(r.stderr).toMatch(/bad\.yaml:7:\d+: upstreams\[0\]\.lb: /);
    expect(r.stderr).toContain("2 error(s); nothing would be applied");
  });

  it("gives the filter's own verdict on a plugin config, at the config's line", async () => {
    const path = file("plugin.yaml", [
      "plugins:",
      "  - name: limit",
      "    filter: rate-limit",
      "    config:",
      "      rules: [{ name: r, match: {}, requests: -1, period_s: 1, key: [{ client_ip: true }] }]",
    ].join("\n"));
    const r = await portico(["validate", "-c", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/plugin\.yaml:5:\d+: plugins\[0\]\.config: .*rules\[0\]\.requests/);
  });
});

describe("portico bootstrap", () => {
  it("prints a bootstrap Envoy accepts, naming the node and the control plane", async () => {
    const r = await portico(["bootstrap", "--node", "edge-7", "--xds", "cp.internal:18000"]);
    expect(r.code).toBe(0);
    const b = parse(r.stdout);
    expect(b.node.id).toBe("edge-7");
    expect(JSON.stringify(b.static_resources.clusters)).toContain("cp.internal");
    const v = await validateEnvoyConfig(r.stdout);
    expect(v.ok, v.output).toBe(true);
  });

  it("refuses without --node", async () => {
    const r = await portico(["bootstrap"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--node NAME is required");
  });
});

describe("portico run", () => {
  it("serves the file's routes through a supervised Envoy and stops cleanly on SIGTERM", async () => {
    const up = await echo();
    const [listen, xds, http, admin] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const path = file("run.yaml", [
      "listeners: [{ name: public, address: 127.0.0.1, port: " + listen + " }]",
      "routes: [{ name: all, upstream: echo, plugins: [stamp] }]",
      `upstreams: [{ name: echo, endpoints: ["127.0.0.1:${up.port}"] }]`,
      "plugins:",
      "  - { name: stamp, filter: header-rewrite, config: { rules: [{ name: s, request: { set: { x-via: portico-run } } }] } }",
    ].join("\n"));
    const child = spawn(process.execPath, [BIN, "run", "-c", path, "--xds", `127.0.0.1:${xds}`, "--http", `127.0.0.1:${http}`, "--admin", `127.0.0.1:${admin}`, "--concurrency", "1"],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await pollUntil(async () => {
        if (child.exitCode !== null) throw new Error(`portico run exited with ${child.exitCode}:\n${out}`);
        return out;
      }, (o) => o.includes("portico is running."), { timeoutMs: 60_000, intervalMs: 50, what: "portico run to come up" });
      expect(out).toContain(`listener public: http://127.0.0.1:${listen}/`);
      const r = await request(`http://127.0.0.1:${listen}/hello`);
      expect(r.status).toBe(200);
      expect(parseEcho(r.body).headers).toContainEqual(["x-via", "portico-run"]);
      const status = JSON.parse((await request(`http://127.0.0.1:${http}/status`)).body);
      expect(status.envoys.map((n: { nodeId: string }) => n.nodeId)).toEqual(["portico-local"]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(child.pid && isAlive(child.pid)).toBe(false);
    // No Envoy left behind: the admin port is free again.
    await expect(request(`http://127.0.0.1:${admin}/ready`, { timeoutMs: 1000 })).rejects.toThrow();
  }, 90_000);
});
