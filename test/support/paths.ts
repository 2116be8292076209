// Absolute locations of the repo and build outputs, independent of the cwd
// vitest (or a bench script) happens to run in.
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
