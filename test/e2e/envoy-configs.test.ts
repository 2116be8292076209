// Every shipped static config (envoy-configs/*.yaml) must pass `envoy --mode validate` exactly as
// a user would run it from the repository root, module paths and all.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleConfigPath, repoRoot, validateEnvoyConfig } from "../support/index.js";

const CONFIGS = readdirSync(join(repoRoot, "envoy-configs")).filter((f) => f.endsWith(".yaml"));

describe("envoy-configs/*.yaml", () => {
  it("ships an example per filter", () => {
    const filters = readdirSync(join(repoRoot, "filters"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${d.name}.yaml`);
    for (const f of filters) expect(CONFIGS).toContain(f);
  });

  for (const name of CONFIGS) {
    it(`${name} passes envoy --mode validate`, async () => {
      const r = await validateEnvoyConfig(exampleConfigPath(name));
      expect(r.ok, r.output).toBe(true);
    });
  }

  it("validation runs the filter's own configure step: a bad plugin config fails, with the field named", async () => {
    const text = readFileSync(exampleConfigPath("header-rewrite.yaml"), "utf8").replace(
      '"stat_prefix": "demo",',
      '"stat_prefix": "demo", "bogus": 1,',
    );
    const r = await validateEnvoyConfig(text);
    expect(r.ok).toBe(false);
    expect(r.output).toContain("header-rewrite: invalid configuration: bogus: unknown field");
  });

  it("validation fails when a config points at a module that does not exist", async () => {
    const text = readFileSync(exampleConfigPath("header-rewrite.yaml"), "utf8").replace(
      "dist/filters/header-rewrite.wasm",
      "dist/filters/missing.wasm",
    );
    const r = await validateEnvoyConfig(text);
    expect(r.ok).toBe(false);
  });
});
