// Each suite filter's JSON Schema (filters/<name>/config.schema.json) and the filter itself agree:
// every example config in the corpus gets the same verdict from the built filter's configure step
// (run in the emulator, as the gateway checks plugin configs) and from the schema, alone and as
// composed into the gateway schema for a plugin of that filter. The definitions every filter shares
// (match vocabulary, names, duration) are in filters/shared.schema.json, once. The exceptions are the corpus
// cases marked schemaCannot and schemaStricter (see filter-schema-corpus.ts).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { DURATION_PATTERN } from "../../../src/config/durations.js";
import {
  FILTER_SCHEMA_NAMES,
  SHARED_FILTER_SCHEMA_URL,
  filterConfigSchema,
  filterSchemaUrl,
  gatewayJsonSchema,
  inlineFilterSchema,
  sharedFilterSchema,
} from "../../../src/config/json-schema.js";
import { createPluginChecker } from "../../../src/plugins/check-config.js";
import { GATEWAY_SET_GLOBAL_FIELDS } from "../../../src/translate/rate-limit-service.js";
import { repoRoot } from "../../../../test/support/index.js";
import { builtFilter } from "../../../../test/support/wasm-fixtures.js";
import { CORPUS } from "./filter-schema-corpus.js";

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
  ajv.addKeyword({ keyword: "deprecationMessage", schemaType: "string" }); // VS Code's, shown on use
  // The filter schemas' relative $refs resolve against where they are, as in an editor.
  ajv.addSchema(sharedFilterSchema(), SHARED_FILTER_SCHEMA_URL.href);
  return ajv;
}

const check = createPluginChecker();
const modules: Record<string, { bytes: Uint8Array; sha256: string }> = {};
let gateway: ValidateFunction;

beforeAll(() => {
  for (const name of FILTER_SCHEMA_NAMES) {
    const bytes = readFileSync(builtFilter(name));
    modules[name] = { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
  }
  gateway = newAjv().compile(gatewayJsonSchema);
}, 300_000);

async function filterAccepts(filter: string, config: unknown): Promise<string[]> {
  return (await check({ ...modules[filter]!, rootId: filter, name: "p", config: JSON.stringify(config) })).errors;
}

/**
 * filters/suite (issue #14) runs the other filters in one Wasm filter; its config is theirs, under
 * plugins[i].config. It is not a gateway.yaml plugin yet (the control plane does not emit it).
 */
const NOT_GATEWAY_PLUGINS = ["suite"];

it("every suite filter directory has a schema, and the gateway schema composes each", () => {
  const dirs = readdirSync(join(repoRoot, "filters"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !NOT_GATEWAY_PLUGINS.includes(d.name))
    .map((d) => d.name)
    .sort();
  expect([...FILTER_SCHEMA_NAMES]).toEqual(dirs);
  expect(Object.keys(CORPUS).sort()).toEqual(dirs);
});

const SHARED_REF = "../shared.schema.json#/definitions/";
const SHARED_NAMES = ["match", "pathMatch", "headerMatch", "queryMatch", "headerName", "metricName", "duration", "consumerName"];

/** Every `$ref` in a schema document. */
function refs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refs);
  if (node === null || typeof node !== "object") return [];
  const own = typeof (node as Node).$ref === "string" ? [(node as Node).$ref as string] : [];
  return [...own, ...Object.values(node as Node).flatMap(refs)];
}

describe("the shared definitions (filters/shared.schema.json) are defined once and used by every filter schema", () => {
  const shared = sharedFilterSchema();
  const sharedDefs = shared.definitions as Record<string, Node>;

  it("holds the match vocabulary, header, metric and consumer names and the duration", () => {
    expect(Object.keys(sharedDefs).sort()).toEqual([...SHARED_NAMES].sort());
    // Its own refs stay inside it.
    for (const ref of refs(shared)) expect(sharedDefs, ref).toHaveProperty(ref.replace("#/definitions/", ""));
  });

  it("the duration pattern is the control plane's grammar (DURATION_PATTERN)", () => {
    expect(sharedDefs.duration).toMatchObject({ type: "string", pattern: DURATION_PATTERN });
  });

  for (const filter of FILTER_SCHEMA_NAMES) {
    it(`${filter}: refers to it (relative $ref) and spells none of it itself`, () => {
      const schema = filterConfigSchema(filter);
      const own = (schema.definitions ?? {}) as Record<string, unknown>;
      for (const name of SHARED_NAMES) expect(own, name).not.toHaveProperty(name);
      const all = refs(schema);
      // Every rule's match is the shared one (key-auth and basic-auth have no rules).
      if (filter !== "key-auth" && filter !== "basic-auth") expect(all).toContain(`${SHARED_REF}match`);
      for (const ref of all) {
        if (ref.startsWith("#/definitions/")) expect(own, ref).toHaveProperty(ref.slice("#/definitions/".length));
        else expect(sharedDefs, ref).toHaveProperty(ref.startsWith(SHARED_REF) ? ref.slice(SHARED_REF.length) : `(not shared: ${ref})`);
      }
      // No duration grammar of its own: every duration field refers to the shared one.
      expect(JSON.stringify(schema)).not.toContain(JSON.stringify(DURATION_PATTERN));
      if (filter !== "header-rewrite" && filter !== "key-auth") expect(all).toContain(`${SHARED_REF}duration`);
    });

    it(`${filter}: inlined into the gateway schema with the shared definitions, and no $ref left`, () => {
      const inlined = inlineFilterSchema(filterConfigSchema(filter), filterSchemaUrl(filter));
      expect(refs(inlined)).toEqual([]);
      expect(JSON.stringify(inlined)).toContain(
        JSON.stringify(sharedDefs[filter === "key-auth" ? "headerName" : filter === "basic-auth" ? "duration" : "match"]!.description),
      );
    });
  }
});

type Node = Record<string, unknown>;

/** Every object schema with properties, as [path, schema], walking every subschema. */
function objectSchemas(node: unknown, path = ""): [string, Node][] {
  if (Array.isArray(node)) return node.flatMap((n, i) => objectSchemas(n, `${path}[${i}]`));
  if (node === null || typeof node !== "object") return [];
  const own: [string, Node][] = (node as Node).properties ? [[path || "(top)", node as Node]] : [];
  return [...own, ...Object.entries(node as Node).flatMap(([k, v]) => objectSchemas(v, `${path}/${k}`))];
}

it("describes every key and refuses unknown ones (as the filters do), so editors can help", () => {
  for (const filter of FILTER_SCHEMA_NAMES) {
    const objects = objectSchemas(inlineFilterSchema(filterConfigSchema(filter), filterSchemaUrl(filter)));
    const undescribed = objects.flatMap(([p, o]) =>
      Object.entries(o.properties as Node)
        .filter(([, v]) => !(v as Node).description)
        .map(([k]) => `${p}.${k}`),
    );
    expect(undescribed, filter).toEqual([]);
    // A JWKS is the identity provider's document: its members are not the filter's to refuse.
    const open = objects.filter(([p, o]) => o.additionalProperties !== false && !p.endsWith("/jwks"));
    expect(
      open.map(([p]) => p),
      filter,
    ).toEqual([]);
  }
});

for (const filter of FILTER_SCHEMA_NAMES) {
  describe(`${filter}: schema and filter agree`, () => {
    let schema: ValidateFunction;
    beforeAll(() => {
      schema = newAjv().compile({ ...filterConfigSchema(filter), $id: filterSchemaUrl(filter).href });
    });

    for (const example of CORPUS[filter]!) {
      it(`${example.ok ? "accepts" : "refuses"} ${example.what}${example.schemaCannot ? " (filter only)" : example.schemaStricter ? " (schema flags it)" : ""}`, async () => {
        const config = JSON.parse(JSON.stringify(example.config)) as unknown;
        const messages = await filterAccepts(filter, config);
        expect(messages.length === 0, `filter: ${messages.join("; ")}`).toBe(example.ok);
        const schemaOk = schema(config);
        const expected = example.schemaCannot ? true : example.schemaStricter ? false : example.ok;
        expect(schemaOk, `schema: ${JSON.stringify(schema.errors)}`).toBe(expected);
        // The same verdict through the gateway schema, for a plugin of this filter as gateway.yaml
        // has it: without the fields the gateway writes itself.
        const doc = { plugins: [{ name: "p", filter, config: asWrittenInGatewayYaml(config) }] };
        expect(gateway(doc), `gateway schema: ${JSON.stringify(gateway.errors)}`).toBe(example.inGateway ?? expected);
      });
    }
  });
}

/** A filter config without what the gateway sets (rate-limit global.cluster and global.domain). */
function asWrittenInGatewayYaml(config: unknown): unknown {
  const global = (config as { global?: unknown } | null)?.global;
  if (global === null || typeof global !== "object") return config;
  const own = Object.fromEntries(Object.entries(global).filter(([k]) => !(GATEWAY_SET_GLOBAL_FIELDS as readonly string[]).includes(k)));
  return { ...(config as object), global: own };
}

it("the gateway schema refuses what the gateway sets in a rate-limit global block", () => {
  const config = { global: { cluster: "rls" }, rules: [{ name: "g", scope: "global", requests: 1, period: "1s" }] };
  expect(gateway({ plugins: [{ name: "p", filter: "rate-limit", config }] })).toBe(false);
  expect(gateway({ plugins: [{ name: "p", filter: "rate-limit", config: { ...config, global: {} } }] })).toBe(true);
});

it("the gateway schema leaves other plugins' configs alone", () => {
  expect(gateway({ plugins: [{ name: "m", module: "x.wasm", config: { anything: [1] } }] })).toBe(true);
  expect(gateway({ plugins: [{ name: "p", filter: "rate-limit", config: '{"not": "checked"}' }] })).toBe(true);
  expect(gateway({ plugins: [{ name: "p", filter: "rate-limit", config: { not: "ok" } }] })).toBe(false);
});
