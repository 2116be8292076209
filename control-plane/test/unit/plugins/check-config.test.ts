// The plugin config checker against the real suite filters (and a few fixture modules that fail
// in the ways a user's module can): what it accepts, and what it says when it refuses.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createPluginChecker, type PluginChecker } from "../../../src/plugins/check-config.js";
import { builtFilter, fixtureWasm } from "../../../../test/support/wasm-fixtures.js";

interface Module { bytes: Uint8Array; sha256: string }

function moduleOf(bytes: Uint8Array): Module {
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

const modules: Record<string, Module> = {};
beforeAll(() => {
  for (const name of ["jwt-auth", "rate-limit", "header-rewrite"]) modules[name] = moduleOf(readFileSync(builtFilter(name)));
  for (const name of ["emu-probe", "emu-fastedge", "emu-start-metric"]) modules[name] = moduleOf(readFileSync(fixtureWasm(name)));
}, 300_000);

afterEach(() => vi.restoreAllMocks());

function checkWith(check: PluginChecker, filter: string, config: unknown, rootId = filter): Promise<string[]> {
  const m = modules[filter]!;
  return check({ ...m, rootId, name: filter.replaceAll("-", "_"), config: typeof config === "string" ? config : JSON.stringify(config) }).then((r) => r.errors);
}

const jwtProvider = {
  name: "idp",
  issuer: "https://idp.example.com",
  audiences: ["api"],
  remote_jwks: { cluster: "idp_jwks", path: "/.well-known/jwks.json", authority: "idp.example.com" },
  claims_to_headers: [{ claim: "sub", header: "x-user" }],
};
const jwtConfig = { providers: [jwtProvider], rules: [{ match: { path: { prefix: "/health" } }, requires: [] }, { match: {}, requires: ["idp"] }] };
const rateLimitConfig = { rules: [{ name: "per_client", requests: 100, period_s: 60, key: [{ client_ip: true }] }] };
const headerRewriteConfig = { rules: [{ request: { set: { "x-gateway": "portico" }, remove: ["x-internal"] } }] };

describe("suite filters", () => {
  const check = createPluginChecker();

  it("accepts the documented configurations of each filter", async () => {
    expect(await checkWith(check, "jwt-auth", jwtConfig)).toEqual([]);
    expect(await checkWith(check, "rate-limit", rateLimitConfig)).toEqual([]);
    expect(await checkWith(check, "header-rewrite", headerRewriteConfig)).toEqual([]);
  });

  it("refuses a rate-limit config with the filter's own message, naming the field", async () => {
    const reasons = await checkWith(check, "rate-limit", { rules: [{ name: "r", requests: 0, period_s: 10 }] });
    expect(reasons).toEqual(["rate-limit: invalid configuration: rules[0].requests: must be an integer from 1 to 1000000"]);
  });

  it("refuses a misspelt jwt-auth field and reports every other problem of the config too", async () => {
    const { issuer, ...rest } = jwtProvider;
    const reasons = await checkWith(check, "jwt-auth", { ...jwtConfig, providers: [{ ...rest, isuer: issuer }] });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain("jwt-auth: invalid configuration");
    expect(reasons[0]).toContain("providers[0].isuer: unknown field");
    expect(reasons[0]).toContain("providers[0].issuer: is required");
  });

  it("refuses a header-rewrite change to a pseudo-header and an empty config", async () => {
    expect(await checkWith(check, "header-rewrite", { rules: [{ request: { set: { ":method": "PUT" } } }] })).toEqual([
      "header-rewrite: invalid configuration: rules[0].request.set.:method: pseudo-header :method cannot be changed here " +
        "(only `set` of :path or :authority on requests)",
    ]);
    expect((await checkWith(check, "header-rewrite", "")).join("\n")).toContain("rules: is required");
  });

  it("refuses text that is not JSON", async () => {
    expect((await checkWith(check, "rate-limit", "{rules:")).join("\n")).toMatch(/rate-limit: invalid configuration: .*not valid JSON/);
  });

  it("checks each config on its own: a refused config does not affect the next check of the module", async () => {
    expect(await checkWith(check, "rate-limit", { rules: [] })).not.toEqual([]);
    expect(await checkWith(check, "rate-limit", rateLimitConfig)).toEqual([]);
  });
});

describe("modules that cannot run", () => {
  const check = createPluginChecker();
  const run = (m: Module, rootId = "x") => check({ ...m, rootId, name: "p", config: "{}" }).then((r) => r.errors);

  it("says so when the bytes are not WebAssembly at all", async () => {
    expect(await run(moduleOf(new TextEncoder().encode("<html>not found</html>")))).toEqual([
      "the module is not a WebAssembly binary (it does not start with the \\0asm magic bytes)",
    ]);
    expect(await run(moduleOf(new Uint8Array(0)))).toEqual([expect.stringContaining("not a WebAssembly binary")]);
  });

  it("says so when a WebAssembly binary is truncated", async () => {
    const truncated = modules["rate-limit"]!.bytes.subarray(0, 1000);
    const reasons = await run(moduleOf(truncated));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^the module is not valid WebAssembly: /);
  });

  it("refuses a module that imports host calls Envoy does not link, naming them", async () => {
    const reasons = await run(modules["emu-fastedge"]!, "emu-fastedge");
    expect(reasons).toEqual([expect.stringContaining("missing import: env.proxy_dictionary_get")]);
  });

  it("refuses a module that crashes while starting, with the crash reason", async () => {
    const reasons = await run(modules["emu-start-metric"]!, "emu-start-metric");
    expect(reasons).toEqual([expect.stringMatching(/crashed while starting.*proxy_define_metric/s)]);
  });

  it("refuses a filter that rejects its config without logging why, and says that", async () => {
    expect((await check({ ...modules["emu-probe"]!, rootId: "emu-probe", name: "p", config: "reject" })).errors).toEqual([
      "the filter refused its configuration (proxy_on_configure returned false) without logging a reason",
    ]);
    expect((await check({ ...modules["emu-probe"]!, rootId: "emu-probe", name: "p", config: "fine" })).errors).toEqual([]);
  });
});

describe("compiled module cache", () => {
  it("compiles a module once per sha256, however many configs are checked", async () => {
    const compile = vi.spyOn(WebAssembly, "compile");
    const check = createPluginChecker();
    for (let i = 1; i <= 3; i++) {
      expect(await checkWith(check, "rate-limit", { rules: [{ name: "r", requests: i, period_s: 1 }] })).toEqual([]);
    }
    expect(compile).toHaveBeenCalledTimes(1);
    await checkWith(check, "header-rewrite", headerRewriteConfig);
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it("drops the least recently used module beyond its capacity", async () => {
    const compile = vi.spyOn(WebAssembly, "compile");
    const check = createPluginChecker({ maxCachedModules: 1 });
    await checkWith(check, "rate-limit", rateLimitConfig);
    await checkWith(check, "header-rewrite", headerRewriteConfig);
    await checkWith(check, "rate-limit", rateLimitConfig);
    expect(compile).toHaveBeenCalledTimes(3);
  });

  it("does not keep a failed compilation: the same sha256 with good bytes then works", async () => {
    const check = createPluginChecker();
    const good = modules["rate-limit"]!;
    const config = JSON.stringify(rateLimitConfig);
    expect((await check({ bytes: good.bytes.subarray(0, 100), sha256: good.sha256, rootId: "rate-limit", name: "r", config })).errors).toHaveLength(1);
    expect((await check({ ...good, rootId: "rate-limit", name: "r", config })).errors).toEqual([]);
  });
});
