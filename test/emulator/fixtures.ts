// Locates test fixture modules (test/fixtures/wasm/<name>/index.ts -> dist/test/<name>.wasm),
// rebuilding one with scripts/build-wasm.mjs when its .wasm is missing or older than its source,
// so a unit test never runs against yesterday's build.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function newest(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) =>
    e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs));
}

export function fixtureWasm(name: string): string {
  const wasm = join(repoRoot, "dist/test", `${name}.wasm`);
  const src = join(repoRoot, "test/fixtures/wasm", name);
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < newest(src)) {
    execFileSync(process.execPath, [join(repoRoot, "scripts/build-wasm.mjs"), name], { cwd: repoRoot, stdio: "pipe" });
  }
  return wasm;
}
