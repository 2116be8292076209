// The committed JSON Schema (for editors) is the one the loader's schema generates, and the user
// reference documents every key in it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { gatewayJsonSchema } from "../../../src/config/index.js";
import { FILTER_SCHEMA_NAMES } from "../../../src/config/json-schema.js";
import { NATIVE_POLICY_NAMES } from "../../../src/policies/index.js";

const committedPath = fileURLToPath(new URL("../../../schema/gateway.schema.json", import.meta.url));
const referencePath = fileURLToPath(new URL("../../../../docs/gateway-config.md", import.meta.url));

type Schema = {
  properties?: Record<string, Schema>;
  items?: Schema | Schema[];
  anyOf?: Schema[];
  description?: string;
  additionalProperties?: unknown;
};

/** Every object property in the schema, as [dotted path, its schema]. */
function properties(schema: Schema, path = ""): [string, Schema][] {
  const own = Object.entries(schema.properties ?? {}).flatMap(([key, sub]): [string, Schema][] => [
    [path ? `${path}.${key}` : key, sub],
    ...properties(sub, path ? `${path}.${key}` : key),
  ]);
  const nested = [...(Array.isArray(schema.items) ? schema.items : schema.items ? [schema.items] : []), ...(schema.anyOf ?? [])];
  return [...own, ...nested.flatMap((sub) => properties(sub, path))];
}

describe("gateway.schema.json", () => {
  it("is up to date (regenerate with: npx tsx scripts/gen-schema.ts)", () => {
    expect(JSON.parse(readFileSync(committedPath, "utf8"))).toEqual(gatewayJsonSchema);
  });

  it("describes every key and refuses unknown ones, so editors can help", () => {
    const all = properties(gatewayJsonSchema as Schema);
    expect(all.length).toBeGreaterThan(60);
    expect(all.filter(([, s]) => !s.description).map(([p]) => p)).toEqual([]);
    const open = [["(top)", gatewayJsonSchema as Schema] as const, ...all].filter(
      ([, s]) => s.properties && s.additionalProperties !== false,
    );
    expect(open.map(([p]) => p)).toEqual([]);
  });

  it("has every key in the user reference", () => {
    const reference = readFileSync(referencePath, "utf8");
    const keys = new Set(properties(gatewayJsonSchema as Schema).map(([p]) => p.split(".").at(-1) ?? ""));
    expect([...keys].filter((key) => !reference.includes(`\`${key}\``))).toEqual([]);
  });

  it("gives a native policy's or suite filter plugin's config its schema, and stays free of $refs", () => {
    const plugins = (gatewayJsonSchema as { properties: Record<string, { anyOf: { type?: string; items?: { allOf?: unknown[] } }[] }> })
      .properties.plugins!;
    const item = plugins.anyOf.find((s) => s.type === "array")?.items;
    const filters = (item?.allOf ?? []).map((c) => (c as { if: { properties: { filter: { const: string } } } }).if.properties.filter.const);
    expect(filters).toEqual([...NATIVE_POLICY_NAMES, ...FILTER_SCHEMA_NAMES]);
    // The admin API serves parts of the schema on their own, and OpenAPI embeds it: no $ref may dangle.
    expect(JSON.stringify(gatewayJsonSchema)).not.toContain('"$ref"');
  });
});
