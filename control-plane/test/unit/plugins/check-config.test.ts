// The plugin config checker against the real suite filters (and a few fixture modules that fail
// in the ways a user's module can): what it accepts, and what it says when it refuses.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPluginChecker, type BoundedPluginChecker, type PluginChecker } from "../../../src/plugins/check-config.js";
import { builtFilter, fixtureWasm } from "../../../../test/support/wasm-fixtures.js";

interface Module {
  bytes: Uint8Array;
  sha256: string;
}

function moduleOf(bytes: Uint8Array): Module {
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

const modules: Record<string, Module> = {};
beforeAll(() => {
  for (const name of ["jwt-auth", "rate-limit", "header-rewrite"]) modules[name] = moduleOf(readFileSync(builtFilter(name)));
  for (const name of ["emu-probe", "emu-fastedge", "emu-start-metric"]) modules[name] = moduleOf(readFileSync(fixtureWasm(name)));
}, 300_000);

const checkers: BoundedPluginChecker[] = [];
/** A checker whose worker is stopped after the tests. */
function newChecker(options?: Parameters<typeof createPluginChecker>[0]): BoundedPluginChecker {
  const check = createPluginChecker(options);
  checkers.push(check);
  return check;
}
afterAll(() => Promise.all(checkers.map((c) => c.close())));

async function checkWith(check: PluginChecker, filter: string, config: unknown, rootId = filter): Promise<string[]> {
  const m = modules[filter]!;
  const r = await check({
    ...m,
    rootId,
    name: filter.replaceAll("-", "_"),
    config: typeof config === "string" ? config : JSON.stringify(config),
  });
  return r.errors;
}

const jwtProvider = {
  name: "idp",
  issuer: "https://idp.example.com",
  audiences: ["api"],
  remote_jwks: { cluster: "idp_jwks", path: "/.well-known/jwks.json", authority: "idp.example.com" },
  claims_to_headers: [{ claim: "sub", header: "x-user" }],
};
const jwtConfig = {
  providers: [jwtProvider],
  rules: [
    { match: { path: { prefix: "/health" } }, requires: [] },
    { match: {}, requires: ["idp"] },
  ],
};
const rateLimitConfig = { rules: [{ name: "per_client", requests: 100, period_s: 60, key: [{ client_ip: true }] }] };
const headerRewriteConfig = { rules: [{ request: { set: { "x-gateway": "portico" }, remove: ["x-internal"] } }] };

describe("suite filters", () => {
  const check = newChecker();

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

  it("reports the clusters the configured filter declared, where its config names them", async () => {
    const m = modules["jwt-auth"]!;
    const second = { ...jwtProvider, name: "idp2", remote_jwks: { ...jwtProvider.remote_jwks, cluster: "idp2_jwks" } };
    const inline = {
      ...jwtProvider,
      name: "local",
      remote_jwks: undefined,
      jwks: { keys: [{ kty: "oct", kid: "k", alg: "HS256", k: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" }] },
    };
    const config = JSON.stringify({ ...jwtConfig, providers: [jwtProvider, inline, second] });
    expect(await check({ ...m, rootId: "jwt-auth", name: "auth", config })).toEqual({
      errors: [],
      clusters: [
        { name: "idp_jwks", path: "providers[0].remote_jwks.cluster" },
        { name: "idp2_jwks", path: "providers[2].remote_jwks.cluster" },
      ],
    });
    // A refused config declares nothing; a filter that calls no cluster neither.
    expect(await check({ ...m, rootId: "jwt-auth", name: "auth", config: JSON.stringify({ ...jwtConfig, rules: [] }) })).toEqual({
      errors: [expect.stringContaining("rules: must contain at least one rule")],
      clusters: [],
    });
    expect(
      (await check({ ...modules["rate-limit"]!, rootId: "rate-limit", name: "r", config: JSON.stringify(rateLimitConfig) })).clusters,
    ).toEqual([]);
  });

  it("checks each config on its own: a refused config does not affect the next check of the module", async () => {
    expect(await checkWith(check, "rate-limit", { rules: [] })).not.toEqual([]);
    expect(await checkWith(check, "rate-limit", rateLimitConfig)).toEqual([]);
  });
});

describe("modules that cannot run", () => {
  const check = newChecker();
  const run = async (m: Module, rootId = "x") => (await check({ ...m, rootId, name: "p", config: "{}" })).errors;

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
    const check = newChecker();
    for (let i = 1; i <= 3; i++) {
      expect(await checkWith(check, "rate-limit", { rules: [{ name: "r", requests: i, period_s: 1 }] })).toEqual([]);
    }
    expect(check.compiledModules).toBe(1);
    await checkWith(check, "header-rewrite", headerRewriteConfig);
    expect(check.compiledModules).toBe(2);
  });

  it("drops the least recently used module beyond its capacity", async () => {
    const check = newChecker({ maxCachedModules: 1 });
    await checkWith(check, "rate-limit", rateLimitConfig);
    await checkWith(check, "header-rewrite", headerRewriteConfig);
    await checkWith(check, "rate-limit", rateLimitConfig);
    expect(check.compiledModules).toBe(3);
  });

  it("does not keep a failed compilation: the same sha256 with good bytes then works", async () => {
    const check = newChecker();
    const good = modules["rate-limit"]!;
    const config = JSON.stringify(rateLimitConfig);
    expect(
      (await check({ bytes: good.bytes.subarray(0, 100), sha256: good.sha256, rootId: "rate-limit", name: "r", config })).errors,
    ).toHaveLength(1);
    expect((await check({ ...good, rootId: "rate-limit", name: "r", config })).errors).toEqual([]);
  });
});

/**
 * A minimal proxy-wasm module, by hand: memory, malloc, the ABI 0.2.1 marker, _start and
 * proxy_on_vm_start/proxy_on_configure returning 1. `loops` makes _start or proxy_on_configure
 * `loop br 0 end`: it never returns.
 */
function handWrittenModule(loops: "start" | "configure" | "never"): Module {
  const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)]);
  const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
  const body = (code: number[]) => [...leb(code.length + 2), 0x00, ...code, 0x0b]; // no locals, end
  const LOOP = [0x03, 0x40, 0x0c, 0x00, 0x0b]; // loop (empty type) br 0 end
  const [I32, VOID_VOID, I32_I32, I32x2_I32] = [0x7f, 0, 1, 2];
  const types = [
    [0x60, 0, 0],
    [0x60, 1, I32, 1, I32],
    [0x60, 2, I32, I32, 1, I32],
  ];
  const funcs: [string, number, number[]][] = [
    ["_start", VOID_VOID, loops === "start" ? LOOP : []],
    ["malloc", I32_I32, [0x41, 0x00]],
    ["proxy_abi_version_0_2_1", VOID_VOID, []],
    ["proxy_on_vm_start", I32x2_I32, [0x41, 0x01]],
    ["proxy_on_configure", I32x2_I32, [...(loops === "configure" ? LOOP : []), 0x41, 0x01]],
  ];
  const bytes = Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map(([, type]) => [type]))),
    ...section(5, vec([[0x00, 0x01]])), // one memory, min 1 page
    ...section(7, vec([...funcs.map(([n], i) => [...name(n), 0x00, i]), [...name("memory"), 0x02, 0x00]])),
    ...section(10, vec(funcs.map(([, , code]) => body(code)))),
  ]);
  return moduleOf(bytes);
}

describe("modules that never finish", () => {
  const BOUND = 500;
  const MARGIN = 1500; // terminating the worker and a loaded CI machine
  const check = newChecker({ timeoutMs: BOUND });
  const run = (m: Module) => check({ ...m, rootId: "x", name: "p", config: "{}" });

  it("the hand-written module is a valid proxy-wasm module when it does not loop", async () => {
    // (Also starts the worker, so the timings below measure only the checks.)
    expect(await run(handWrittenModule("never"))).toEqual({ errors: [], clusters: [] });
  });

  it("refuses a module whose _start loops forever, within its bound, while the event loop stays free", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = performance.now();
    const r = await run(handWrittenModule("start"));
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(r).toEqual({
      errors: [`the module did not finish starting (_start/_initialize) within ${BOUND} ms (it may loop forever); refused`],
      clusters: [],
    });
    expect(elapsed).toBeGreaterThanOrEqual(BOUND);
    expect(elapsed).toBeLessThan(BOUND + MARGIN);
    expect(ticks).toBeGreaterThanOrEqual(BOUND / 20 / 2); // timers kept running (they would not with the loop on this thread)
  });

  it("refuses a module whose configure step loops forever", async () => {
    const started = performance.now();
    const r = await run(handWrittenModule("configure"));
    expect(performance.now() - started).toBeLessThan(BOUND + MARGIN);
    expect(r.errors).toEqual([
      `the filter did not finish its configure step (proxy_on_vm_start/proxy_on_configure) within ${BOUND} ms (it may loop forever); refused`,
    ]);
  });

  it("a gateway file naming a looping module is refused at load with a located error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "portico-loop-"));
    try {
      writeFileSync(join(dir, "loop.wasm"), handWrittenModule("start").bytes);
      const yaml = "plugins:\n  - name: spin\n    module: loop.wasm\n    config: {}\n";
      const r = await loadGatewayConfig(yaml, { source: "gateway.yaml", baseDir: dir, filtersDir: dir, checkPlugin: check });
      expect(r.ok).toBe(false);
      expect(r.ok ? [] : r.errors).toEqual([
        {
          source: "gateway.yaml",
          path: "plugins[0].config",
          line: 4,
          column: 13,
          message: `the module did not finish starting (_start/_initialize) within ${BOUND} ms (it may loop forever); refused`,
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("checks a good module correctly after a timeout (in a new worker), and overlapping checks wait their turn", async () => {
    const looping = run(handWrittenModule("start"));
    const good = checkWith(check, "rate-limit", rateLimitConfig);
    const bad = checkWith(check, "rate-limit", { rules: [{ name: "r", requests: 0, period_s: 10 }] });
    expect((await looping).errors).toEqual([expect.stringContaining("did not finish starting")]);
    expect(await good).toEqual([]);
    expect(await bad).toEqual(["rate-limit: invalid configuration: rules[0].requests: must be an integer from 1 to 1000000"]);
  });
});
