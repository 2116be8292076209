// The OpenAPI document describes exactly what the router serves: every route in it, nothing
// else, every $ref resolvable, every path parameter declared.
import { describe, expect, it } from "vitest";
import { adminRoutes, type AdminStore } from "../../../src/admin/handlers.js";
import { buildOpenApiDocument } from "../../../src/admin/openapi.js";
import { KINDS } from "../../../src/store/types.js";

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];
const unusedStore = new Proxy(
  {},
  {
    get: () => {
      throw new Error("the store is not called while listing routes");
    },
  },
) as AdminStore;

type Obj = Record<string, any>;

function operations(doc: Obj): string[] {
  return Object.entries(doc.paths as Obj).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((k) => METHODS.includes(k))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const n of node) refs(n, out);
  } else if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) k === "$ref" && typeof v === "string" ? out.push(v) : refs(v, out);
  }
  return out;
}

describe("OpenAPI document", () => {
  const served = adminRoutes({ store: unusedStore, maxBodyBytes: 1, openapi: {} }).map((r) => `${r.method} ${r.template}`);
  const doc: Obj = buildOpenApiDocument({ bearer: true });

  it("lists every route the router serves, and only those", () => {
    expect(new Set(served).size).toBe(served.length);
    expect([...operations(doc)].sort()).toEqual([...served].sort());
    for (const kind of KINDS) expect(served).toContain(`PATCH /${kind}/{name}`);
  });

  it("declares every path parameter and resolves every $ref", () => {
    for (const [path, item] of Object.entries(doc.paths as Obj)) {
      for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
        const declared = Object.entries(item as Obj)
          .flatMap(([k, v]) => (k === "parameters" ? v : METHODS.includes(k) ? ((v as Obj).parameters ?? []) : []))
          .map((p: Obj) => (p.$ref ? doc.components.parameters[p.$ref.split("/").pop()] : p))
          .filter((p: Obj) => p.in === "path")
          .map((p: Obj) => p.name);
        expect(declared, `${path} declares {${name}}`).toContain(name);
      }
    }
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    for (const ref of all) {
      const target = ref
        .replace(/^#\//, "")
        .split("/")
        .reduce<unknown>((node, key) => (node as Obj | undefined)?.[key], doc);
      expect(target, ref).toBeDefined();
    }
  });

  it("gives each operation a unique id and responses, and the item schemas of the gateway file", () => {
    const ids = Object.values(doc.paths as Obj).flatMap((item) => METHODS.filter((m) => item[m]).map((m) => item[m].operationId));
    expect(new Set(ids).size).toBe(ids.length);
    for (const item of Object.values(doc.paths as Obj)) {
      for (const m of METHODS.filter((k) => item[k])) expect(Object.keys(item[m].responses).length).toBeGreaterThan(0);
    }
    expect(doc.components.schemas.Route.properties.upstream).toBeDefined();
    expect(doc.components.schemas.Upstream.properties.endpoints).toBeDefined();
    expect(doc.openapi).toBe("3.1.0");
  });

  it("requires the bearer scheme only when a token is configured, never for /healthz", () => {
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: "http", scheme: "bearer" }));
    expect(doc.paths["/healthz"].get.security).toEqual([]);
    const open: Obj = buildOpenApiDocument({ bearer: false });
    expect(open.security).toBeUndefined();
    expect((open.components as Obj).securitySchemes).toBeUndefined();
  });
});
