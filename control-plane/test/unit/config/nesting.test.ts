// Documents nesting maps and lists thousands of levels deep (in the text, or through YAML
// aliases, or in an alias cycle) are refused by the loader with a located error, not a stack
// overflow; a document as deep as the limit still loads.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayFile } from "../../../src/config/index.js";
import { MAX_NESTING_DEPTH, jsonNestingOffset, textNestingOffset } from "../../../src/config/nesting.js";
import { type GatewayDir, makeGatewayDir } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

const VALID = `listeners: [{ name: main, port: 8080 }]\nupstreams: [{ name: u, endpoints: ["10.0.0.1:80"] }]\n`;
const TOO_DEEP = `the document nests deeper than ${MAX_NESTING_DEPTH} levels (maps and lists within one another)`;

/** `levels` flow maps one inside the other: {"a":{"a":...1...}}. */
const jsonNest = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
/** `levels` block maps, one per line, each indented under the one before. */
const blockNest = (levels: number) => `${Array.from({ length: levels }, (_, i) => `${" ".repeat(i)}a:`).join("\n")} 1\n`;

describe("nesting depth: the gateway file", () => {
  it("refuses a JSON gateway file nested 5,000 deep at the place it gets too deep", async () => {
    const text = `{"listeners": [{"name": "main", "port": 8080, "x": ${jsonNest(5000)}}]}`;
    const errors = await gw.errors(text);
    expect(errors).toEqual([{ source: "gateway.yaml", path: "", line: 1, column: expect.any(Number), message: TOO_DEEP }]);
    // Level 65 counts the document's map and the listeners list: the 62nd {"a": of the nest.
    expect(errors[0]!.column).toBe(text.indexOf('{"a":') + 1 + 5 * (MAX_NESTING_DEPTH - 3));
  });

  it("refuses a YAML file nested 5,000 deep in block style, read from disk, on the line that goes too deep", async () => {
    const file = join(gw.dir, "deep.yaml");
    writeFileSync(file, `${VALID}routes:\n  - name: r\n    upstream: u\n    match:\n${blockNest(5000).replace(/^/gm, "      ")}`);
    const loaded = await loadGatewayFile(file, { filtersDir: gw.filtersDir });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    // The document (1) → routes (2) → the route (3) → match's map (4, line 7): level 65 is 61 lines
    // further, at the key indented 6 + 61 spaces.
    expect(loaded.errors).toEqual([{ source: file, path: "", line: 7 + 61, column: 6 + 61 + 1, message: TOO_DEEP }]);
  });

  it("refuses nesting stacked through aliases, pointing at the alias", async () => {
    const levels = 30;
    const nest = (inner: string) => `${"[".repeat(levels)}${inner}${"]".repeat(levels)}`;
    const text = `${VALID}x-a: &a ${nest("1")}\nx-b: &b ${nest("*a")}\nx-c: &c ${nest("*b")}\n`;
    const errors = await gw.errors(text);
    expect(errors).toEqual([
      {
        source: "gateway.yaml",
        path: "",
        line: 5,
        column: "x-c: &c ".length + levels + 1,
        message: `${TOO_DEEP}, counting what its aliases stand for`,
      },
    ]);
  });

  it("refuses an alias inside the list it names (a cycle) rather than recursing for ever", async () => {
    const errors = await gw.errors(`${VALID}routes: &r [*r]\n`);
    expect(errors).toEqual([
      { source: "gateway.yaml", path: "", line: 3, column: 13, message: "an alias refers to a map or list that contains it (a cycle)" },
    ]);
  });

  it("refuses a cycle in a plugin config (before, JSON.stringify threw out of the loader: a 500 from PUT /config)", async () => {
    const errors = await gw.errors(`${VALID}plugins:\n  - name: p\n    filter: header-rewrite\n    config: &c { rules: [*c] }\n`);
    expect(errors).toEqual([
      { source: "gateway.yaml", path: "", line: 6, column: 26, message: "an alias refers to a map or list that contains it (a cycle)" },
    ]);
  });

  it("still reads a document exactly as deep as the limit (the error is then about the keys, not the depth)", async () => {
    // Document map (1) → listeners (2) → item (3) → x … : 61 more levels make 64.
    const errors = await gw.errors(`{"listeners": [{"name": "main", "port": 8080, "x": ${jsonNest(MAX_NESTING_DEPTH - 3)}}]}`);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/^unknown key "x" \(expected one of: name, address, port, /);
  });
});

describe("nesting depth: the text checks", () => {
  it("count brackets outside strings only, for JSON and YAML text alike", () => {
    // Four levels: the list, the map, the list under "a" and the one inside it.
    const nested = `["[[[[", {"a": [[]]}]`;
    expect(jsonNestingOffset(nested, 4)).toBeUndefined();
    expect(jsonNestingOffset(nested, 3)).toBe(nested.indexOf("[]]"));
    expect(jsonNestingOffset(`["\\"[[[["]`, 1)).toBeUndefined();
    expect(textNestingOffset(nested, 4)).toBeUndefined();
    expect(textNestingOffset(nested, 3)).toBe(nested.indexOf("[]]"));
  });

  it("stop at the first level too many, so a 1 MiB run of brackets costs no more than a short one", () => {
    const huge = "[".repeat(1024 * 1024);
    const started = performance.now();
    expect(jsonNestingOffset(huge)).toBe(MAX_NESTING_DEPTH);
    expect(textNestingOffset(huge)).toBe(MAX_NESTING_DEPTH);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
