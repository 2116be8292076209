// Absolute locations of the repo and build outputs, independent of the cwd
// vitest (or a bench script) happens to run in.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const repoRoot: string = fileURLToPath(new URL("../..", import.meta.url));

/** dist/filters/<name>.wasm: a production filter built by scripts/build-wasm.mjs. */
export function filterWasm(name: string): string {
  return join(repoRoot, "dist", "filters", `${name}.wasm`);
}

/** dist/test/<name>.wasm: a test-only module from test/fixtures/wasm/<name>. */
export function fixtureWasm(name: string): string {
  return join(repoRoot, "dist", "test", `${name}.wasm`);
}

/**
 * The source directories of filters/<name> besides assembly/: its own, and those of the filters
 * its index.ts imports (filters/suite compiles every member in), so a member's change makes the
 * module that contains it stale too.
 */
export function filterSourceDirs(name: string): string[] {
  const own = join(repoRoot, "filters", name);
  const index = join(own, "index.ts");
  if (!existsSync(index)) return [own];
  const imported = [...readFileSync(index, "utf8").matchAll(/(?:from|import) "\.\.\/([\w-]+)\//g)].map((m) => m[1]!);
  return [own, ...[...new Set(imported)].map((d) => join(repoRoot, "filters", d))];
}
