// The JSON Schema of the config file, for editors (yaml-language-server, VS Code's JSON support)
// and docs. It describes what users write (zod's "input" side), with defaults and descriptions.
// A plugin of a native policy gets the policy's config schema (from its zod schema, policies/).
// A plugin of a suite filter also gets that filter's own schema (filters/<name>/config.schema.json,
// hand-written beside the filter, with the definitions all filters share in filters/shared.schema.json)
// for its `config`.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { NATIVE_POLICIES, NATIVE_POLICY_NAMES, type NativePolicyName } from "../policies/index.js";
import { GATEWAY_SET_GLOBAL_FIELDS, RATE_LIMIT_FILTER } from "../translate/rate-limit-service.js";
import { gatewayConfigSchema } from "./schema.js";

/** Suite filters with a config schema, in the order their conditions appear. */
export const FILTER_SCHEMA_NAMES = ["basic-auth", "header-rewrite", "jwt-auth", "key-auth", "rate-limit"] as const;

type Json = Record<string, unknown>;

/** Where a filter's schema file is (filters/<name>/config.schema.json). */
export function filterSchemaUrl(filter: string): URL {
  return new URL(`../../../filters/${filter}/config.schema.json`, import.meta.url);
}

/**
 * The definitions every filter schema shares (match, pathMatch, headerMatch, queryMatch,
 * headerName, metricName, duration), which the filter schemas refer to with a relative
 * `$ref` ("../shared.schema.json#/definitions/match"), so an editor opening one resolves it.
 */
export const SHARED_FILTER_SCHEMA_URL = new URL("../../../filters/shared.schema.json", import.meta.url);

function readSchema(url: URL): Json {
  return JSON.parse(readFileSync(url, "utf8")) as Json;
}

/** A filter's schema file as written (with its own `definitions` and `$ref`s into them and into the shared file). */
export function filterConfigSchema(filter: string): Json {
  return readSchema(filterSchemaUrl(filter));
}

/** The shared definitions file (filters/shared.schema.json) as written. */
export function sharedFilterSchema(): Json {
  return readSchema(SHARED_FILTER_SCHEMA_URL);
}

/**
 * The filter schema with every `$ref` replaced by what it names, and without its `$schema` and
 * `definitions`: the gateway schema stays self-contained and free of $refs (the admin API serves
 * parts of it on their own, and OpenAPI embeds it elsewhere). A `$ref` names a definition of the
 * same file ("#/definitions/x") or of another file, relative to the one it is in
 * ("../shared.schema.json#/definitions/x", whose own local refs are then that file's). `base`
 * is where `schema` was read from.
 */
export function inlineFilterSchema(schema: Json, base: URL): Json {
  const files = new Map<string, Json>([[base.href, schema]]);
  const load = (url: URL): Json => {
    let doc = files.get(url.href);
    if (doc === undefined) {
      doc = readSchema(url);
      files.set(url.href, doc);
    }
    return doc;
  };
  const resolve = (node: unknown, at: URL, seen: string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => resolve(n, at, seen));
    if (node === null || typeof node !== "object") return node;
    const obj = node as Json;
    if (typeof obj.$ref === "string") {
      const m = /^([^#]*)#\/definitions\/([^/]+)$/.exec(obj.$ref);
      if (m === null) throw new Error(`filter schema: unresolvable $ref ${obj.$ref}`);
      const target = m[1] ? new URL(m[1], at) : at;
      const definitions = (load(target).definitions ?? {}) as Record<string, unknown>;
      const name = m[2]!;
      if (!(name in definitions)) throw new Error(`filter schema: unresolvable $ref ${obj.$ref}`);
      const key = `${target.href}#${name}`;
      if (seen.includes(key)) throw new Error(`filter schema: recursive $ref ${obj.$ref}`);
      const { $ref: _, ...rest } = obj;
      return { ...(resolve(definitions[name], target, [...seen, key]) as Json), ...(resolve(rest, at, seen) as Json) };
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v, at, seen)]));
  };
  const { $schema: _s, definitions: _d, ...body } = schema;
  return resolve(body, base, []) as Json;
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
  const configs: [string, Json][] = [
    ...NATIVE_POLICY_NAMES.map((filter): [string, Json] => [filter, nativePolicyConfigSchema(filter)]),
    ...FILTER_SCHEMA_NAMES.map((filter): [string, Json] => [
      filter,
      asWrittenInGateway(filter, inlineFilterSchema(filterConfigSchema(filter), filterSchemaUrl(filter))),
    ]),
  ];
  item.allOf = configs.map(([filter, config]) => ({
    if: { properties: { filter: { const: filter } }, required: ["filter"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, not a thenable
    then: { properties: { config: { if: { type: "object" }, then: config } } },
  }));
  return schema;
}

/**
 * A filter's schema as gateway.yaml uses it: the rate-limit `global` block without the fields the
 * gateway writes itself (translate/rate-limit-service.ts), so an editor neither asks for them nor
 * accepts them.
 */
function asWrittenInGateway(filter: string, schema: Json): Json {
  if (filter !== RATE_LIMIT_FILTER) return schema;
  const global = (schema.properties as Record<string, Json> | undefined)?.global;
  if (!global) throw new Error("rate-limit schema: no global block");
  const fields: readonly string[] = GATEWAY_SET_GLOBAL_FIELDS;
  const properties = global.properties as Record<string, unknown>;
  global.properties = Object.fromEntries(Object.entries(properties).filter(([k]) => !fields.includes(k)));
  global.required = ((global.required ?? []) as string[]).filter((k) => !fields.includes(k));
  if ((global.required as string[]).length === 0) delete global.required;
  return schema;
}

/** A native policy's config schema, from its zod schema (what users write: the input side). */
export function nativePolicyConfigSchema(filter: NativePolicyName): Json {
  const { $schema: _, ...body } = z.toJSONSchema(NATIVE_POLICIES[filter].schema, { io: "input", target: "draft-07" }) as Json;
  return body;
}

// draft-07: the newest draft that every common editor integration understands fully.
export const gatewayJsonSchema: object = withFilterConfigs(
  z.toJSONSchema(gatewayConfigSchema, { io: "input", target: "draft-07" }) as Json,
);
