// Byte sizes as users write them: a number of bytes, or a string such as "512KiB" or "1MiB".
// Binary units only (KiB = 1024 bytes): "1MB" would leave the reader guessing 10^6 or 2^20.
const UNIT_BYTES = { B: 1, KiB: 1024, MiB: 1024 * 1024 } as const;
const SIZE = /^(\d+)\s*(B|KiB|MiB)?$/;

export type SizeResult = { ok: true; bytes: number } | { ok: false; message: string };

export function parseSize(value: string | number): SizeResult {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0
      ? { ok: true, bytes: value }
      : { ok: false, message: `a size must be a whole number of bytes (got ${value})` };
  }
  const m = SIZE.exec(value.trim());
  if (!m)
    return { ok: false, message: `invalid size "${value}": use a number of bytes or a number with a unit (B, KiB, MiB), e.g. "64KiB"` };
  return { ok: true, bytes: Number(m[1]) * UNIT_BYTES[(m[2] ?? "B") as keyof typeof UNIT_BYTES] };
}

export const SIZE_PATTERN = "^\\d+\\s*(B|KiB|MiB)?$";

/** "1MiB" for 1048576, "1536B" for what is no whole KiB: for messages. */
export function formatSize(bytes: number): string {
  if (bytes > 0 && bytes % UNIT_BYTES.MiB === 0) return `${bytes / UNIT_BYTES.MiB}MiB`;
  if (bytes > 0 && bytes % UNIT_BYTES.KiB === 0) return `${bytes / UNIT_BYTES.KiB}KiB`;
  return `${bytes}B`;
}
