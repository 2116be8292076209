// One match language: a regex gets the same verdict in a route (the gateway schema, which judges
// for Envoy's RE2) and in a plugin rule's match (judged by the filter's own engine, through the
// plugin checker, as the gateway does on load), except the documented differences named in
// regex-patterns.ts.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { regexError } from "../../../src/config/syntax.js";
import { createPluginChecker } from "../../../src/plugins/check-config.js";
import { builtFilter } from "../../../../test/support/wasm-fixtures.js";
import { type GatewayDir, makeGatewayDir } from "./fixtures.js";
import { REGEX_CASES } from "./regex-patterns.js";

let gw: GatewayDir;
const check = createPluginChecker();
let module: { bytes: Uint8Array; sha256: string };

beforeAll(() => {
  gw = makeGatewayDir();
  const bytes = readFileSync(builtFilter("header-rewrite"));
  module = { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}, 300_000);
afterAll(() => gw.remove());

/** The route side: the errors of a minimal gateway config with the pattern in a path or a header regex. */
async function routeErrors(pattern: string, where: "path" | "header"): Promise<string[]> {
  const match = where === "path" ? { path: { regex: pattern } } : { headers: [{ name: "x-v", regex: pattern }] };
  const config = {
    listeners: [{ name: "main", port: 8080 }],
    upstreams: [{ name: "echo", endpoints: ["10.0.0.1:80"] }],
    routes: [{ name: "r", upstream: "echo", match }],
  };
  const result = await gw.load(JSON.stringify(config));
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

/** The filter side: header-rewrite's configure step on a rule matching on the pattern. */
async function filterErrors(pattern: string, where: "path" | "header"): Promise<string[]> {
  const match = where === "path" ? { path: { regex: pattern } } : { headers: [{ name: "x-v", regex: pattern }] };
  const config = { rules: [{ match, request: { set: { "x-gateway": "portico" } } }] };
  return (await check({ ...module, rootId: "header-rewrite", name: "p", config: JSON.stringify(config) })).errors;
}

describe("a regex gets one verdict in routes and in plugin rules", () => {
  for (const c of REGEX_CASES) {
    const name = `${c.ok ? "accepts" : "refuses"} ${c.what}: ${JSON.stringify(c.pattern).slice(0, 40)}`;
    it(name, async () => {
      for (const where of ["path", "header"] as const) {
        const route = await routeErrors(c.pattern, where);
        expect(route.length === 0, `route ${where}: ${route.join("; ")}`).toBe(c.ok);
        if (!c.ok) expect(route.join("\n")).toMatch(/invalid regex/);
        const filter = await filterErrors(c.pattern, where);
        // A documented difference: the filter gives the other verdict.
        const filterOk = c.differs ? !c.ok : c.ok;
        expect(filter.length === 0, `filter ${where}: ${filter.join("; ")}`).toBe(filterOk);
      }
    });
  }

  it("the differences are the documented few", () => {
    expect(REGEX_CASES.filter((c) => c.differs).map((c) => c.pattern)).toEqual([
      "(?)a",
      "(a{10}){101}",
      "\\p{Greek}+",
      "\\pL+",
      "[\\P{Han}]",
      "a\\C",
      "\\x{263A}",
    ]);
    const doc = readFileSync(new URL("../../../../docs/gateway-config.md", import.meta.url), "utf8");
    for (const text of ["`\\p{…}`", "`\\C`", "`\\x{…}`", "`(?)`", "multiply"]) expect(doc).toContain(text);
  });

  it("says what RE2 lacks, and where", () => {
    expect(regexError("(?=a)a")).toBe('invalid regex "(?=a)a": RE2 (Envoy\'s regex engine) has no lookahead or lookbehind');
    expect(regexError("a{1001}")).toBe('invalid regex "a{1001}": bad repetition operator {1001}: counts are at most 1000');
    expect(regexError("(a{10}){101}")).toBe(
      'invalid regex "(a{10}){101}": bad repetition operator {101}: nested counts multiply to more than 1000',
    );
    expect(regexError("(?i-)a")).toBe('invalid regex "(?i-)a": missing flags after - in (?i-)');
    expect(regexError("\\y")).toBe('invalid regex "\\\\y": invalid escape sequence \\y');
  });
});
