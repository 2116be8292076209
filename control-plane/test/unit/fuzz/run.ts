// Running a fast-check property as a bounded fuzz run inside the unit suite: a fixed number of
// cases, each with a time bound, and one line on stdout saying how many cases were tried, how
// long they took, and the seed (FUZZ_SEED=<seed> replays a run; FUZZ_RUNS=<n> changes its size).
import fc from "fast-check";

export interface FuzzBounds {
  /** Cases per run (FUZZ_RUNS overrides it, for a longer run by hand). */
  numRuns: number;
  /** A case taking longer fails the run: the "never a hang" half of every property. */
  caseTimeoutMs: number;
}

export async function fuzz<Ts extends [unknown, ...unknown[]]>(
  name: string,
  bounds: FuzzBounds,
  property: fc.IAsyncPropertyWithHooks<Ts>,
): Promise<void> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() ^ (Math.random() * 0x7fffffff);
  const numRuns = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : bounds.numRuns;
  const started = performance.now();
  const details = await fc.check(property, { numRuns, seed, timeout: bounds.caseTimeoutMs, endOnFailure: false });
  const ms = Math.round(performance.now() - started);
  console.log(`fuzz ${name}: ${details.numRuns} cases in ${ms} ms (seed ${seed}${details.failed ? ", FAILED" : ""})`);
  if (details.failed) {
    // Not the counterexample: it may be megabytes of text; the properties put how a case was made in their errors.
    const error =
      details.errorInstance instanceof Error
        ? (details.errorInstance.stack ?? details.errorInstance.message)
        : String(details.errorInstance);
    throw new Error(`fuzz ${name} failed after ${details.numRuns} cases (FUZZ_SEED=${seed} replays it)\n${error.slice(0, 3000)}`);
  }
}

/** Every path to a value inside `root` (maps by key, lists by index), the root's own [] first; iterative. */
export function pathsIn(root: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    out.push(path);
    if (Array.isArray(value)) for (const [i, v] of value.entries()) stack.push({ value: v, path: [...path, i] });
    else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: [...path, k] });
  }
  return out;
}

/** A deep copy of `root` with the value at `path` replaced (`undefined`: removed). */
export function withValueAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

/** Where a mutation puts a value too deep or too large to build as a JS tree and stringify. */
export const PLACEHOLDER = "__FUZZ_PLACEHOLDER__";

/** The wrong-but-plausible values a mutation writes at a random place. */
export function valueArb(): fc.Arbitrary<unknown> {
  const strings = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.constantFrom(
      "",
      " ",
      "\u0000",
      "\u200b",
      "é",
      "𝄞",
      "a\nb",
      "${x}",
      "*",
      "[",
      "{",
      "'",
      '"',
      "-1",
      "1e999",
      "0x10",
      "10.0.0.1:80",
      "/",
      // Paths the loader must refuse without reading (a device would be read for ever).
      "/dev/zero",
      "/dev/stdin",
      "/etc/passwd",
    ),
  );
  return fc.oneof(
    strings,
    // Long enough that a message quoting it back would be noticed.
    fc.tuple(fc.integer({ min: 1000, max: 100_000 }), fc.constantFrom("x", "é", "\u0000", "a.")).map(([n, c]) => c.repeat(n)),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -1, 1, 65_535, 65_536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, Number.MAX_VALUE, true, false, null),
    fc.array(strings, { maxLength: 5 }),
    fc.dictionary(strings, strings, { maxKeys: 4 }),
    fc.jsonValue({ maxDepth: 4 }),
  );
}

/** Text for the placeholder: a huge string, a huge list, or nesting far past any limit. */
export function bulkyTextArb(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min: 10_000, max: 300_000 }).map((n) => JSON.stringify("x".repeat(n))),
    fc.integer({ min: 1_000, max: 50_000 }).map((n) => `[${Array.from({ length: n }, (_, i) => i).join(",")}]`),
    fc.integer({ min: 60, max: 20_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
    fc.integer({ min: 60, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`),
  );
}
