// Durability is about the order of operations, which a killed process cannot show (the page cache
// outlives it; crash.test.ts passes without any fsync). So the real file operations are recorded:
// the temp file's data is fsynced before the rename, the directory is fsynced after it, and only
// then does the write resolve.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileAtomic, type AtomicWriteFs } from "../../../src/store/atomic-write.js";

const dir = mkdtempSync(join(tmpdir(), "portico-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real node:fs operations, each logged as "op name" (the name relative to the directory). */
function recording(fail?: string): { fs: AtomicWriteFs; trace: string[] } {
  const trace: string[] = [];
  const name = (p: string) => (p === dir ? "<dir>" : basename(p).startsWith(".") ? "<tmp>" : basename(p));
  const step = (s: string) => {
    trace.push(s);
    if (s === fail) throw new Error(`injected: ${s}`);
  };
  const fs: AtomicWriteFs = {
    async open(p, flags, mode) {
      step(`open ${name(p)} ${flags}`);
      const fh = await fsp.open(p, flags, mode);
      return {
        writeFile: async (t) => {
          step(`write ${name(p)}`);
          await fh.writeFile(t);
        },
        sync: async () => {
          step(`fsync ${name(p)}`);
          await fh.sync();
        },
        close: async () => {
          trace.push(`close ${name(p)}`);
          await fh.close();
        },
      };
    },
    rename: async (a, b) => {
      step(`rename ${name(a)} -> ${name(b)}`);
      await fsp.rename(a, b);
    },
    unlink: async (p) => {
      trace.push(`unlink ${name(p)}`);
      await fsp.unlink(p);
    },
  };
  return { fs, trace };
}

describe("writeFileAtomic", () => {
  it("fsyncs the data before the rename and the directory after it, then resolves", async () => {
    const path = join(dir, "gateway.yaml");
    const { fs, trace } = recording();
    await writeFileAtomic(path, "upstreams: []\n", fs);
    expect(trace).toEqual([
      "open <tmp> w",
      "write <tmp>",
      "fsync <tmp>",
      "close <tmp>",
      "rename <tmp> -> gateway.yaml",
      "open <dir> r",
      "fsync <dir>",
      "close <dir>",
    ]);
    expect(readFileSync(path, "utf8")).toBe("upstreams: []\n");
    expect(readdirSync(dir)).toEqual(["gateway.yaml"]);
  });

  it("leaves the old file and no temp file when the data cannot be made durable", async () => {
    const path = join(dir, "kept.yaml");
    await writeFileAtomic(path, "old\n");
    const { fs, trace } = recording("fsync <tmp>");
    await expect(writeFileAtomic(path, "new\n", fs)).rejects.toThrow("injected");
    expect(trace).not.toContain("rename <tmp> -> kept.yaml");
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("does not resolve when the rename cannot be made durable", async () => {
    const { fs } = recording("fsync <dir>");
    await expect(writeFileAtomic(join(dir, "dir.yaml"), "x\n", fs)).rejects.toThrow("injected");
  });
});
