// Consumers' credentials are write-only: the admin API shows a key by its id and a basic-auth user
// by its username, never the key, its digest or the password hash; an entry written back with
// only its id (or username) keeps the secret stored under that id, so GET → edit → PUT loses
// nothing; and a plain `key` sent to the API is stored as its SHA-256 (`key_sha256`), so the
// file the store writes never holds an API key. (Other secrets, in plugin configs, are
// secrets.ts's: they read as "[redacted]".)
import { isMap, isSeq, type Document } from "yaml";
import { keyDigest, apiKeyError } from "../config/schema-consumers.js";
import type { Kind } from "./types.js";

type Obj = Record<string, unknown>;

/** Per credential kind: the member naming an entry, and its secret members. */
const WRITE_ONLY = {
  keys: { by: "id", secrets: ["key", "key_sha256"] },
  basic: { by: "username", secrets: ["password_hash"] },
} as const;
type SecretKind = keyof typeof WRITE_ONLY;
const SECRET_KINDS = Object.keys(WRITE_ONLY) as SecretKind[];

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const entries = (item: unknown, kind: SecretKind): unknown[] => {
  const credentials = isObj(item) ? item.credentials : undefined;
  const list = isObj(credentials) ? credentials[kind] : undefined;
  return Array.isArray(list) ? list : [];
};

/** A copy of a consumer (as written) without its secrets; items of other kinds as they are. */
export function hideCredentials(kind: Kind, item: Obj): Obj {
  if (kind !== "consumers" || !isObj(item.credentials)) return item;
  const credentials: Obj = { ...item.credentials };
  for (const k of SECRET_KINDS) {
    if (!Array.isArray(credentials[k])) continue;
    credentials[k] = (credentials[k] as unknown[]).map((e) =>
      isObj(e)
        ? Object.fromEntries(Object.entries(e).filter(([member]) => !(WRITE_ONLY[k].secrets as readonly string[]).includes(member)))
        : e,
    );
  }
  return { ...item, credentials };
}

export type Kept = { ok: true; value: Obj; changed: boolean } | { ok: false; message: string };

/**
 * A consumer about to be written, with every entry that names no secret given the one stored
 * under its id (or username) in `stored`, and every valid plain key replaced by its digest.
 */
export function keepCredentials(kind: Kind, item: Obj, stored: unknown): Kept {
  if (kind !== "consumers" || !isObj(item.credentials)) return { ok: true, value: item, changed: false };
  const credentials: Obj = { ...item.credentials };
  let changed = false;
  for (const k of SECRET_KINDS) {
    const list = credentials[k];
    if (!Array.isArray(list)) continue;
    const { by, secrets } = WRITE_ONLY[k];
    const out: unknown[] = [];
    for (const [i, e] of list.entries()) {
      if (!isObj(e)) {
        out.push(e);
        continue;
      }
      let entry = e;
      if (secrets.every((s) => entry[s] === undefined) && typeof entry[by] === "string") {
        const before = entries(stored, k).find((s) => isObj(s) && s[by] === entry[by]) as Obj | undefined;
        const kept = before && Object.fromEntries(secrets.filter((s) => before[s] !== undefined).map((s) => [s, before[s]]));
        if (!kept || Object.keys(kept).length === 0) {
          const give = secrets.join(" or ");
          return { ok: false, message: `credentials.${k}[${i}] (${by} "${String(entry[by])}") has no stored secret to keep: give ${give}` };
        }
        entry = { ...entry, ...kept };
        changed = true;
      }
      // A plain key the loader will accept is stored as its digest; one it will refuse stays for
      // the loader to refuse (a digest of it would pass).
      if (k === "keys" && typeof entry.key === "string" && entry.key_sha256 === undefined && apiKeyError(entry.key) === null) {
        const { key, ...rest } = entry;
        entry = { ...rest, key_sha256: keyDigest(key) };
        changed = true;
      }
      out.push(entry);
    }
    credentials[k] = out;
  }
  return changed ? { ok: true, value: { ...item, credentials }, changed } : { ok: true, value: item, changed };
}

/** In a whole document (GET /config as YAML): every consumer's secrets removed, comments kept. */
export function hideDocumentCredentials(doc: Document): void {
  const consumers = doc.get("consumers");
  if (!isSeq(consumers)) return;
  for (const consumer of consumers.items) {
    if (!isMap(consumer)) continue;
    const credentials = consumer.get("credentials");
    if (!isMap(credentials)) continue;
    for (const k of SECRET_KINDS) {
      const list = credentials.get(k);
      if (!isSeq(list)) continue;
      for (const e of list.items) if (isMap(e)) for (const s of WRITE_ONLY[k].secrets) e.delete(s);
    }
  }
}

/**
 * In a whole document about to replace the stored one (PUT /config): each consumer's secrets
 * kept or hashed as keepCredentials does, against the stored consumer of the same name.
 */
export function keepDocumentCredentials(candidate: Document, stored: Obj): { ok: true; changed: boolean } | { ok: false; message: string } {
  const consumers = candidate.get("consumers");
  if (!isSeq(consumers)) return { ok: true, changed: false };
  const before = Array.isArray(stored.consumers) ? stored.consumers : [];
  let changed = false;
  for (const [index, node] of consumers.items.entries()) {
    if (!isMap(node)) continue;
    const item = node.toJSON() as Obj;
    const kept = keepCredentials(
      "consumers",
      item,
      before.find((c) => isObj(c) && c.name === item.name),
    );
    if (!kept.ok) return { ok: false, message: `consumers[${index}].${kept.message}` };
    if (kept.changed) {
      consumers.items[index] = candidate.createNode(kept.value);
      changed = true;
    }
  }
  return { ok: true, changed };
}
