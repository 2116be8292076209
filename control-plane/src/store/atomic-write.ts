// Writing the document of record so that a crash at any instant leaves either the old file or
// the new one, never a mix: write a temp file in the same directory, fsync it, rename it over
// the target (atomic on POSIX), then fsync the directory so the rename itself is durable.
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The file operations a write is made of: node:fs/promises by default, a recorder in tests. */
export interface AtomicWriteFs {
  open(
    path: string,
    flags: "w" | "r",
    mode?: number,
  ): Promise<{ writeFile(text: string): Promise<void>; sync(): Promise<void>; close(): Promise<void> }>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

const nodeFs: AtomicWriteFs = { open, rename, unlink };

let counter = 0;

export async function writeFileAtomic(path: string, text: string, fs: AtomicWriteFs = nodeFs): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${++counter}`);
  const fh = await fs.open(tmp, "w", 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  const d = await fs.open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
