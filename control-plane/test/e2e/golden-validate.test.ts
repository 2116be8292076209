// Every translator golden output must be a config Envoy accepts: `envoy --mode validate` on a
// bootstrap that inlines what xDS would deliver (routes into their listener, ECDS plugin configs
// into their filter slot with the real built module, secrets with the case's real keys). The
// plugin configs are thereby checked by the real filters, the way Envoy loads them.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, validateEnvoyConfig } from "../../../test/support/index.js";
import { renderBootstrap } from "../../src/envoy/bootstrap.js";
import { machineOverloadLimits } from "../../src/envoy/overload.js";
import { suiteFilterName } from "../../src/translate/common.js";
import { pathMatch } from "../../src/translate/routes.js";
import { fakeFiltersDir, goldenCases, loadCase, TESTDATA } from "../support/golden.js";
import { REGEX_CASES } from "../unit/config/regex-patterns.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const filtersDir = fakeFiltersDir();
afterAll(() => rmSync(filtersDir, { recursive: true, force: true }));

function localModule(vmId: string): string {
  const filter = vmId.replace(/^portico\./, "");
  return join(repoRoot, "dist/filters", `${filter}.wasm`);
}

async function bootstrapFor(name: string): Promise<Json> {
  const golden = JSON.parse(readFileSync(join(TESTDATA, name, "expected.json"), "utf8")) as Json;
  const { model } = await loadCase(name, filtersDir);
  const keys = new Map(model.listeners.flatMap((l) => l.tls?.certificates ?? []).map((c) => [c.secretName, c.keyPath]));
  const listeners = Object.values(golden.listeners as Json).map((l: Json) => {
    for (const chain of l.filter_chains) {
      for (const f of chain.filters) {
        const hcm = f.typed_config;
        hcm.route_config = golden.routes[hcm.rds.route_config_name];
        delete hcm.rds;
        hcm.http_filters = hcm.http_filters.map((hf: Json) => {
          if (!hf.config_discovery) return hf;
          // The goldens carry stand-in module bytes; validate with the real build.
          const ext = structuredClone(golden.extension_configs[hf.name]) as Json;
          const vm = ext.typed_config.config.vm_config;
          vm.code = { local: { filename: localModule(vm.vm_id) } };
          return { name: hf.name, typed_config: ext.typed_config, disabled: hf.disabled };
        });
      }
    }
    return l;
  });
  const secrets = Object.values(golden.secrets as Json).map((s: Json) => {
    // Upstream CA bundles (validation_context secrets) are complete as they are.
    if (s.tls_certificate) s.tls_certificate.private_key = { filename: keys.get(s.name) };
    return s;
  });
  // The bootstrap `portico bootstrap` prints, with what xDS would deliver made static.
  const joined = renderBootstrap({
    nodeId: "validate",
    xds: { host: "127.0.0.1", port: 18000 },
    admin: { address: "127.0.0.1", port: 0 },
    overload: machineOverloadLimits(),
  }) as Json;
  return {
    ...joined,
    static_resources: {
      listeners,
      clusters: [...Object.values(golden.clusters as Json), ...joined.static_resources.clusters],
      secrets,
    },
    dynamic_resources: { ads_config: joined.dynamic_resources.ads_config },
  };
}

describe("translator golden outputs pass envoy --mode validate", () => {
  for (const name of goldenCases()) {
    it(name, async () => {
      const r = await validateEnvoyConfig(await bootstrapFor(name));
      expect(r.ok, r.output).toBe(true);
    });
  }

  it("the check is real: a golden route with a regex RE2 rejects fails validation", async () => {
    const b = await bootstrapFor("full");
    const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.route_config.virtual_hosts[0].routes[0].match = { safe_regex: { regex: "(?=lookahead)" } };
    const r = await validateEnvoyConfig(b);
    expect(r.ok).toBe(false);
  });

  it("a suite slot named after a long list of plugins (cut, with its hash) is a name Envoy takes", async () => {
    const b = await bootstrapFor("suite-runs");
    const short = "portico.suite.auth+limit+stamp";
    const long = suiteFilterName(Array.from({ length: 16 }, (_, i) => `a-plugin-with-a-long-name-${i}`));
    expect(long).toContain("~");
    const text = JSON.stringify(b).split(short).join(long);
    expect(text).not.toBe(JSON.stringify(b));
    const r = await validateEnvoyConfig(JSON.parse(text));
    expect(r.ok, r.output).toBe(true);
  });

  // Envoy refuses a safe_regex whose RE2 program exceeds re2.max_program_size.error_level (100 by
  // default); Portico's bootstrap raises it (see RE2_MAX_PROGRAM_SIZE) so long paths fit.
  const literal = `/${"abcdefghij".repeat(103)}`.slice(0, 1024);
  const longPaths = [
    { kind: "regex", value: literal.slice(0, 200) },
    { kind: "regex", value: literal },
    { kind: "suffix", value: literal.slice(0, 500) },
    { kind: "glob", value: `/static/**/${"segment/*/".repeat(40)}*.json` },
  ] as const;
  function withLongPaths(b: Json): Json {
    const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const routes = hcm.route_config.virtual_hosts[0].routes;
    const template = routes[0];
    routes.unshift(...longPaths.map((p, i) => ({ ...template, name: `long-${i}`, match: pathMatch(p) })));
    return b;
  }

  it("long regex, suffix and glob routes are accepted with Portico's bootstrap (RE2 program size)", async () => {
    const r = await validateEnvoyConfig(withLongPaths(await bootstrapFor("full")));
    expect(r.ok, r.output).toBe(true);
  });

  it("the same routes are refused without its runtime layer (Envoy's default max program size)", async () => {
    const b = withLongPaths(await bootstrapFor("full"));
    delete b.layered_runtime;
    const r = await validateEnvoyConfig(b);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/RE2 program size of \d+ > max program size of 100/);
  });

  // The shared regex table's verdicts are RE2's own (but for Portico's length limit).
  const re2Cases = REGEX_CASES.filter((c) => !c.portico);
  function withPathRegexes(b: Json, patterns: string[]): Json {
    const routes = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
    routes.unshift(...patterns.map((regex, i) => ({ ...routes[0], name: `regex-${i}`, match: { safe_regex: { regex } } })));
    return b;
  }

  it("Envoy accepts every regex the shared table accepts", async () => {
    const accepted = re2Cases.filter((c) => c.ok).map((c) => c.pattern);
    const r = await validateEnvoyConfig(withPathRegexes(await bootstrapFor("full"), accepted));
    expect(r.ok, r.output).toBe(true);
  });

  it("Envoy refuses each regex the shared table refuses", async () => {
    const base = await bootstrapFor("full");
    const accepted: string[] = [];
    for (const c of re2Cases.filter((c) => !c.ok)) {
      const r = await validateEnvoyConfig(withPathRegexes(structuredClone(base), [c.pattern]));
      if (r.ok) accepted.push(c.pattern);
    }
    expect(accepted).toEqual([]);
  }, 120_000);
});
