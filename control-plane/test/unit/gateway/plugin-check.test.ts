// The running control plane judges plugin configs with the filter itself, on both ways in: a
// real ControlPlane (no Envoy) following a real file, with the real built filters (dist/filters).
// A bad rate-limit config saved to the file and one sent through the admin API are both refused
// with the filter's own message at the config's place, and the previous config stays in force.
// Without the checker handed to the config source's loader, both would be accepted (only
// `portico validate` would say no) and Envoy would be the first to refuse them.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ControlPlane } from "../../../src/control-plane.js";
import type { ApplyOutcome } from "../../../src/gateway/gateway.js";
import { silentLog } from "../../../src/log.js";
import { builtFilter } from "../../../../test/support/wasm-fixtures.js";

const rule = (requests: number) => `[{ name: per_ip, match: {}, requests: ${requests}, period_s: 10, key: [{ client_ip: true }] }]`;
const yaml = (requests: number) => `listeners:
  - name: public
    port: 8080
routes:
  - name: api
    upstream: a
    plugins: [limit]
upstreams:
  - name: a
    endpoints: ["127.0.0.1:9001"]
plugins:
  - name: limit
    filter: rate-limit
    config:
      rules: ${rule(requests)}
`;

let dir: string;
let path: string;
let cp: ControlPlane;

const api = (method: string, p: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${cp.httpPort}${p}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
/** The rate-limit rules the config in force hands to the filter. */
const rulesInForce = () => {
  const limit = cp.gateway.model!.plugins.find((p) => p.name === "limit");
  if (limit?.kind !== "wasm") throw new Error("no Wasm plugin named limit");
  return JSON.parse(limit.config).rules as { requests: number }[];
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "portico-plugin-check-"));
  path = join(dir, "gateway.yaml");
  writeFileSync(path, yaml(5));
  cp = new ControlPlane({
    configPath: path,
    filtersDir: dirname(builtFilter("rate-limit")),
    log: silentLog,
    xds: { host: "127.0.0.1", port: 0 },
    http: { host: "127.0.0.1", port: 0 },
    debounce: { quietMs: 30, maxDelayMs: 300 },
  });
  await cp.start();
}, 60_000);
afterEach(async () => {
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the running control plane checks plugin configs with the filter", () => {
  it("a bad plugin config saved to the file is refused at its line with the filter's message; the config in force stays", async () => {
    const before = cp.gateway.model;
    expect(rulesInForce()).toMatchObject([{ requests: 5 }]);
    const wakes = vi.spyOn(cp.source, "filesChanged");
    writeFileSync(`${path}.editor`, yaml(-1));
    renameSync(`${path}.editor`, path);
    await vi.waitFor(() => expect(wakes.mock.calls.length).toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
    const settled = (await Promise.all(wakes.mock.results.map((r) => r.value as Promise<ApplyOutcome | undefined>))).filter(Boolean);
    expect(settled).toMatchObject([{ ok: false }]);
    const last = cp.source.last!;
    expect(last).toMatchObject({ ok: false, origin: `file ${path}` });
    // The filter's own words (its field path inside the config), at the config's line in the file.
    expect(last.error).toMatch(/gateway\.yaml:15:\d+: plugins\[0\]\.config: rate-limit: invalid configuration: rules\[0\]\.requests: /);
    expect(cp.gateway.model).toBe(before);
    expect(rulesInForce()).toMatchObject([{ requests: 5 }]);
  });

  it("a bad plugin config sent through the admin API is refused with the filter's message; file and config in force stay", async () => {
    const text = readFileSync(path, "utf8");
    const before = cp.gateway.model;
    const r = await api("PUT", "/plugins/limit", {
      filter: "rate-limit",
      config: { rules: [{ name: "per_ip", match: {}, requests: -1, period_s: 10, key: [{ client_ip: true }] }] },
    });
    expect(r.status).toBe(400);
    // The filter's own words, at the config's place in the file the write would have produced.
    expect(await r.json()).toMatchObject({
      error: "invalid",
      errors: [
        {
          path: "plugins[0].config",
          line: 15,
          message: expect.stringMatching(/^rate-limit: invalid configuration: rules\[0\]\.requests: /),
        },
      ],
    });
    expect(readFileSync(path, "utf8")).toBe(text);
    expect(cp.gateway.model).toBe(before);
    expect(rulesInForce()).toMatchObject([{ requests: 5 }]);
    // A good one goes through the same way: the check is the filter's verdict, not a blanket no.
    const ok = await api("PUT", "/plugins/limit", {
      filter: "rate-limit",
      config: { rules: [{ name: "per_ip", match: {}, requests: 7, period_s: 10, key: [{ client_ip: true }] }] },
    });
    expect(ok.status).toBe(200);
    expect(rulesInForce()).toMatchObject([{ requests: 7 }]);
  });
});
