// The JSON Schema of the config file, for editors (yaml-language-server, VS Code's JSON support)
// and docs. It describes what users write (zod's "input" side), with defaults and descriptions.
// A plugin of a suite filter also gets that filter's own schema (filters/<name>/config.schema.json,
// hand-written beside the filter) for its `config`.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { gatewayConfigSchema } from "./schema.js";

/** Suite filters with a config schema, in the order their conditions appear. */
export const FILTER_SCHEMA_NAMES = ["header-rewrite", "jwt-auth", "rate-limit"] as const;

type Json = Record<string, unknown>;

/** A filter's schema file as written (with its own `definitions` and `$ref`s into them). */
export function filterConfigSchema(filter: string): Json {
  return JSON.parse(readFileSync(new URL(`../../../filters/${filter}/config.schema.json`, import.meta.url), "utf8")) as Json;
}

/**
 * The filter schema with every local `$ref` ("#/definitions/x") replaced by what it names, and
 * without its `$schema` and `definitions`: the gateway schema stays self-contained and free of
 * $refs (the admin API serves parts of it on their own, and OpenAPI embeds it elsewhere).
 */
export function inlineFilterSchema(schema: Json): Json {
  const definitions = (schema.definitions ?? {}) as Record<string, unknown>;
  const resolve = (node: unknown, seen: string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => resolve(n, seen));
    if (node === null || typeof node !== "object") return node;
    const obj = node as Json;
    if (typeof obj.$ref === "string") {
      const name = /^#\/definitions\/([^/]+)$/.exec(obj.$ref)?.[1];
      if (name === undefined || !(name in definitions)) throw new Error(`filter schema: unresolvable $ref ${obj.$ref}`);
      if (seen.includes(name)) throw new Error(`filter schema: recursive $ref ${obj.$ref}`);
      const { $ref: _, ...rest } = obj;
      return { ...(resolve(definitions[name], [...seen, name]) as Json), ...(resolve(rest, seen) as Json) };
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v, seen)]));
  };
  const { $schema: _s, definitions: _d, ...body } = schema;
  return resolve(body, []) as Json;
}

/**
 * In the plugin item schema, one `if filter is X then config follows X's schema` per suite filter
 * (an allOf of if/then, which VS Code's YAML extension completes and checks). Only a config
 * written as a map is checked: the string form (a JSON text) is left to the filter.
 */
function withFilterConfigs(schema: Json): Json {
  const plugins = (schema.properties as Record<string, Json>).plugins;
  const list = [plugins, ...((plugins?.anyOf ?? []) as Json[])].find((s) => s?.type === "array");
  const item = list?.items as Json | undefined;
  if (!item) throw new Error("gateway schema: no plugin item schema");
  item.allOf = FILTER_SCHEMA_NAMES.map((filter) => ({
    if: { properties: { filter: { const: filter } }, required: ["filter"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, not a thenable
    then: { properties: { config: { if: { type: "object" }, then: inlineFilterSchema(filterConfigSchema(filter)) } } },
  }));
  return schema;
}

// draft-07: the newest draft that every common editor integration understands fully.
export const gatewayJsonSchema: object = withFilterConfigs(
  z.toJSONSchema(gatewayConfigSchema, { io: "input", target: "draft-07" }) as Json,
);
