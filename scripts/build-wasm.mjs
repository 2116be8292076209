#!/usr/bin/env node
// Builds every Wasm module of the suite with the pinned AssemblyScript compiler:
//   filters/<name>/index.ts         -> dist/filters/<name>.wasm (+ <name>.debug.wasm)
//   test/fixtures/wasm/<name>/index.ts -> dist/test/<name>.wasm  (test-only modules)
// Usage: node scripts/build-wasm.mjs [name ...]   (no names: build everything)
import asc from "assemblyscript/asc";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function entries(dir, outDir, withDebug) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(abs, d.name, "index.ts")))
    .map((d) => ({ name: d.name, entry: join(dir, d.name, "index.ts"), outDir, withDebug }));
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
  const targets = m.withDebug ? ["release", "debug"] : ["release"];
  for (const target of targets) {
    const out = join(m.outDir, target === "release" ? `${m.name}.wasm` : `${m.name}.debug.wasm`);
    mkdirSync(join(root, m.outDir), { recursive: true });
    const { error, stderr } = await asc.main([m.entry, "--config", "asconfig.json", "--target", target, "--outFile", out], {
      stdout: process.stdout,
      stderr: process.stderr,
    });
    if (error) {
      failed++;
      console.error(`FAILED ${relative(root, join(root, m.entry))} (${target}): ${error.message}`);
      void stderr;
    } else {
      console.log(`built ${out}`);
    }
  }
}
process.exit(failed ? 1 : 0);
