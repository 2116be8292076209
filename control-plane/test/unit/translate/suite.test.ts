// Portico plugins in one filter (plugins_in_one_filter, translate/suite.ts): which plugins a route
// runs in a suite slot, where listeners put that slot, and what the slot's config holds. The
// property the whole design rests on: whatever the plugins and routes, each route still runs
// exactly its plugins, in chain order, each once.
import { readFileSync, rmSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { GatewayModel, PluginModel, WasmPluginModel } from "../../../src/model/types.js";
import { pluginFilterName, suiteFilterName } from "../../../src/translate/common.js";
import { translate, type EnvoyResources } from "../../../src/translate/index.js";
import { SUITE_MAX_CONFIG_BYTES, SUITE_MAX_MEMBERS, SUITE_MEMBER_FILTERS, chainSteps, suiteConfig } from "../../../src/translate/suite.js";
import { TypeUrl } from "../../../src/xds/types.js";
import { makeGatewayDir, yaml } from "../config/fixtures.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SUITE_SHA = "5".repeat(64);
const MODULE_SHA = "a".repeat(64);

function wasm(name: string, filter: string, config = "{}", global = false): WasmPluginModel {
  return { kind: "wasm", name, filter, rootId: filter, module: { sha256: MODULE_SHA, path: "/m.wasm", size: 1 }, config, global };
}
function native(name: string, global = false): PluginModel {
  return { kind: "native", name, global, policy: { filter: "acl", config: { allow: null, deny: null } } };
}

function model(
  plugins: PluginModel[],
  routes: { name: string; plugins: string[]; listeners?: string[] }[],
  inOneFilter = true,
): GatewayModel {
  return {
    listeners: ["a", "b"].map((name, i) => ({
      name,
      address: "127.0.0.1",
      port: 8080 + i,
      protocols: ["http1"],
      tls: null,
      accessLog: null,
      trustedHops: 0,
      limits: {
        headersWithUnderscoresAction: "reject_request",
        pathWithEscapedSlashesAction: "keep_unchanged",
        normalizePath: true,
        mergeSlashes: false,
        maxRequestHeadersKb: 60,
        requestHeadersTimeoutMs: 0,
        streamIdleTimeoutMs: 0,
        idleTimeoutMs: 0,
        perConnectionBufferLimitBytes: 0,
        http2: { maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 },
      },
    })),
    routes: routes.map((r) => ({
      name: r.name,
      listeners: r.listeners ?? ["a", "b"],
      hosts: ["*"],
      path: { kind: "prefix", value: `/${r.name}` },
      methods: [],
      headers: [],
      query: [],
      rewrite: null,
      timeoutMs: null,
      idleTimeoutMs: null,
      retries: null,
      upstreams: [{ name: "up", weight: 1 }],
      // As the loader makes it: the global plugins plus the route's own, in chain order.
      plugins: plugins.filter((p) => p.global || r.plugins.includes(p.name)).map((p) => p.name),
    })),
    upstreams: [
      {
        name: "up",
        discovery: "static",
        endpoints: [{ host: "127.0.0.1", port: 9000, weight: 1 }],
        protocol: "http1",
        lb: "round_robin",
        hashOn: null,
        connectTimeoutMs: 5000,
        healthCheck: null,
        outlierDetection: null,
        circuitBreakers: null,
        tls: null,
      },
    ],
    plugins,
    consumers: [],
    rateLimitService: null,
    suite: inOneFilter ? { module: { sha256: SUITE_SHA, path: "/suite.wasm", size: 1 } } : null,
  };
}

function run(m: GatewayModel): EnvoyResources {
  const modules = new Map([
    [MODULE_SHA, new Uint8Array([1])],
    [SUITE_SHA, new Uint8Array([2])],
  ]);
  return translate({ model: m, certificates: new Map(), modules, supervisedRateLimitService: { host: "127.0.0.1", port: 1 } });
}

function chain(r: EnvoyResources, listener: string): Json[] {
  return (r[TypeUrl.Listener].get(listener) as Json).filter_chains[0].filters[0].typed_config.http_filters;
}
function routeOf(r: EnvoyResources, listener: string, name: string): Json {
  const vh = (r[TypeUrl.Route].get(listener) as Json).virtual_hosts[0];
  return vh.routes.find((x: Json) => x.name === name);
}
function enabled(r: EnvoyResources, listener: string, route: string): string[] {
  return Object.keys(routeOf(r, listener, route).typed_per_filter_config ?? {});
}
function suiteMembers(r: EnvoyResources, slot: string): string[] {
  const ext = r[TypeUrl.ExtensionConfig].get(slot) as Json;
  return (JSON.parse(ext.typed_config.config.configuration.value) as { plugins: { filter: string }[] }).plugins.map((p) => p.filter);
}

/**
 * What a route runs, in the order Envoy runs it: the listener's filters this route switches on,
 * in chain order, with each suite slot expanded into its members (by plugin name).
 */
function runs(r: EnvoyResources, listener: string, route: string): string[] {
  const on = new Set(enabled(r, listener, route));
  const out: string[] = [];
  for (const f of chain(r, listener)) {
    if (!on.has(f.name)) continue;
    on.delete(f.name);
    const ext = r[TypeUrl.ExtensionConfig].get(f.name) as Json | undefined;
    if (f.name.startsWith("portico.suite.")) {
      expect(ext, `${f.name} has an ECDS config`).toBeDefined();
      out.push(...f.name.slice("portico.suite.".length).split("+"));
    } else out.push(f.name.slice("portico.plugin.".length));
  }
  expect([...on], "every filter the route enables is in the chain").toEqual([]);
  return out;
}

const jwt = wasm("auth", "jwt-auth");
const limit = wasm("limit", "rate-limit");
const stamp = wasm("stamp", "header-rewrite");
const cors = native("cors");
const mine = wasm("mine", "custom");

// The suite module (filters/suite, AssemblyScript) defines its members and limits; the control
// plane names them again to decide what it may put in a suite, and this test holds the two together.
const SUITE_SOURCE = (file: string) => readFileSync(new URL(`../../../../filters/suite/${file}`, import.meta.url), "utf8");

describe("the control plane's view of the suite module", () => {
  it("has the module's members, and its limits on plugins and config bytes", () => {
    const list = /MEMBER_FILTERS: string\[\] = \[([^\]]*)\]/.exec(SUITE_SOURCE("members.ts"))?.[1] ?? "";
    const members = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect([...SUITE_MEMBER_FILTERS].sort()).toEqual(members.sort());
    const config = SUITE_SOURCE("config.ts");
    expect(config).toContain(`export const MAX_PLUGINS: i32 = ${SUITE_MAX_MEMBERS};`);
    expect(config).toContain(`export const MAX_CONFIG_BYTES: i32 = ${SUITE_MAX_CONFIG_BYTES / 1024 / 1024} * 1024 * 1024;`);
  });
});

describe("chainSteps: which plugins run in one filter", () => {
  it("runs consecutive Portico plugins as one suite step, in chain order", () => {
    expect(chainSteps([jwt, limit, stamp], true)).toEqual([{ kind: "suite", members: [jwt, limit, stamp] }]);
  });

  it("never takes a native policy or a user module into a suite: they end the run and keep their place", () => {
    expect(chainSteps([jwt, cors, limit, stamp], true)).toEqual([
      { kind: "plugin", plugin: jwt },
      { kind: "plugin", plugin: cors },
      { kind: "suite", members: [limit, stamp] },
    ]);
    expect(chainSteps([jwt, limit, mine, stamp], true)).toEqual([
      { kind: "suite", members: [jwt, limit] },
      { kind: "plugin", plugin: mine },
      { kind: "plugin", plugin: stamp },
    ]);
  });

  it("puts at most one rate-limit plugin in a suite (they would share its plugin name, and so buckets)", () => {
    const other = wasm("other-limit", "rate-limit");
    expect(chainSteps([jwt, limit, other, stamp], true)).toEqual([
      { kind: "suite", members: [jwt, limit] },
      { kind: "suite", members: [other, stamp] },
    ]);
  });

  it("keeps a lone Portico plugin in its own filter, and every plugin when the option is off", () => {
    expect(chainSteps([jwt], true)).toEqual([{ kind: "plugin", plugin: jwt }]);
    expect(chainSteps([jwt, limit, stamp], false).map((s) => s.kind)).toEqual(["plugin", "plugin", "plugin"]);
  });

  it("splits a run longer than the suite module takes, and one whose configs would not fit its size limit", () => {
    const many = Array.from({ length: SUITE_MAX_MEMBERS + 3 }, (_, i) => wasm(`p${i}`, "header-rewrite"));
    const steps = chainSteps(many, true);
    expect(steps.map((s) => (s.kind === "suite" ? s.members.length : 1))).toEqual([SUITE_MAX_MEMBERS, 3]);

    const big = (n: string) => wasm(n, "key-auth", JSON.stringify({ pad: "x".repeat(3 * 1024 * 1024) }));
    const bigSteps = chainSteps([big("k1"), big("k2"), big("k3"), stamp], true);
    expect(bigSteps.map((s) => (s.kind === "suite" ? s.members.map((m) => m.name) : [s.plugin.name]))).toEqual([
      ["k1", "k2"],
      ["k3", "stamp"],
    ]);
    for (const s of bigSteps)
      if (s.kind === "suite") expect(Buffer.byteLength(suiteConfig(s.members))).toBeLessThanOrEqual(SUITE_MAX_CONFIG_BYTES);
  });
});

describe("suiteConfig", () => {
  it("lists the members in chain order with their own config text, embedded as the model holds it", () => {
    const odd = wasm("odd", "rate-limit", '{"rules":[],"stat_prefix":"x","z":{"\\u00e9":1.50}}');
    const text = suiteConfig([jwt, odd]);
    expect(text).toContain('{"filter":"rate-limit","config":{"rules":[],"stat_prefix":"x","z":{"\\u00e9":1.50}}}');
    expect(JSON.parse(text)).toEqual({
      plugins: [
        { filter: "jwt-auth", config: {} },
        { filter: "rate-limit", config: JSON.parse(odd.config) },
      ],
    });
  });
});

describe("suiteFilterName", () => {
  it("names the members in order, and stays short and distinct for long lists", () => {
    expect(suiteFilterName(["auth", "limit", "stamp"])).toBe("portico.suite.auth+limit+stamp");
    const long = Array.from({ length: 16 }, (_, i) => `plugin-with-a-long-name-${i}`);
    const other = [...long.slice(0, 15), "plugin-with-a-long-name-99"];
    expect(suiteFilterName(long).length).toBeLessThanOrEqual(140);
    expect(suiteFilterName(long)).toMatch(/^portico\.suite\.plugin-with-a-long-name-0\+.*~[0-9a-f]{16}$/);
    expect(suiteFilterName(long)).not.toBe(suiteFilterName(other));
  });
});

describe("translate with plugins in one filter", () => {
  const global = wasm("global-auth", "jwt-auth", "{}", true);
  // `mine` lies between limit and stamp in the chain: it breaks their run only where it is enabled.
  const plugins = [global, jwt, cors, limit, mine, stamp];
  const m = model(plugins, [
    { name: "three", plugins: ["limit", "stamp"] }, // global-auth, limit, stamp: one suite (mine is not enabled here)
    { name: "split", plugins: ["auth", "cors", "stamp"] }, // global-auth+auth, cors, stamp
    { name: "custom-between", plugins: ["auth", "mine", "stamp"] }, // global-auth+auth, mine, stamp
    { name: "b-only", plugins: ["stamp"], listeners: ["b"] }, // global-auth+stamp
    { name: "none", plugins: [] }, // the global plugin alone: its own slot
  ]);
  const r = run(m);

  it("switches on one suite slot for a run, and the plugins' own slots otherwise", () => {
    expect(enabled(r, "a", "three")).toEqual([suiteFilterName(["global-auth", "limit", "stamp"])]);
    expect(enabled(r, "a", "split")).toEqual([
      suiteFilterName(["global-auth", "auth"]),
      pluginFilterName("cors"),
      pluginFilterName("stamp"),
    ]);
    expect(enabled(r, "a", "custom-between")).toEqual([
      suiteFilterName(["global-auth", "auth"]),
      pluginFilterName("mine"),
      pluginFilterName("stamp"),
    ]);
    expect(enabled(r, "b", "b-only")).toEqual([suiteFilterName(["global-auth", "stamp"])]);
    expect(enabled(r, "a", "none")).toEqual([pluginFilterName("global-auth")]);
    expect(enabled(r, "a", "portico_no_route")).toEqual([pluginFilterName("global-auth")]);
  });

  it("puts each suite slot at its first member's place, disabled, with its config over ECDS", () => {
    expect(chain(r, "a").map((f) => f.name)).toEqual([
      "portico.strip_identity_headers",
      suiteFilterName(["global-auth", "auth"]),
      suiteFilterName(["global-auth", "limit", "stamp"]),
      ...["global-auth", "auth", "cors", "limit", "mine", "stamp"].map(pluginFilterName),
      "envoy.filters.http.router",
    ]);
    for (const f of chain(r, "a").filter((f) => f.name.startsWith("portico.suite."))) {
      expect(f).toEqual({ name: f.name, config_discovery: expect.any(Object), disabled: true });
    }
    // Listener b also has the run of the route only it serves.
    expect(chain(r, "b").map((f) => f.name)).toContain(suiteFilterName(["global-auth", "stamp"]));
    expect(chain(r, "a").map((f) => f.name)).not.toContain(suiteFilterName(["global-auth", "stamp"]));
  });

  it("keeps a rate-limit plugin that routes would run in different filters in its own filter everywhere (one set of buckets)", () => {
    const twice = run(
      model(
        [jwt, limit, stamp],
        [
          { name: "r1", plugins: ["auth", "limit"] },
          { name: "r2", plugins: ["limit", "stamp"] },
          { name: "r3", plugins: ["auth", "stamp"] },
        ],
      ),
    );
    expect(enabled(twice, "a", "r1")).toEqual(["auth", "limit"].map(pluginFilterName));
    expect(enabled(twice, "a", "r2")).toEqual(["limit", "stamp"].map(pluginFilterName));
    // Plugins without state across requests still share a suite.
    expect(enabled(twice, "a", "r3")).toEqual([suiteFilterName(["auth", "stamp"])]);
    // The same run on several routes is one slot: its buckets are shared as before.
    const same = run(
      model(
        [jwt, limit, stamp],
        [
          { name: "r1", plugins: ["auth", "limit"] },
          { name: "r2", plugins: ["auth", "limit"] },
        ],
      ),
    );
    expect(enabled(same, "a", "r1")).toEqual([suiteFilterName(["auth", "limit"])]);
    expect(enabled(same, "a", "r2")).toEqual([suiteFilterName(["auth", "limit"])]);
  });

  it("configures a suite slot as the suite module (its own VM for all suite slots) with the members' configs", () => {
    const name = suiteFilterName(["global-auth", "limit", "stamp"]);
    const ext = r[TypeUrl.ExtensionConfig].get(name) as Json;
    expect(ext.name).toBe(name);
    expect(ext.typed_config.config.root_id).toBe("suite");
    expect(ext.typed_config.config.vm_config.vm_id).toBe("portico.suite");
    expect(ext.typed_config.config.vm_config.code.local.inline_bytes).toBe(Buffer.from([2]).toString("base64"));
    expect(ext.typed_config.config.configuration.value).toBe(suiteConfig([global, limit, stamp]));
    expect(suiteMembers(r, name)).toEqual(["jwt-auth", "rate-limit", "header-rewrite"]);
    // The plugins keep their own configs too (for routes that run them alone).
    expect(r[TypeUrl.ExtensionConfig].get(pluginFilterName("limit"))).toBeDefined();
  });

  it("with the option off (no suite in the model), every plugin runs in its own slot as before", () => {
    const off = run(model(plugins, [{ name: "three", plugins: ["limit", "stamp"] }], false));
    expect(enabled(off, "a", "three")).toEqual(["global-auth", "limit", "stamp"].map(pluginFilterName));
    expect([...off[TypeUrl.ExtensionConfig].keys()].filter((k) => k.startsWith("portico.suite."))).toEqual([]);
    expect(chain(off, "a").some((f) => f.name.startsWith("portico.suite."))).toBe(false);
  });

  it("whatever the plugins and routes, each route runs exactly its plugins in chain order, each once", () => {
    const kinds = [...SUITE_MEMBER_FILTERS, "custom", "native"];
    const arbitrary = fc.record({
      kinds: fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 10 }),
      globals: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
      routes: fc.array(fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), { minLength: 1, maxLength: 6 }),
      listeners: fc.array(fc.subarray(["a", "b"], { minLength: 1 }), { minLength: 6, maxLength: 6 }),
      on: fc.boolean(),
    });
    fc.assert(
      fc.property(arbitrary, ({ kinds: ks, globals, routes, listeners, on }) => {
        const ps = ks.map((k, i) => (k === "native" ? native(`p${i}`, globals[i]) : wasm(`p${i}`, k, "{}", globals[i])));
        const rs = routes.map((pick, i) => ({
          name: `r${i}`,
          plugins: ps.filter((_, j) => pick[j]).map((p) => p.name),
          listeners: listeners[i],
        }));
        const gm = model(ps, rs, on);
        const out = run(gm);
        for (const route of gm.routes)
          for (const l of route.listeners) expect(runs(out, l, route.name), `${route.name} on ${l}`).toEqual(route.plugins);
        // A rate-limit plugin runs in one filter on every route (its buckets are that filter's),
        // and no suite holds two (they would share buckets).
        for (const p of ps.filter((p) => p.kind === "wasm" && p.filter === "rate-limit")) {
          const slots = new Set<string>();
          for (const route of [...gm.routes.map((x) => x.name), "portico_no_route"])
            for (const l of ["a", "b"]) {
              const rt = routeOf(out, l, route);
              for (const f of rt ? enabled(out, l, route) : [])
                if (f === pluginFilterName(p.name) || f.slice("portico.suite.".length).split("+").includes(p.name)) slots.add(f);
            }
          expect(slots.size, p.name).toBeLessThanOrEqual(1);
        }
        const global = ps.filter((p) => p.global).map((p) => p.name);
        for (const l of ["a", "b"]) expect(runs(out, l, "portico_no_route")).toEqual(global);
        // No suite of one, none with a native policy or a user module, none when off.
        for (const [name, ext] of out[TypeUrl.ExtensionConfig]) {
          if (!name.startsWith("portico.suite.")) continue;
          expect(on).toBe(true);
          const members = suiteMembers(out, name);
          expect(members.length).toBeGreaterThanOrEqual(2);
          for (const f of members) expect(SUITE_MEMBER_FILTERS).toContain(f);
          expect((ext as Json).typed_config.config.vm_config.vm_id).toBe("portico.suite");
          expect(members.filter((f) => f === "rate-limit").length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("loading plugins_in_one_filter", () => {
  const gw = makeGatewayDir();
  afterAll(() => gw.remove());
  const config = (extra = "") => yaml`
    listeners: [{ name: l, port: 8080 }]
    upstreams: [{ name: up, endpoints: ["127.0.0.1:9000"] }]
    routes: [{ name: r, upstream: up, plugins: [auth, stamp] }]
    plugins:
      - { name: auth, filter: jwt-auth, config: { providers: [] } }
      - { name: stamp, filter: header-rewrite }
    ${extra}
  `;

  it("is on by default: the model carries the suite module, read from the filters directory like a filter", async () => {
    const loaded = await gw.load(config());
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.model.suite?.module.path).toBe(`${gw.filtersDir}/suite.wasm`);
    expect(loaded.modules.has(loaded.model.suite!.module.sha256)).toBe(true);
  });

  it("off: no suite module, and none needed", async () => {
    const loaded = await gw.load(config("plugins_in_one_filter: false"));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.model.suite).toBeNull();
  });

  it("names the option in its error when it is not a boolean", async () => {
    const errors = await gw.errors(config('plugins_in_one_filter: "yes"'));
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([expect.stringMatching(/^plugins_in_one_filter: .*(true|false|boolean)/)]);
  });

  it("without suite.wasm: refused at the option with the path and the way out, unless nothing runs in one filter", async () => {
    const bare = makeGatewayDir();
    try {
      rmSync(`${bare.filtersDir}/suite.wasm`);
      const errors = await bare.errors(config());
      expect(errors).toHaveLength(1);
      expect(errors[0]!.path).toBe("plugins_in_one_filter");
      expect(errors[0]!.message).toContain(`${bare.filtersDir}/suite.wasm: no such file`);
      expect(errors[0]!.message).toContain("plugins_in_one_filter: false");
      expect((await bare.load(config("plugins_in_one_filter: false"))).ok).toBe(true);
      const single = config().replace("plugins: [auth, stamp]", "plugins: [auth]");
      expect((await bare.load(single)).ok).toBe(true);
    } finally {
      bare.remove();
    }
  });

  it("refuses `filter: suite`: the suite module is not a plugin", async () => {
    const errors = await gw.errors(config().replace("filter: header-rewrite", "filter: suite"));
    expect(errors.map((e) => e.path)).toEqual(["plugins[1].filter"]);
    expect(errors[0]!.message).toMatch(/"suite" is not a plugin/);
  });
});
