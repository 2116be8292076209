// Translator golden files: each testdata/translate/<case>/config.yaml must translate to exactly
// its expected.json. Run with UPDATE_GOLDEN=1 to rewrite them after an intended change (and
// review the diff); a plain run never writes.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fakeFiltersDir, goldenCases, goldenText, loadCase, TESTDATA, translateCase } from "../../support/golden.js";

const update = process.env.UPDATE_GOLDEN === "1";
const filtersDir = fakeFiltersDir();
afterAll(() => rmSync(filtersDir, { recursive: true, force: true }));

describe("translate golden files", () => {
  it("has cases", () => expect(goldenCases().length).toBeGreaterThanOrEqual(4));

  for (const name of goldenCases()) {
    it(name, async () => {
      const caseDir = join(TESTDATA, name);
      const model = await loadCase(name, filtersDir);
      const text = goldenText(await translateCase(model), caseDir);
      const file = join(caseDir, "expected.json");
      if (update) writeFileSync(file, text);
      expect(existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(text).toBe(readFileSync(file, "utf8"));
    });

    it(`${name}: translating twice gives the same output (no hidden state, stable order)`, async () => {
      const caseDir = join(TESTDATA, name);
      const a = goldenText(await translateCase(await loadCase(name, filtersDir)), caseDir);
      const b = goldenText(await translateCase(await loadCase(name, filtersDir)), caseDir);
      expect(b).toBe(a);
    });
  }
});
