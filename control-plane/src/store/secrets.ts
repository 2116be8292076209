// What counts as a secret in a gateway file, and how it is hidden in everything the store hands
// out. Secrets live in plugin configs: JWK private and symmetric members (a `k`, `d`, ... next to
// a `kty`) and fields whose name says so (secret, password, token, api_key, private_key).
import { REDACTED } from "./types.js";

const JWK_SECRET_MEMBERS = new Set(["k", "d", "p", "q", "dp", "dq", "qi", "oth"]);
// Whole names or suffixes: `client_secret`, `api_key`, `password`; not `max_token_bytes`.
const SECRET_NAME = /(^|_)(secret|password|passwd|token|api_?key|private_?key|credentials?)$/i;

/**
 * Is the string at `key` of an object (whose other keys are `siblings`) a secret? Only strings
 * are: `forward_token: true` is a setting, not a token.
 */
export function isSecretKey(key: string, siblings: Record<string, unknown>, value: unknown): boolean {
  if (JWK_SECRET_MEMBERS.has(key) && "kty" in siblings) return value !== null && value !== "";
  return typeof value === "string" && value !== "" && SECRET_NAME.test(key);
}

/** A deep copy with every secret string (or structure) replaced by REDACTED. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, isSecretKey(k, obj, v) ? REDACTED : redact(v)]));
  }
  return value;
}

/**
 * Puts stored values back where a client sent REDACTED (it read the resource, changed something
 * else and wrote it back). A placeholder with nothing stored at the same place is an error.
 */
export function unredact(value: unknown, stored: unknown, path = ""): { ok: true; value: unknown } | { ok: false; path: string } {
  if (value === REDACTED)
    return stored === undefined || stored === REDACTED ? { ok: false, path: path || "(root)" } : { ok: true, value: stored };
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, v] of value.entries()) {
      const r = unredact(v, Array.isArray(stored) ? stored[i] : undefined, `${path}[${i}]`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    const s = stored !== null && typeof stored === "object" && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(value)) {
      const r = unredact(v, s[k], path ? `${path}.${k}` : k);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value };
}
