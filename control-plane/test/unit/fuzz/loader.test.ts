// Fuzzing the gateway file loader (control-plane/src/config/load.ts and everything it calls):
// valid configs (gateway.yaml and the translator's golden cases) mutated at random — wrong types
// at random places, keys dropped or renamed, huge strings and lists, nesting far past the limit,
// unicode and control characters, duplicate keys and broken syntax in the text — and random text.
// Every case must end in a model the translator turns into Envoy resources, or in errors that each
// carry a path, a line, a column and a short message: never a throw, never a case slower than the
// bound below.
//
// Bounds (docs/fuzzing.md): 300 cases with a stub plugin checker and 100 with the real one (the
// filters' configure step in the Wasm check worker) mutating plugin configs only; each case at
// most 5 s (10 s with the real checker); about 15–20 s in all on a 2-core machine.
// FUZZ_RUNS / FUZZ_SEED change the size / replay a run.
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { MAX_ERRORS, MAX_MESSAGE, parsePath } from "../../../src/config/errors.js";
import { type LoadOptions, loadGatewayConfig } from "../../../src/config/index.js";
import { readCertificates } from "../../../src/gateway/certificates.js";
import { createPluginChecker } from "../../../src/plugins/check-config.js";
import { translate } from "../../../src/translate/index.js";
import { encodeResource } from "../../../src/xds/proto.js";
import { repoRoot } from "../../../../test/support/paths.js";
import { fakeFiltersDir, TESTDATA } from "../../support/golden.js";
import { bulkyTextArb, fuzz, PLACEHOLDER, pathsIn, valueArb, withValueAt } from "./run.js";

interface Seed {
  name: string;
  text: string;
  value: unknown;
  baseDir: string;
}

const SEEDS: Seed[] = [
  { name: "gateway.yaml", dir: repoRoot, file: join(repoRoot, "gateway.yaml") },
  ...readdirSync(TESTDATA, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, dir: join(TESTDATA, d.name), file: join(TESTDATA, d.name, "config.yaml") })),
].map(({ name, dir, file }) => {
  const text = readFileSync(file, "utf8");
  return { name, text, value: parse(text, { merge: true }) as unknown, baseDir: dir };
});

// ---- the cases ------------------------------------------------------------------------------

type Op =
  | { kind: "set"; at: number; value: unknown }
  | { kind: "drop"; at: number }
  | { kind: "bulky"; at: number; text: string }
  | { kind: "rename"; at: number; key: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: valueArb() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("bulky" as const), at: fc.nat(), text: bulkyTextArb() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("rename" as const), at: fc.nat(), key: fc.string({ unit: "binary", maxLength: 12 }) }),
  },
);

/** A seed's value mutated by `ops`, written as YAML or JSON; bulky text goes in as text. */
function structural(seed: Seed, ops: Op[], json: boolean, only?: (path: (string | number)[]) => boolean): string {
  let value = seed.value;
  let bulky: string | undefined;
  for (const op of ops) {
    const paths = pathsIn(value).filter((p) => !only || only(p));
    if (paths.length === 0) break;
    const path = paths[op.at % paths.length]!;
    if (op.kind === "set") value = withValueAt(value, path, op.value);
    else if (op.kind === "drop") value = withValueAt(value, path, undefined);
    else if (op.kind === "bulky" && bulky === undefined) {
      value = withValueAt(value, path, PLACEHOLDER);
      bulky = op.text;
    } else if (op.kind === "rename" && path.length > 0 && typeof path.at(-1) === "string") {
      const parentPath = path.slice(0, -1);
      const parent = parentPath.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
      if (parent !== null && typeof parent === "object" && !Array.isArray(parent)) {
        const entries = Object.entries(parent).map(([k, v]) => [k === path.at(-1) ? op.key : k, v] as const);
        value = withValueAt(value, parentPath, Object.fromEntries(entries));
      }
    }
  }
  const text = json ? JSON.stringify(value ?? null) : stringify(value ?? null);
  if (bulky === undefined) return text;
  // The placeholder is a plain scalar in YAML, a quoted string in JSON: either way a value.
  return json ? text.replace(`"${PLACEHOLDER}"`, bulky) : text.replace(PLACEHOLDER, bulky);
}

/** Edits of the seed's own text: a line repeated (duplicate keys), characters inserted or cut, an early end. */
const textEditArb = fc.oneof(
  fc.record({ kind: fc.constant("repeat-line" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.string({ unit: "binary", maxLength: 8 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

function edited(
  text: string,
  edit: fc.Arbitrary<unknown> extends never ? never : { kind: string; at: number; text?: string; length?: number },
): string {
  const at = edit.at % (text.length + 1);
  switch (edit.kind) {
    case "repeat-line": {
      const lines = text.split("\n");
      const i = edit.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      return lines.join("\n");
    }
    case "insert":
      return text.slice(0, at) + edit.text + text.slice(at);
    case "cut":
      return text.slice(0, at) + text.slice(at + (edit.length ?? 1));
    default:
      return text.slice(0, at);
  }
}

const randomTextArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 5 }),
  fc
    .array(
      fc.constantFrom(
        "listeners:",
        "routes:",
        "- ",
        "name: x",
        "  ",
        "\n",
        "[",
        "]",
        "{",
        "}",
        ":",
        "&a ",
        "*a",
        "<<: ",
        "? ",
        "---\n",
        "!!str ",
        '"',
        "#",
      ),
      {
        maxLength: 60,
      },
    )
    .map((parts) => parts.join("")),
);

/** A whole case: the text to load, and how it was made (shown when a case fails). */
function caseArb(only?: (path: (string | number)[]) => boolean): fc.Arbitrary<{ how: string; text: string }> {
  const seedArb = fc.constantFrom(...SEEDS);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(seedArb, fc.array(opArb, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([seed, ops, json]) => ({
        how: `${seed.name}: ${JSON.stringify(ops).slice(0, 300)}`,
        text: structural(seed, ops, json, only),
      })),
    },
    {
      weight: only ? 0 : 2,
      arbitrary: fc.tuple(seedArb, fc.array(textEditArb, { minLength: 1, maxLength: 3 })).map(([seed, edits]) => ({
        how: `${seed.name} edited: ${JSON.stringify(edits)}`,
        text: edits.reduce((t, e) => edited(t, e), seed.text),
      })),
    },
    { weight: only ? 0 : 1, arbitrary: randomTextArb.map((text) => ({ how: "random text", text })) },
  );
}

// ---- the property ---------------------------------------------------------------------------

/** Loads `text`; a model must translate, errors must be located and short. Returns "ok" or "errors". */
async function judge(text: string, opts: LoadOptions): Promise<"ok" | "errors"> {
  const loaded = await loadGatewayConfig(text, opts);
  if (loaded.ok) {
    // What the gateway does next with a valid model: translate it and encode every resource as
    // the protobuf Envoy receives (either throwing would be a failed apply, or a 500).
    // Global rate limits without an address of their own are counted by the service `portico run`
    // supervises: translate as it does.
    const resources = translate({
      model: loaded.model,
      certificates: await readCertificates(loaded.model),
      modules: loaded.modules,
      supervisedRateLimitService: { host: "127.0.0.1", port: 8081 },
    });
    for (const [typeUrl, byName] of Object.entries(resources)) for (const json of byName.values()) encodeResource(typeUrl, json);
    return "ok";
  }
  expect(loaded.errors.length).toBeGreaterThan(0);
  expect(loaded.errors.length).toBeLessThanOrEqual(MAX_ERRORS + 1);
  for (const e of loaded.errors) {
    expect(typeof e.path).toBe("string");
    expect(parsePath(e.path), `path ${JSON.stringify(e.path)} reads back`).toBeDefined();
    expect(e.line, e.message).toBeGreaterThanOrEqual(1);
    expect(e.column, e.message).toBeGreaterThanOrEqual(1);
    expect(e.message.length, e.message.slice(0, 200)).toBeGreaterThan(0);
    // A message quoting a huge value back would be a size not bounded.
    expect(e.message.length, e.message.slice(0, 200)).toBeLessThanOrEqual(MAX_MESSAGE + 1);
  }
  return "errors";
}

/** The slowest case of a run, printed with its outcome counts (the bound per case is 5 s). */
let slowest = { ms: 0, how: "" };

/** Runs a case, timed; a failure gets how the case was made in front (its text may be megabytes). */
async function explained<T>(how: string, run: Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await run;
  } catch (e) {
    throw new Error(`case: ${how}\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    const ms = Math.round(performance.now() - started);
    if (ms > slowest.ms) slowest = { ms, how: how.slice(0, 200) };
  }
}

const fakeFilters = fakeFiltersDir();
afterAll(() => rmSync(fakeFilters, { recursive: true, force: true }));

describe("fuzz: the gateway file loader", () => {
  it("ends every mutated or random config in a translatable model or located errors (stub plugin checker)", async () => {
    const outcomes = { ok: 0, errors: 0 };
    const stub = async () => ({ errors: [], clusters: [] });
    await fuzz(
      "loader (stub checker)",
      { numRuns: 300, caseTimeoutMs: 5000 },
      fc.asyncProperty(caseArb(), async ({ how, text }) => {
        const seed = SEEDS[0]!;
        outcomes[
          await explained(how, judge(text, { source: "gateway.yaml", baseDir: seed.baseDir, filtersDir: fakeFilters, checkPlugin: stub }))
        ]++;
      }),
    );
    console.log(
      `  loader (stub checker): ${outcomes.ok} valid models, ${outcomes.errors} refused with located errors; slowest case ${slowest.ms} ms (${slowest.how})`,
    );
    // The mix is not degenerate: some mutations keep a config valid, most break it.
    expect(outcomes.errors).toBeGreaterThan(0);
  }, 120_000);

  it("does the same for mutated plugin configs judged by the real filters in the Wasm check worker", async () => {
    const checker = createPluginChecker();
    slowest = { ms: 0, how: "" };
    const outcomes = { ok: 0, errors: 0 };
    const withPlugins = SEEDS.filter((s) => (s.value as { plugins?: unknown[] }).plugins?.length);
    try {
      await fuzz(
        "loader (real plugin checker)",
        { numRuns: 100, caseTimeoutMs: 10_000 },
        fc.asyncProperty(
          fc.constantFrom(...withPlugins),
          fc.array(opArb, { minLength: 1, maxLength: 3 }),
          fc.boolean(),
          async (seed, ops, json) => {
            // Only inside plugins[i].config: what the filters' own parsers read.
            const text = structural(seed, ops, json, (p) => p[0] === "plugins" && p[2] === "config");
            const filtersDir = join(repoRoot, "dist", "filters");
            const how = `${seed.name}: ${JSON.stringify(ops).slice(0, 300)}`;
            outcomes[
              await explained(how, judge(text, { source: "gateway.yaml", baseDir: seed.baseDir, filtersDir, checkPlugin: checker }))
            ]++;
          },
        ),
      );
    } finally {
      await checker.close();
    }
    console.log(
      `  loader (real plugin checker): ${outcomes.ok} valid models, ${outcomes.errors} refused with located errors; slowest case ${slowest.ms} ms`,
    );
  }, 120_000);
});
