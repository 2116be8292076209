// Canonical JSON (keys sorted at every level) and the ETags derived from it: two resources with
// the same content have the same ETag however their keys were ordered or formatted.
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A strong ETag (quoted) of a resource's content. */
export function resourceEtag(value: unknown): string {
  return `"${sha256Hex(canonicalJson(value)).slice(0, 20)}"`;
}

/** A strong ETag (quoted) of the whole file's bytes. */
export function configEtag(text: string): string {
  return `"${sha256Hex(text).slice(0, 20)}"`;
}

/** Does an If-Match header value allow a write against `current` (undefined: does not exist)? */
export function ifMatchHolds(header: string | undefined, current: string | undefined): boolean {
  if (header === undefined) return true;
  if (current === undefined) return false;
  if (header.trim() === "*") return true;
  return header
    .split(",")
    .map((t) => t.trim().replace(/^W\//, ""))
    .includes(current);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
