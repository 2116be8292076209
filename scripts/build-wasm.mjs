#!/usr/bin/env node
// Builds every Wasm module of the suite with the pinned AssemblyScript compiler:
//   filters/<name>/index.ts         -> dist/filters/<name>.wasm (+ <name>.debug.wasm)
//   test/fixtures/wasm/<name>/index.ts -> dist/test/<name>.wasm  (test-only modules)
//   and, for the filters and the bench's no-op fixture, dist/cost/<name>.wasm: the release
//   build plus allocation counters (scripts/count-allocations.mjs), which the cost counts of
//   bench/cost.ts run in the emulator; never shipped.
// Usage: node scripts/build-wasm.mjs [name ...]   (no names: build everything)
import asc from "assemblyscript/asc";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Test fixtures that get a counted build too: the bench's wasm-noop scenario runs `noop`. */
const COUNTED_FIXTURES = ["noop"];
const COUNTED_DIR = "dist/cost";

function entries(dir, outDir, withDebug) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(abs, d.name, "index.ts")))
    .map((d) => ({
      name: d.name,
      entry: join(dir, d.name, "index.ts"),
      outDir,
      withDebug,
      counted: withDebug || COUNTED_FIXTURES.includes(d.name),
    }));
}

/**
 * Which collector a module gets. asconfig.json's minimal runtime collects only where our entry
 * points say (assembly/runtime/collector.ts), so it is for modules that export them (the filters
 * and the fixtures built on our runtime layer). Every other module (written on the plain SDK, or a
 * test harness exporting its own functions) would never collect under it, so it gets the
 * incremental runtime, as a plain AssemblyScript or SDK user would.
 */
const OUR_ENTRY_POINTS = /from "[./]*\/assembly\/runtime\/(entry\/|exports")/;
const runtimeFlags = (entry) => (OUR_ENTRY_POINTS.test(readFileSync(join(root, entry), "utf8")) ? [] : ["--runtime", "incremental"]);

// The SDK patch (patches/, applied by npm's postinstall) must be in place: unpatched, the SDK's
// malloc imports the incremental collector into every module, which the minimal one clashes with.
const sdkMalloc = join(root, "node_modules/@gcoredev/proxy-wasm-sdk-as/assembly/malloc.ts");
if (readFileSync(sdkMalloc, "utf8").includes('"rt/itcms"')) {
  console.error(`${sdkMalloc} is unpatched: run \`npm ci\` (or \`npx patch-package\`) to apply patches/`);
  process.exit(2);
}

const all = [...entries("filters", "dist/filters", true), ...entries("test/fixtures/wasm", "dist/test", false)];
const wanted = process.argv.slice(2);
const selected = wanted.length ? all.filter((e) => wanted.includes(e.name)) : all;
if (wanted.length && selected.length !== wanted.length) {
  const known = all.map((e) => e.name).join(", ");
  console.error(`unknown module in [${wanted.join(", ")}]; known: ${known}`);
  process.exit(2);
}

let failed = 0;
for (const m of selected) {
  const builds = [{ target: "release", out: join(m.outDir, `${m.name}.wasm`), extra: [] }];
  if (m.withDebug) builds.push({ target: "debug", out: join(m.outDir, `${m.name}.debug.wasm`), extra: [] });
  if (m.counted) {
    // Same target and options as the shipped module; only the transform is added.
    builds.push({
      target: "release",
      out: join(COUNTED_DIR, `${m.name}.wasm`),
      extra: ["--transform", join(root, "scripts", "count-allocations.mjs")],
    });
  }
  for (const { target, out, extra } of builds) {
    mkdirSync(join(root, dirname(out)), { recursive: true });
    const { error, stderr } = await asc.main(
      [m.entry, "--config", "asconfig.json", "--target", target, "--outFile", out, ...runtimeFlags(m.entry), ...extra],
      {
        stdout: process.stdout,
        stderr: process.stderr,
      },
    );
    if (error) {
      failed++;
      console.error(`FAILED ${relative(root, join(root, m.entry))} (${out}): ${error.message}`);
      void stderr;
    } else {
      console.log(`built ${out}`);
    }
  }
}
process.exit(failed ? 1 : 0);
