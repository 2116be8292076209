// Every change takes one path (gateway/config-source.ts): a real control plane (xDS and admin
// HTTP on free ports, no Envoy) following a real file. The loader is counted through the
// control plane's `load` seam and the gateway's applies through a spy: an admin API write is
// loaded once and applied once, the watcher waking on the API's own rename loads nothing, a hand
// edit is loaded once, and a write the gateway refuses leaves the file and the config in force.
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { parse } from "yaml";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { ControlPlane } from "../../../src/control-plane.js";
import { silentLog } from "../../../src/log.js";
import { fakeFiltersDir } from "../../support/golden.js";

const YAML = `# edited by hand and through the API
listeners:
  - name: public
    port: 8080
routes:
  - name: api
    match: { path: { prefix: /api/ } }
    upstream: a
upstreams:
  - name: a
    endpoints: ["127.0.0.1:9001"]
`;

let dir: string;
let filtersDir: string;
let path: string;
let cp: ControlPlane;
let loads: string[];
let applies: MockInstance<ControlPlane["gateway"]["apply"]>;
let wakes: MockInstance<ControlPlane["source"]["filesChanged"]>;

/** Saves the way an editor does (write, then rename over). */
const handEdit = (text: string) => {
  writeFileSync(`${path}.editor`, text);
  renameSync(`${path}.editor`, path);
};
const api = (method: string, p: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${cp.httpPort}${p}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const status = async () =>
  (await (await fetch(`http://127.0.0.1:${cp.httpPort}/status`)).json()) as {
    config: { applied: { ok: boolean; origin: string }; lastAttempt: { ok: boolean; origin: string; error?: string }; pushes: number };
  };
/** Resolves once the watcher has woken `n` times in all and every wake has settled. */
async function watcherSettled(n: number): Promise<unknown[]> {
  await vi.waitFor(() => expect(wakes.mock.calls.length).toBeGreaterThanOrEqual(n), { timeout: 5_000, interval: 10 });
  return Promise.all(wakes.mock.results.map((r) => r.value));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "portico-one-path-"));
  filtersDir = fakeFiltersDir();
  path = join(dir, "gateway.yaml");
  writeFileSync(path, YAML);
  loads = [];
  cp = new ControlPlane({
    configPath: path,
    filtersDir,
    log: silentLog,
    xds: { host: "127.0.0.1", port: 0 },
    http: { host: "127.0.0.1", port: 0 },
    debounce: { quietMs: 30, maxDelayMs: 300 },
    load: (text, o) => {
      loads.push(text);
      return loadGatewayConfig(text, o);
    },
  });
  await cp.start();
  applies = vi.spyOn(cp.gateway, "apply");
  wakes = vi.spyOn(cp.source, "filesChanged");
});
afterEach(async () => {
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});

describe("one path for every change", () => {
  it("an API write is loaded once and applied once; the watcher waking on its rename loads nothing", async () => {
    expect(loads).toHaveLength(1); // start-up
    const pushes = (await status()).config.pushes;
    const r = await api("PUT", "/upstreams/b", { endpoints: ["127.0.0.1:9002"] });
    expect(r.status).toBe(201);
    expect(loads).toHaveLength(2);
    expect(applies).toHaveBeenCalledTimes(1);
    expect((await status()).config).toMatchObject({ pushes: pushes + 1, lastAttempt: { ok: true, origin: "admin API PUT /upstreams/b" } });
    // The rename wakes the watcher; it finds the text it last loaded and stops there.
    expect(await watcherSettled(1)).toEqual(wakes.mock.calls.map(() => undefined));
    expect(loads).toHaveLength(2);
    expect(applies).toHaveBeenCalledTimes(1);
    expect(cp.gateway.model!.upstreams.map((u) => u.name)).toEqual(["a", "b"]);
    expect((await status()).config.pushes).toBe(pushes + 1);
  });

  it("a DELETE is loaded once: refused with 409 from that load's references, or applied", async () => {
    const refused = await api("DELETE", "/upstreams/a");
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("routes[0] (api)");
    expect(loads).toHaveLength(2);
    expect(applies).not.toHaveBeenCalled();
    expect(await api("PUT", "/routes/api", { match: { path: { prefix: "/api/" } }, upstream: "b" })).toHaveProperty("status", 400);
    expect(loads).toHaveLength(3);
    expect((await api("PUT", "/upstreams/b", { endpoints: ["127.0.0.1:9002"] })).status).toBe(201);
    expect((await api("PUT", "/routes/api", { match: { path: { prefix: "/api/" } }, upstream: "b" })).status).toBe(200);
    expect(loads).toHaveLength(5);
    expect((await api("DELETE", "/upstreams/a")).status).toBe(204);
    expect(loads).toHaveLength(6);
    expect(applies).toHaveBeenCalledTimes(3);
  });

  it("a hand edit of the file is loaded once and applied once", async () => {
    handEdit(YAML.replace("9001", "9009"));
    const outcomes = await watcherSettled(1);
    expect(outcomes.filter(Boolean)).toMatchObject([{ ok: true, origin: `file ${path}`, kind: "endpoints" }]);
    expect(loads).toHaveLength(2);
    expect(loads[1]).toContain("9009");
    expect(applies).toHaveBeenCalledTimes(1);
    expect(cp.gateway.model!.upstreams[0]!.endpoints).toMatchObject([{ host: "127.0.0.1", port: 9009 }]);
  });

  it("an API write made right after a hand edit builds on the edit: neither is lost", async () => {
    handEdit(YAML.replace("9001", "9009"));
    // Before the watcher's quiet window ends: the store re-reads the file itself.
    expect((await api("PUT", "/upstreams/b", { endpoints: ["127.0.0.1:9002"] })).status).toBe(201);
    await watcherSettled(1);
    const file = parse(readFileSync(path, "utf8"));
    expect(file.upstreams).toEqual([
      { name: "a", endpoints: ["127.0.0.1:9009"] },
      { name: "b", endpoints: ["127.0.0.1:9002"] },
    ]);
    expect(cp.gateway.model!.upstreams.map((u) => [u.name, u.endpoints[0]!.port])).toEqual([
      ["a", 9009],
      ["b", 9002],
    ]);
    // Each text was loaded once: the hand edit at most once (if the watcher got there first), the write once.
    expect(new Set(loads).size).toBe(loads.length);
  });

  it("a write refused after validation leaves the previous file and config in force, with no second apply", async () => {
    // Readable files, so the loader accepts them; not PEM, so the gateway refuses them.
    writeFileSync(join(dir, "bad.pem"), "not a certificate\n");
    writeFileSync(join(dir, "bad.key"), "not a key\n");
    const before = { text: readFileSync(path, "utf8"), stat: statSync(path), model: cp.gateway.model };
    const r = await api("PUT", "/listeners/secure", { port: 8443, tls: { certificates: [{ cert: "bad.pem", key: "bad.key" }] } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/bad\.pem: not a PEM certificate/);
    expect(loads).toHaveLength(2);
    expect(applies).toHaveBeenCalledTimes(1);
    // Never written, so never put back: same file (same inode, same mtime), nothing to wake the watcher.
    const after = statSync(path);
    expect(readFileSync(path, "utf8")).toBe(before.text);
    expect([after.ino, after.mtimeMs]).toEqual([before.stat.ino, before.stat.mtimeMs]);
    expect(cp.gateway.model).toBe(before.model);
    const s = (await status()).config;
    expect(s.lastAttempt).toMatchObject({ ok: false, origin: "admin API PUT /listeners/secure" });
    expect(cp.gateway.model!.listeners.map((l) => l.name)).toEqual(["public"]);
    expect(await (await fetch(`http://127.0.0.1:${cp.httpPort}/metrics`)).text()).toMatch(/^portico_config_rejected_total 1$/m);
    // The next write goes through as usual: one load, one apply.
    expect((await api("PUT", "/upstreams/b", { endpoints: ["127.0.0.1:9002"] })).status).toBe(201);
    expect(loads).toHaveLength(3);
    expect(applies).toHaveBeenCalledTimes(2);
    expect(parse(readFileSync(path, "utf8")).listeners).toEqual([{ name: "public", port: 8080 }]);
  });
});
