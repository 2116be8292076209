// globalSetup of the e2e project: refuse to run against a missing toolchain or
// missing/stale Wasm builds, with the command that fixes it. Testing a stale
// .wasm would "pass" against yesterday's code.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { envoyPath, funcEPath } from "./tools.js";
import { filterSourceDirs, repoRoot } from "./paths.js";

/** Newest mtime of the source files under `dir` (tests excluded: they are not compiled in). */
function newestSource(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "__tests__" && e.name !== "node_modules") newest = Math.max(newest, newestSource(p));
    } else if (/\.ts$/.test(e.name) && !/\.(test|spec)\.ts$/.test(e.name)) {
      newest = Math.max(newest, statSync(p).mtimeMs);
    }
  }
  return newest;
}

/** Every module directory under srcDir must have an up-to-date <outDir>/<name>.wasm. */
function checkModules(srcDir: string, outDir: string, shared: string[]): string[] {
  const abs = join(repoRoot, srcDir);
  // A filter's own sources and the filters it compiles in (filters/suite); a fixture's own.
  const sourceDirs = (name: string) => (srcDir === "filters" ? filterSourceDirs(name) : [join(abs, name)]);
  if (!existsSync(abs)) return [];
  const problems: string[] = [];
  const sharedNewest = Math.max(0, ...shared.map((d) => newestSource(join(repoRoot, d))));
  for (const d of readdirSync(abs, { withFileTypes: true })) {
    if (!d.isDirectory() || !existsSync(join(abs, d.name, "index.ts"))) continue;
    const wasm = join(repoRoot, outDir, `${d.name}.wasm`);
    if (!existsSync(wasm)) {
      problems.push(`${relative(repoRoot, wasm)} is missing`);
    } else if (statSync(wasm).mtimeMs < Math.max(sharedNewest, ...sourceDirs(d.name).map(newestSource))) {
      problems.push(`${relative(repoRoot, wasm)} is older than its sources`);
    }
  }
  return problems;
}

export default function setup(): void {
  const envoy = envoyPath(); // throws with "run make test / scripts/install-tools.sh"
  funcEPath();
  const version = execFileSync(envoy, ["--version"], { encoding: "utf8" });
  if (!/\/1\.40\.\d+\//.test(version)) {
    throw new Error(`e2e tests need Envoy 1.40; ${envoy} is: ${version.trim()}. Run scripts/install-tools.sh`);
  }
  const problems = [
    ...checkModules("filters", "dist/filters", ["assembly"]),
    ...checkModules("test/fixtures/wasm", "dist/test", ["assembly"]),
  ];
  if (problems.length) {
    throw new Error(`Wasm modules are not built:\n  ${problems.join("\n  ")}\nRun \`npm run build:wasm\` (or \`make build\`).`);
  }
}
