// Global rate limits, the pure parts: which rules are global and how the service counts them,
// the cluster and domain the gateway writes into the filter's config, the service's config in
// both its forms (xDS resource, YAML file), and where the service is.
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { WasmPluginModel } from "../../../src/model/types.js";
import {
  globalRules,
  rateLimitConfigResource,
  rateLimitConfigYaml,
  rateLimitServiceAddress,
  rateLimitServiceConfigs,
  usesSupervisedService,
  withGatewayGlobal,
} from "../../../src/translate/rate-limit-service.js";

const plugin = (name: string, config: object, filter = "rate-limit"): WasmPluginModel => ({
  kind: "wasm",
  name,
  filter,
  rootId: filter,
  module: { sha256: "0".repeat(64), path: `/f/${filter}.wasm`, size: 8 },
  config: JSON.stringify(config),
  global: true,
});

describe("globalRules", () => {
  it("takes scope: global rules only, each period as the service's unit, in every duration form", () => {
    const rules = globalRules({
      rules: [
        { name: "local", requests: 1, period: "1s" },
        { name: "s", scope: "global", requests: 1, period: "1s" },
        { name: "m", scope: "global", requests: 2, period: "60s" },
        { name: "h", scope: "global", requests: 3, period: 3600 },
        { name: "d", scope: "global", requests: 4, period_s: 86_400 },
        { name: "d2", scope: "global", requests: 5, period: "24h" },
      ],
    });
    expect(rules.map((r) => [r.name, r.unit, r.requests])).toEqual([
      ["s", "second", 1],
      ["m", "minute", 2],
      ["h", "hour", 3],
      ["d", "day", 4],
      ["d2", "day", 5],
    ]);
  });

  it("leaves out a rule the filter refuses (a period that is no unit of the service), rather than guessing", () => {
    expect(globalRules({ rules: [{ name: "odd", scope: "global", requests: 1, period: "2m" }] })).toEqual([]);
    expect(globalRules({ rules: [{ name: "bad", scope: "global", requests: 1, period: "1m", key: [{ nope: 1 }] }] })).toEqual([]);
  });

  it("leaves out a rule with an empty key, which the filter refuses (found by the loader fuzz: it made a descriptor of nothing)", () => {
    const config = { rules: [{ name: "empty", scope: "global", requests: 5, period: "1s", key: [] }] };
    expect(globalRules(config)).toEqual([]);
    expect(rateLimitServiceConfigs({ plugins: [plugin("p", config)] })).toEqual([]);
  });

  it("leaves out a rule whose requests the service's uint32 cannot carry (found by the loader fuzz: 5e-324)", () => {
    for (const requests of [5e-324, 0.5, 0, -1, 2 ** 32, Number.NaN, "10"]) {
      expect(globalRules({ rules: [{ name: "r", scope: "global", requests, period: "1m" }] }), String(requests)).toEqual([]);
    }
    expect(globalRules({ rules: [{ name: "r", scope: "global", requests: 2 ** 32 - 1, period: "1m" }] })).toHaveLength(1);
  });

  it("sends one entry per key part in the key's order: header names lower case, fixed parts with their value, no key = fixed global", () => {
    const [keyed, unkeyed] = globalRules({
      rules: [
        {
          name: "k",
          scope: "global",
          requests: 1,
          period: "1m",
          key: [{ client_ip: true }, { consumer: true }, { header: "X-Plan" }, { route: true }, { fixed: "gold" }],
        },
        { name: "u", scope: "global", requests: 1, period: "1m" },
      ],
    });
    expect(keyed!.parts).toEqual([
      { key: "client_ip" },
      { key: "consumer" },
      { key: "x-plan" },
      { key: "route" },
      { key: "fixed", value: "gold" },
    ]);
    expect(unkeyed!.parts).toEqual([{ key: "fixed", value: "global" }]);
  });
});

describe("withGatewayGlobal", () => {
  it("writes the gateway's cluster and the plugin's domain into a config with global rules, keeping the user's other global fields", () => {
    const r = withGatewayGlobal(
      "quota",
      JSON.stringify({ global: { timeout: "50ms" }, rules: [{ name: "a", scope: "global", requests: 1, period: "1s" }] }),
    );
    expect(r.problems).toEqual([]);
    expect(JSON.parse(r.config).global).toEqual({ timeout: "50ms", cluster: "portico_ratelimit", domain: "portico.quota" });
  });

  it("leaves a config without global rules as written (the filter refuses a global block nobody uses)", () => {
    const config = JSON.stringify({ global: { timeout: "50ms" }, rules: [{ name: "a", requests: 1, period: "1s" }] });
    expect(withGatewayGlobal("quota", config)).toEqual({ config, problems: [] });
  });

  it("refuses a user-set cluster or domain, naming each field", () => {
    const r = withGatewayGlobal(
      "quota",
      JSON.stringify({ global: { cluster: "mine", domain: "mine" }, rules: [{ name: "a", scope: "global", requests: 1, period: "1s" }] }),
    );
    expect(r.problems).toEqual([
      { path: ["global", "cluster"], message: "set by the gateway (portico_ratelimit): leave it out" },
      { path: ["global", "domain"], message: "set by the gateway (portico.quota): leave it out" },
    ]);
  });
});

describe("the service's config", () => {
  const model = {
    plugins: [
      plugin("b-limits", {
        rules: [
          { name: "local", requests: 9, period: "1s" },
          { name: "per_user", scope: "global", requests: 100, period: "1m", key: [{ consumer: true }, { header: "X-Plan" }] },
          { name: "tiered", scope: "global", requests: 7, period: "1h", key: [{ fixed: "gold" }] },
        ],
      }),
      plugin("a-local", { rules: [{ name: "x", requests: 1, period: "1s" }] }),
      plugin("a-custom", { rules: [{ name: "x", scope: "global", requests: 1, period: "1s" }] }, "custom"),
      plugin("a-limits", { rules: [{ name: "all", scope: "global", requests: 5, period: "1s" }] }),
    ],
    rateLimitService: null,
    suite: null,
  };

  it("has one domain per rate-limit plugin with global rules, sorted, each a tree nested one level per key part with the limit on the last", () => {
    const configs = rateLimitServiceConfigs(model);
    expect(configs.map((c) => c.domain)).toEqual(["portico.a-limits", "portico.b-limits"]);
    expect(configs[1]!.descriptors).toEqual([
      {
        key: "rule",
        value: "per_user",
        descriptors: [{ key: "consumer", descriptors: [{ key: "x-plan", rate_limit: { unit: "minute", requests_per_unit: 100 } }] }],
      },
      { key: "rule", value: "tiered", descriptors: [{ key: "fixed", value: "gold", rate_limit: { unit: "hour", requests_per_unit: 7 } }] },
    ]);
  });

  it("as the xDS resource: named after its domain, units in the proto's enum names", () => {
    const [a] = rateLimitServiceConfigs(model);
    expect(rateLimitConfigResource(a!)).toEqual({
      name: "portico.a-limits",
      domain: "portico.a-limits",
      descriptors: [
        {
          key: "rule",
          value: "all",
          descriptors: [{ key: "fixed", value: "global", rate_limit: { unit: "SECOND", requests_per_unit: 5 } }],
        },
      ],
    });
  });

  it("as the service's YAML file: the same tree, units in its lower-case words", () => {
    const [, b] = rateLimitServiceConfigs(model);
    const parsed = parseYaml(rateLimitConfigYaml(b!));
    expect(parsed.domain).toBe("portico.b-limits");
    expect(parsed.descriptors[1]).toEqual({
      key: "rule",
      value: "tiered",
      descriptors: [{ key: "fixed", value: "gold", rate_limit: { unit: "hour", requests_per_unit: 7 } }],
    });
  });

  it("is counted by the supervised service only when the config names none and has global rules", () => {
    expect(usesSupervisedService(model)).toBe(true);
    expect(usesSupervisedService({ ...model, rateLimitService: { address: { host: "rl", port: 1 } } })).toBe(false);
    expect(
      usesSupervisedService({ plugins: [plugin("l", { rules: [{ name: "x", requests: 1, period: "1s" }] })], rateLimitService: null }),
    ).toBe(false);
  });
});

describe("rateLimitServiceAddress", () => {
  it("is the config's own address, else the supervised service's, else an error saying what to do", () => {
    const supervised = { host: "127.0.0.1", port: 1 };
    expect(rateLimitServiceAddress({ rateLimitService: { address: { host: "rl", port: 2 } } }, supervised)).toEqual({
      host: "rl",
      port: 2,
    });
    expect(rateLimitServiceAddress({ rateLimitService: null }, supervised)).toEqual(supervised);
    expect(() => rateLimitServiceAddress({ rateLimitService: null }, undefined)).toThrow(
      /set rate_limit_service.address, or run the gateway with `portico run`/,
    );
  });
});
