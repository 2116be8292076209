// The AssemblyScript regex engine (assembly/match/regex.ts, through the regex-harness test
// module) against JavaScript's RegExp, anchored as ^(?:p)$ for full-match semantics, on
// patterns and texts generated with fast-check from the syntax both engines read the same way
// (ASCII texts without \v, \r or Unicode spaces, where RE2's and ECMAScript's \s, `.` and (?i)
// agree); plus unsupported syntax, non-BMP text and the linear-time guarantee.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { fixtureWasm } from "../support/wasm-fixtures.js";

interface Harness {
  compile(pattern: string): number | string; // handle, or the error text
  matches(handle: number, text: string): boolean;
  programSize(handle: number): number;
  reset(): void;
}

let h: Harness;

beforeAll(async () => {
  const module = await WebAssembly.compile(readFileSync(fixtureWasm("regex-harness")));
  let memory: WebAssembly.Memory | undefined;
  const logs: string[] = [];
  const imports: Record<string, Record<string, (...a: number[]) => number>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") throw new Error(`regex-harness imports a ${imp.kind}: ${imp.module}.${imp.name}`);
    imports[imp.module] ??= {};
    const ns = imports[imp.module]!;
    ns[imp.name] =
      imp.module === "env" && imp.name === "proxy_log"
        ? (_level, ptr, len) => {
            logs.push(Buffer.from(memory!.buffer, ptr, len).toString("utf8"));
            return 0;
          }
        : () => {
            throw new Error(`regex-harness called ${imp.module}.${imp.name}`);
          };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const x = instance.exports as unknown as {
    memory: WebAssembly.Memory;
    _start?: () => void;
    arena(size: number): number;
    compile(ptr: number, units: number): number;
    errorText(): number;
    matches(handle: number, ptr: number, units: number): number;
    programSize(handle: number): number;
    reset(): void;
  };
  memory = x.memory;
  x._start?.();
  const put = (s: string): [number, number] => {
    const ptr = x.arena(s.length * 2 + 8);
    const view = new Uint16Array(memory!.buffer, ptr, s.length);
    for (let i = 0; i < s.length; i++) view[i] = s.charCodeAt(i);
    return [ptr, s.length];
  };
  const call = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw new Error(`wasm trap: ${(err as Error).message}; log: ${logs.join(" | ")}`);
    }
  };
  h = {
    compile(pattern) {
      const handle = call(() => x.compile(...put(pattern)));
      if (handle >= 0) return handle;
      const n = x.errorText();
      const ptr = x.arena(0);
      return String.fromCharCode(...new Uint16Array(memory!.buffer, ptr, n));
    },
    matches: (handle, text) => call(() => x.matches(handle, ...put(text))) === 1,
    programSize: (handle) => x.programSize(handle),
    reset: () => x.reset(),
  };
}, 180_000);

function mustCompile(pattern: string): number {
  const r = h.compile(pattern);
  if (typeof r === "string") throw new Error(`${pattern}: ${r}`);
  return r;
}

const full = (pattern: string, flags = "") => new RegExp(`^(?:${pattern})$`, flags);

// ---- generators -----------------------------------------------------------------------------

const literal = fc.constantFrom("a", "b", "c", "/", "_", "0", "1", "A", "\\.", "\\/", "\\-", "\\*", " ");
const perl = fc.constantFrom("\\d", "\\D", "\\w", "\\W", "\\s", "\\S", ".");
const classItem = fc.constantFrom("a", "b", "a-c", "0-9", "\\d", "\\w", "\\s", "/", "_", "\\-", "\\]", ".", "A-Z");
const cls = fc
  .tuple(fc.boolean(), fc.array(classItem, { minLength: 1, maxLength: 3 }))
  .map(([neg, items]) => `[${neg ? "^" : ""}${items.join("")}]`);
const assertion = fc.constantFrom("\\b", "\\B", "^", "$");
const quantifier = fc
  .tuple(
    fc.oneof(
      fc.constantFrom("*", "+", "?"),
      fc.nat(3).map((n) => `{${n}}`),
      fc.nat(2).map((n) => `{${n},}`),
      fc.tuple(fc.nat(2), fc.nat(2)).map(([n, d]) => `{${n},${n + d}}`),
    ),
    fc.boolean(),
  )
  .map(([q, lazy]) => q + (lazy ? "?" : ""));

const { pattern } = fc.letrec<{ pattern: string; alt: string; concat: string; piece: string; atom: string }>((tie) => ({
  pattern: fc.tuple(fc.constantFrom("", "", "", "(?i)", "(?s)"), tie("alt")).map(([f, p]) => f + p),
  alt: fc.array(tie("concat"), { minLength: 1, maxLength: 3 }).map((xs) => xs.join("|")),
  concat: fc.array(tie("piece"), { minLength: 0, maxLength: 4 }).map((xs) => xs.join("")),
  piece: fc.oneof(
    { weight: 4, arbitrary: fc.tuple(tie("atom"), fc.option(quantifier, { freq: 2 })).map(([a, q]) => a + (q ?? "")) },
    { weight: 1, arbitrary: assertion },
  ),
  atom: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 5, arbitrary: literal },
    { weight: 2, arbitrary: perl },
    { weight: 2, arbitrary: cls },
    { weight: 2, arbitrary: tie("alt").map((a) => `(${a})`) },
    { weight: 1, arbitrary: tie("alt").map((a) => `(?:${a})`) },
  ),
}));

const text = fc
  .array(fc.constantFrom("a", "a", "b", "c", "/", "_", "0", "1", "A", ".", "-", " ", "\n", "*", "]"), { maxLength: 10 })
  .map((cs) => cs.join(""));

// ---- tests ----------------------------------------------------------------------------------

describe("regex engine vs JavaScript RegExp (full match)", () => {
  it("agrees on generated patterns and texts", () => {
    let checked = 0;
    let matched = 0;
    fc.assert(
      fc.property(pattern, fc.array(text, { minLength: 8, maxLength: 24 }), (p, texts) => {
        const fold = p.startsWith("(?i)");
        const dotAll = p.startsWith("(?s)");
        const body = fold || dotAll ? p.slice(4) : p;
        const js = full(body, fold ? "i" : dotAll ? "s" : "");
        const compiled = h.compile(p);
        // Nested counts can exceed the program bound; that refusal is tested below.
        if (typeof compiled === "string" && compiled.includes("too large")) return true;
        const handle = mustCompile(p);
        for (const t of texts) {
          const expected = js.test(t);
          const actual = h.matches(handle, t);
          if (actual !== expected) {
            throw new Error(`pattern ${JSON.stringify(p)} text ${JSON.stringify(t)}: ours ${actual}, RegExp ${expected}`);
          }
          checked++;
          if (expected) matched++;
        }
        return true;
      }),
      { numRuns: 3000, seed: 20260611 },
    );
    h.reset();
    // The corpus is not vacuous: a fair share of the pairs match.
    console.log(`regex differential: ${checked} pattern/text pairs, ${matched} matching`);
    expect(checked).toBeGreaterThan(30_000);
    expect(matched / checked).toBeGreaterThan(0.05);
  });

  it("agrees on hand-picked cases", () => {
    const cases: [string, string[]][] = [
      ["/api/v[0-9]+/users/\\d+", ["/api/v1/users/42", "/api/v12/users/", "/api/v1/users/4x", "/api/vx/users/1"]],
      ["(?:/[a-z0-9-]+)+/?", ["/a/b-c/", "/", "/a//b", "/A"]],
      ["[^/]+\\.(png|jpe?g|gif)", ["logo.png", "a.jpeg", "a.jpg", "a/b.png", ".gif"]],
      ["(a|ab)(c|bcd)(d*)", ["abcd", "abc", "acd", "abbcd"]],
      ["Bearer [A-Za-z0-9._~+/-]+=*", ["Bearer abc.def", "Bearer ", "bearer x", "Bearer a=="]],
      ["(a+)+b", ["aaab", "aaa", "b"]],
    ];
    for (const [p, texts] of cases) {
      const handle = mustCompile(p);
      for (const t of texts) expect(h.matches(handle, t), `${p} on ${t}`).toBe(full(p).test(t));
    }
  });

  it("steps by code point over non-BMP text, as RegExp with the u flag does", () => {
    const cases: [string, string[]][] = [
      ["/.", ["/😀", "/a", "/é"]],
      ["/..", ["/😀", "/ab"]],
      ["[😀-😂]+", ["😀😁😂", "😃"]],
      ["[^a]", ["😀", "a"]],
      ["\\x{1F600}", ["😀"]],
    ];
    for (const [p, texts] of cases) {
      const handle = mustCompile(p);
      const js = full(p.replace("\\x{1F600}", "\\u{1F600}"), "u");
      for (const t of texts) expect(h.matches(handle, t), `${p} on ${t}`).toBe(js.test(t));
    }
  });
});

describe("refused syntax", () => {
  it.each([
    ["(a)\\1", "backreferences"],
    ["\\k<n>", "backreferences"],
    ["(?P<n>a)(?P=n)", "backreferences"],
    ["a(?=b)", "lookahead"],
    ["a(?!b)", "lookahead"],
    ["(?<=a)b", "lookbehind"],
    ["(?<!a)b", "lookbehind"],
    ["(?>a)", "atomic groups"],
    ["a*+", "possessive"],
    ["\\pL", "Unicode classes"],
    ["\\p{Greek}", "Unicode classes"],
    ["\\C", "\\C"],
    ["(?#x)", "comments"],
    ["a(b", "missing ): unterminated group (at offset 1)"],
    ["a)b", "unexpected )"],
    ["[ab", "missing ]"],
    ["*a", "missing argument to repetition operator *"],
    ["a**", "bad repetition operator a**"],
    ["[z-a]", "invalid character class range z-a"],
    ["a{1001}", "repetition count above 1000"],
    ["(a{100}){100}", "too large"],
    ["\\q", "unknown escape \\q"],
    ["a\\", "trailing backslash"],
    ["(?z)", "unknown group or flag"],
  ])("%s: %s", (p, message) => {
    const r = h.compile(p);
    expect(typeof r).toBe("string");
    expect(r).toContain(message);
  });
});

describe("linear time", () => {
  it("runs (a*)*b and friends on 10,000 characters in milliseconds", () => {
    const as = "a".repeat(10_000);
    for (const [p, t, expected] of [
      ["(a*)*b", as, false],
      ["(a|a)*b", as, false],
      ["(a|aa)*c", as, false],
      ["(x+x+)+y", "x".repeat(10_000), false],
      ["(.*a){20}", as, true],
    ] as const) {
      const handle = mustCompile(p);
      const start = performance.now();
      expect(h.matches(handle, t)).toBe(expected);
      expect(performance.now() - start, p).toBeLessThan(500);
    }
  });

  it("bounds the worst case by the program size", () => {
    // Near the 2000-instruction limit, on an 8 KiB header value.
    const handle = mustCompile("(a?){600}a{600}");
    expect(h.programSize(handle)).toBeGreaterThan(1700);
    const start = performance.now();
    expect(h.matches(handle, "a".repeat(8192))).toBe(false);
    expect(performance.now() - start).toBeLessThan(3000);
  });
});
