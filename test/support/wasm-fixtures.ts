// Locates test fixture modules (test/fixtures/wasm/<name>/index.ts -> dist/test/<name>.wasm),
// rebuilding one with scripts/build-wasm.mjs when its .wasm is missing or older than its source,
// so a unit test never runs against yesterday's build.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { filterSourceDirs, filterWasm, fixtureWasm as fixturePath, repoRoot } from "./paths.js";

function newest(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

function fresh(wasm: string, sources: string[], name: string): string {
  const newestSource = Math.max(...sources.filter(existsSync).map(newest));
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < newestSource) {
    execFileSync(process.execPath, [join(repoRoot, "scripts/build-wasm.mjs"), name], { cwd: repoRoot, stdio: "pipe" });
  }
  return wasm;
}

export function fixtureWasm(name: string): string {
  // Fixtures may compile in filter modules too (e.g. the JWS harness reuses jwt-auth's code).
  const sources = [join(repoRoot, "test/fixtures/wasm", name), join(repoRoot, "assembly"), join(repoRoot, "filters")];
  return fresh(fixturePath(name), sources, name);
}

/** A suite filter (filters/<name> -> dist/filters/<name>.wasm), rebuilt when it or assembly/ changed. */
export function builtFilter(name: string): string {
  return fresh(filterWasm(name), [...filterSourceDirs(name), join(repoRoot, "assembly")], name);
}

/**
 * dist/cost/<name>.wasm, the allocation-counting build of a filter or fixture (bench/cost.ts,
 * scripts/count-allocations.mjs), rebuilt with the module when its sources changed.
 */
export function countedBuild(name: string): string {
  const own = existsSync(join(repoRoot, "filters", name)) ? filterSourceDirs(name) : [join(repoRoot, "test/fixtures/wasm", name)];
  return fresh(join(repoRoot, "dist", "cost", `${name}.wasm`), [...own, join(repoRoot, "assembly")], name);
}

/** The proxy_on_* callbacks a module exports, sorted: what Envoy will call into it for. */
export function exportedCallbacks(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .map((e) => e.name)
    .filter((n) => n.startsWith("proxy_on_"))
    .sort();
}
