// The config store's contract: the gateway file is the document of record; the admin API reads
// and edits it through a ConfigStore, and every write is validated exactly as a saved file is
// (the same loader, plugin checks included), persisted atomically, then applied.
import { COLLECTION_NAMES, type CollectionName } from "../config/collections.js";
import type { ConfigError } from "../config/index.js";

/** The admin API's collections are the gateway file's lists (declared in config/collections.ts). */
export type Kind = CollectionName;
export const KINDS: readonly Kind[] = COLLECTION_NAMES;
export { singular } from "../config/collections.js";

export interface StoredResource {
  kind: Kind;
  name: string;
  /** The resource as written in the file (snake_case), secrets replaced by REDACTED. */
  value: Record<string, unknown>;
  /** Strong ETag of the resource's content (quoted, as sent in the ETag header). */
  etag: string;
}

/** Placeholder for a secret value in anything the store hands out; written back, it keeps the stored value. */
export const REDACTED = "[redacted]";

/** Per Envoy resource type: names added, removed and changed by a write (dry runs). */
export type ResourceDiff = Record<string, { added: string[]; removed: string[]; changed: string[] }>;

export type StoreErrorCode =
  | "invalid" // 400: the resulting config does not validate (errors[] located in the file)
  | "bad_request" // 400: the body itself is unusable (not an object, name mismatch, ...)
  | "not_found" // 404
  | "conflict" // 409: DELETE of something still referenced (message says by what)
  | "precondition_failed"; // 412: If-Match / If-None-Match did not hold

export interface StoreError {
  code: StoreErrorCode;
  message: string;
  /** With "invalid": every error, as the loader located them (path + line in the new file). */
  errors?: ConfigError[];
}

export interface WriteOptions {
  /** If-Match: the write happens only if the current ETag (of the resource, or of the whole config) is one of these; "*" = exists. */
  ifMatch?: string;
  /** If-None-Match: "*" = only if it does not exist yet (create-only). */
  ifNoneMatch?: string;
  /** Validate and compute the Envoy resource diff, change nothing. */
  dryRun?: boolean;
}

export type WriteResult =
  | {
      ok: true;
      /** ETag after the write (of the resource; of the config for whole-config writes). */
      etag: string;
      created: boolean;
      /** The content did not change (no write, no push). */
      unchanged: boolean;
      /** put and patch: the resource as stored after the write (secrets redacted). */
      resource?: StoredResource;
      /** With dryRun: what the write would change in Envoy. */
      diff?: ResourceDiff;
    }
  | { ok: false; error: StoreError };

/**
 * Thrown by reads when the stored file does not parse (a hand edit with a syntax error, or nesting
 * too deep): the API answers 409 with the loader's located errors until the file is fixed or
 * replaced (PUT /config), rather than a partial reading of it.
 */
export class StoredConfigUnreadable extends Error {
  constructor(readonly errors: ConfigError[]) {
    super("the stored config does not parse; fix the file or replace it with PUT /config");
  }
}
