// Route path globs become an RE2 safe_regex; filters match the same globs with
// assembly/match/glob.ts. The translation must select exactly the paths the filters' matcher
// selects: checked here against a line-by-line port of that matcher, on many random pairs.
import { describe, expect, it } from "vitest";
import { globToRe2, re2Literal } from "../../../src/translate/routes.js";

/** Port of assembly/match/glob.ts globMatches (keep in step with it). */
function globMatches(pattern: string, text: string): boolean {
  const pn = pattern.length;
  const tn = text.length;
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  let starDouble = false;
  let dstarP = -1;
  let dstarT = 0;
  while (t < tn) {
    if (p < pn) {
      const pc = pattern[p];
      if (pc === "*") {
        const isDouble = p + 1 < pn && pattern[p + 1] === "*";
        starP = p;
        starT = t;
        starDouble = isDouble;
        if (isDouble) {
          dstarP = p;
          dstarT = t;
        }
        p += isDouble ? 2 : 1;
        continue;
      }
      const tc = text[t];
      if (pc === tc || (pc === "?" && tc !== "/")) {
        p++;
        t++;
        continue;
      }
    }
    if (starP >= 0 && (starDouble || text[starT] !== "/")) {
      starT++;
      t = starT;
      p = starP + (starDouble ? 2 : 1);
      continue;
    }
    if (dstarP >= 0) {
      dstarT++;
      starP = dstarP;
      starT = dstarT;
      starDouble = true;
      t = dstarT;
      p = dstarP + 2;
      continue;
    }
    return false;
  }
  while (p < pn && pattern[p] === "*") p++;
  return p === pn;
}

/** Envoy's safe_regex must match the whole path; JavaScript agrees with RE2 on these patterns. */
const fullMatch = (re2: string, text: string) => new RegExp(`^(?:${re2})$`).test(text);

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

describe("glob -> RE2", () => {
  it("translates token by token", () => {
    expect(globToRe2("/a/*/b?/**")).toBe("/a/[^/]*/b[^/]/.*");
    expect(globToRe2("/x.y+(z)[1]{2}^$|\\")).toBe("/x\\.y\\+\\(z\\)\\[1\\]\\{2\\}\\^\\$\\|\\\\");
    expect(globToRe2("/***")).toBe("/.*[^/]*");
    expect(re2Literal(".tar.gz")).toBe("\\.tar\\.gz");
  });

  it("agrees with the filters' glob matcher on random patterns and paths", () => {
    const next = random(7);
    const pick = (chars: string, max: number) =>
      Array.from({ length: Math.floor(next() * (max + 1)) }, () => chars[Math.floor(next() * chars.length)]).join("");
    let matched = 0;
    for (let i = 0; i < 30_000; i++) {
      const pattern = pick("ab/*?.", 7);
      const text = pick("ab/.", 7);
      const expected = globMatches(pattern, text);
      if (expected) matched++;
      expect(fullMatch(globToRe2(pattern), text), `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`).toBe(expected);
    }
    expect(matched).toBeGreaterThan(1000); // the sample is not all misses
  });

  it("suffix: literal, anchored at the end", () => {
    expect(fullMatch(`.*${re2Literal(".json")}`, "/a/b.json")).toBe(true);
    expect(fullMatch(`.*${re2Literal(".json")}`, "/a/bxjson")).toBe(false);
    expect(fullMatch(`.*${re2Literal(".json")}`, "/a/b.json/x")).toBe(false);
  });
});
