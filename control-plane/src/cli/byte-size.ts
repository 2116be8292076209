// Sizes as users write them on the command line: bytes ("536870912"), binary units ("512Mi",
// "512MiB", "2GiB") or decimal ones ("1.5G", "800MB"), the way Kubernetes reads K/M/G.
const UNIT: Record<string, number> = {
  "": 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
};

/** Whole bytes, or null when `text` is not a size. */
export function parseByteSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?$/i.exec(text.trim());
  if (!m) return null;
  const bytes = Math.floor(Number(m[1]) * UNIT[(m[2] ?? "").toLowerCase()]!);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
