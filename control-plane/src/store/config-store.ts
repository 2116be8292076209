// The gateway file as the document of record for the admin API. Every write takes a turn of the
// ConfigSource (so it is serialised with the watcher's reloads), re-reads the file there (an
// operator may have edited it by hand), changes one list item by splicing that item's lines in
// the text (every other byte stays; see splice.ts) and hands the resulting text to the source, which
// loads it once, applies it and writes it atomically (the commit point). Reads are not serialised.
import { isMap, isScalar, isSeq, parseDocument, Scalar, visit, YAMLParseError, type Document, type YAMLSeq } from "yaml";
import type { ConfigError } from "../config/index.js";
import { parseDocumentBounded } from "../config/nesting.js";
import type { ReferenceGraph } from "../config/references.js";
import type { ConfigSource, Turn } from "../gateway/config-source.js";
import type { LogFn } from "../log.js";
import { configEtag, ifMatchHolds, mergePatch, resourceEtag } from "./canonical.js";
import { hideCredentials, hideDocumentCredentials, keepCredentials, keepDocumentCredentials } from "./credentials.js";
import { isSecretKey, redact, unredact } from "./secrets.js";
import { spliceListItem, type Splice } from "./splice.js";
import {
  REDACTED,
  singular,
  StoredConfigUnreadable,
  type Kind,
  type StoredResource,
  type StoreError,
  type WriteOptions,
  type WriteResult,
} from "./types.js";

export interface ConfigStoreOptions {
  /** Where the file is read, and the one way a change to it is loaded, applied and written. */
  source: ConfigSource;
  log: LogFn;
}

type Item = Record<string, unknown> & { name: string };

const fail = (code: StoreError["code"], message: string, errors?: ConfigError[]): WriteResult => ({
  ok: false,
  error: { code, message, ...(errors ? { errors } : {}) },
});

export class ConfigStore {
  constructor(private readonly o: ConfigStoreOptions) {}

  async list(kind: Kind): Promise<StoredResource[]> {
    const { doc } = await this.read();
    return items(toJs(doc), kind).map((v) => stored(kind, v));
  }

  async get(kind: Kind, name: string): Promise<StoredResource | undefined> {
    const { doc } = await this.read();
    const v = items(toJs(doc), kind).find((i) => i.name === name);
    return v && stored(kind, v);
  }

  put(kind: Kind, name: string, value: unknown, o: WriteOptions = {}): Promise<WriteResult> {
    return this.o.source.exclusive(async (turn) => {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return fail("bad_request", "the body must be a JSON object");
      const body = value as Record<string, unknown>;
      if (body.name !== undefined && body.name !== name)
        return fail("bad_request", `the body names "${String(body.name)}" but the URL names "${name}"`);
      return this.writeItem(turn, kind, name, () => ({ name, ...body }), o, "PUT");
    });
  }

  patch(kind: Kind, name: string, patch: unknown, o: WriteOptions = {}): Promise<WriteResult> {
    return this.o.source.exclusive(async (turn) => {
      if (patch === null || typeof patch !== "object" || Array.isArray(patch))
        return fail("bad_request", "a merge patch must be a JSON object");
      const p = patch as Record<string, unknown>;
      if (p.name !== undefined && p.name !== name)
        return fail("bad_request", "a resource cannot be renamed with PATCH (PUT the new name, DELETE the old)");
      return this.writeItem(
        turn,
        kind,
        name,
        (current) => (current ? { name, ...(mergePatch(current, p) as Record<string, unknown>) } : undefined),
        o,
        "PATCH",
      );
    });
  }

  delete(kind: Kind, name: string, o: WriteOptions = {}): Promise<WriteResult> {
    return this.o.source.exclusive(async (turn) => {
      const doc = parseStored(turn.text);
      const unusable = await this.unusable(doc, turn.text);
      if (unusable) return unusable;
      const js = toJs(doc);
      const list = items(js, kind);
      const current = list.find((i) => i.name === name);
      if (!current) return fail("not_found", `no ${singular(kind)} named "${name}"`);
      const etag = resourceEtag(current);
      if (!ifMatchHolds(o.ifMatch, etag))
        return fail("precondition_failed", `${singular(kind)} "${name}" changed since it was read (ETag ${etag})`);
      const index = nodeIndex(doc, kind, name)!;
      const next = spliced(turn.text, kind, { op: "remove", index }, (d) => void (d.get(kind) as YAMLSeq).items.splice(index, 1));
      // The text without the item is loaded once: what still refers to the name is in its
      // reference graph (with the clusters plugins' filters report), so no second load is needed.
      const r = await this.commit(turn, next, o, `admin API DELETE /${kind}/${name}`, (refs) => {
        const users = refs.referrers(kind, name).map((u) => `${u.collection}[${u.index}] (${u.name})`);
        return users.length > 0 ? fail("conflict", `${singular(kind)} "${name}" is still used by ${users.join(", ")}`) : undefined;
      });
      return r.ok ? { ...r, etag } : r;
    });
  }

  async getConfig(format: "yaml" | "json"): Promise<{ text: string; etag: string }> {
    const { doc, text } = await this.read();
    const etag = configEtag(text);
    if (format === "json") return { text: `${JSON.stringify(redact(withoutCredentials(toJs(doc))), null, 2)}\n`, etag };
    const copy = redactDocument(doc);
    hideDocumentCredentials(copy);
    return { text: copy.toString(), etag };
  }

  replaceConfig(newText: string, o: WriteOptions = {}): Promise<WriteResult> {
    return this.o.source.exclusive(async (turn) => {
      const { text } = turn;
      const doc = parseStored(text);
      if (!ifMatchHolds(o.ifMatch, configEtag(text)))
        return fail("precondition_failed", `the config changed since it was read (ETag ${configEtag(text)})`);
      const candidate = parseStored(newText);
      if (candidate.errors.length > 0 || !isYamlDocumentOfLists(candidate)) {
        // Let the loader produce located errors for text that does not even parse.
        return fail("invalid", "the config does not validate", await this.loaderErrors(newText));
      }
      // Secrets are kept from the stored file only if it reads: a hand edit that does not leaves none to keep.
      const restored = restoreSecrets(candidate, doc.errors.length > 0 ? parseDocument("") : doc);
      if (!restored.ok) return fail("bad_request", `"${REDACTED}" at ${restored.path} has no stored value to keep`);
      const kept = keepDocumentCredentials(candidate, doc.errors.length > 0 ? {} : toJs(doc));
      if (!kept.ok) return fail("bad_request", kept.message);
      const finalText = restored.changed || kept.changed ? candidate.toString() : newText;
      return this.commit(turn, finalText, o, "admin API PUT /config");
    });
  }

  async validate(text: string): Promise<{ valid: boolean; errors: ConfigError[] }> {
    const loaded = await this.o.source.check(text);
    return loaded.ok ? { valid: true, errors: [] } : { valid: false, errors: loaded.errors };
  }

  // ---- internals -------------------------------------------------------------------------

  /**
   * Outside any turn: GETs do not wait for writes (the atomic rename makes every read whole).
   * StoredConfigUnreadable when the file does not parse (a hand edit): no partial answers.
   */
  private async read(): Promise<{ text: string; doc: Document }> {
    const text = await this.o.source.read();
    const doc = parseStored(text);
    if (doc.errors.length > 0) throw new StoredConfigUnreadable(await this.loaderErrors(text));
    return { text, doc };
  }

  private async writeItem(
    turn: Turn,
    kind: Kind,
    name: string,
    build: (current: Item | undefined) => Record<string, unknown> | undefined,
    o: WriteOptions,
    verb: string,
  ): Promise<WriteResult> {
    const { text } = turn;
    const doc = parseStored(text);
    const unusable = await this.unusable(doc, text);
    if (unusable) return unusable;
    const list = items(toJs(doc), kind);
    const current = list.find((i) => i.name === name);
    const currentEtag = current && resourceEtag(current);
    if (o.ifNoneMatch?.trim() === "*" && current) return fail("precondition_failed", `${singular(kind)} "${name}" already exists`);
    if (!ifMatchHolds(o.ifMatch, currentEtag)) {
      return fail(
        "precondition_failed",
        current
          ? `${singular(kind)} "${name}" changed since it was read (ETag ${currentEtag})`
          : `${singular(kind)} "${name}" does not exist`,
      );
    }
    const built = build(current);
    if (!built) return fail("not_found", `no ${singular(kind)} named "${name}"`);
    const restored = unredact(built, current);
    if (!restored.ok) return fail("bad_request", `"${REDACTED}" at ${restored.path} has no stored value to keep`);
    const kept = keepCredentials(kind, restored.value as Item, current);
    if (!kept.ok) return fail("bad_request", kept.message);
    const value = kept.value as Item;
    // The ETag is a hash of the canonical JSON: equal ETags, same content.
    const etag = resourceEtag(value);
    if (etag === currentEtag) return { ok: true, etag, created: false, unchanged: true, resource: stored(kind, value, etag) };
    const index = current ? nodeIndex(doc, kind, name) : undefined;
    const next = spliced(text, kind, index === undefined ? { op: "append", value } : { op: "replace", index, value }, (d) => {
      const seq = d.get(kind);
      if (isSeq(seq)) {
        if (index !== undefined) seq.items[index] = d.createNode(value);
        else seq.items.push(d.createNode(value));
      } else {
        d.set(kind, d.createNode([value]));
      }
    });
    const r = await this.commit(turn, next, o, `admin API ${verb} /${kind}/${name}`);
    return r.ok ? { ...r, etag, created: !current, resource: stored(kind, value, etag) } : r;
  }

  /** Hands `next` to the source: loaded once, then diffed (dry run) or applied and written. */
  private async commit(
    turn: Turn,
    next: string,
    o: WriteOptions,
    origin: string,
    refused?: (refs: ReferenceGraph) => WriteResult | undefined,
  ): Promise<WriteResult> {
    const etag = configEtag(next);
    if (turn.text === next) return { ok: true, etag, created: false, unchanged: true, ...(o.dryRun ? { diff: {} } : {}) };
    const r = await turn.propose(next, origin, { dryRun: o.dryRun });
    if (!r.ok && r.stage === "load") {
      return (r.references && refused?.(r.references)) || fail("invalid", "the change does not validate; nothing was applied", r.errors);
    }
    if (!r.ok) {
      // Valid for the loader but refused further on (translation, certificates, snapshot
      // checks): the source did not write it, so the file and Envoys still agree.
      this.o.log("error", "admin change refused after validation; the file was not written", { origin, error: r.error });
      return fail("invalid", r.error, []);
    }
    return { ok: true, etag, created: false, unchanged: false, ...(r.diff ? { diff: r.diff } : {}) };
  }

  /** A write's refusal when the stored file cannot be edited item by item (a hand edit broke it). */
  private async unusable(doc: Document, text: string): Promise<WriteResult | undefined> {
    if (doc.errors.length > 0)
      return fail("invalid", "the stored config does not parse; replace it with PUT /config", await this.loaderErrors(text));
    if (!isYamlDocumentOfLists(doc))
      return fail("invalid", "the stored config is not a map of lists; replace it with PUT /config", await this.loaderErrors(text));
    return undefined;
  }

  private async loaderErrors(text: string): Promise<ConfigError[]> {
    const loaded = await this.o.source.check(text);
    return loaded.ok ? [] : loaded.errors;
  }
}

/**
 * The gateway file (or a whole config sent to replace it) parsed, but never past the nesting
 * bound: the file may have been edited by hand, and the YAML composer recurses once per level. A
 * text nesting too deep reads as an empty document carrying the error.
 */
function parseStored(text: string): Document {
  const parsed = parseDocumentBounded(text, {});
  if (!parsed.ok) return withError(parseDocument(""), parsed.problem.offset, parsed.problem.message);
  const { doc } = parsed;
  if (doc.errors.length > 0) return doc;
  // What toJS refuses (an alias expanded too often: "billion laughs") is unreadable too.
  try {
    doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return withError(doc, 0, e instanceof Error ? e.message : String(e));
  }
  return doc;
}

function withError(doc: Document, at: number, message: string): Document {
  doc.errors.push(new YAMLParseError([at, at + 1], "IMPOSSIBLE", message));
  return doc;
}

/**
 * The file's text after one change to a list: only the item's own lines change where that can be
 * done by splicing the text; otherwise (say, a list in flow style) the changed document stringified.
 */
function spliced(text: string, kind: Kind, splice: Splice, change: (doc: Document) => void): string {
  const doc = parseDocument(text);
  change(doc);
  return spliceListItem(text, parseDocument(text), kind, splice, doc.toJS()) ?? doc.toString();
}

/** The position in the list node of the item named `name` (items without a name are counted too). */
function nodeIndex(doc: Document, kind: Kind, name: string): number | undefined {
  const seq = doc.get(kind);
  if (!isSeq(seq)) return undefined;
  const i = seq.items.findIndex((n) => isMap(n) && n.get("name") === name);
  return i === -1 ? undefined : i;
}

function toJs(doc: Document): Record<string, unknown> {
  return (doc.toJS() ?? {}) as Record<string, unknown>;
}

function items(js: Record<string, unknown>, kind: Kind): Item[] {
  const list = js[kind];
  return Array.isArray(list)
    ? (list.filter((i) => i !== null && typeof i === "object" && typeof (i as Item).name === "string") as Item[])
    : [];
}

function stored(kind: Kind, value: Item, etag = resourceEtag(value)): StoredResource {
  return { kind, name: value.name, value: redact(hideCredentials(kind, value)) as Record<string, unknown>, etag };
}

/** The whole file as JS with every consumer's secrets removed. */
function withoutCredentials(js: Record<string, unknown>): Record<string, unknown> {
  const consumers = js.consumers;
  if (!Array.isArray(consumers)) return js;
  return { ...js, consumers: consumers.map((c) => (c !== null && typeof c === "object" ? hideCredentials("consumers", c as Item) : c)) };
}

function isYamlDocumentOfLists(doc: Document): boolean {
  return doc.contents === null || isMap(doc.contents);
}

/** A copy of the document with every secret scalar replaced by REDACTED (comments kept). */
function redactDocument(doc: Document): Document {
  const copy = doc.clone();
  visit(copy, {
    // Per map, not per pair: a secret is judged by its siblings, read once for all of them.
    Map(_key, map) {
      const siblings = map.toJSON() as Record<string, unknown>;
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (isSecretKey(key, siblings, siblings[key])) pair.value = new Scalar(REDACTED);
      }
    },
  });
  return copy;
}

/** Puts stored secrets back where `candidate` holds REDACTED at the same place as in `current`. */
function restoreSecrets(candidate: Document, current: Document): { ok: true; changed: boolean } | { ok: false; path: string } {
  let missing: string | undefined;
  let changed = false;
  const currentJs = toJs(current);
  visit(candidate, {
    Scalar(_key, node, path) {
      if (node.value !== REDACTED) return;
      const keys = keyPath(path, node);
      const value = getAt(currentJs, keys);
      if (value === undefined || value === REDACTED) {
        missing ??= keys.join(".");
        return visit.BREAK;
      }
      changed = true;
      return candidate.createNode(value);
    },
  });
  return missing ? { ok: false, path: missing } : { ok: true, changed };
}

/** The key path (map keys and, for lists, the item's `name` or index) of a node. */
function keyPath(path: readonly unknown[], node: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  const chain = [...path, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isSeq(parent)) out.push(parent.items.indexOf(child as never));
    else if (isMap(parent)) {
      const pair = parent.items.find((p) => p === child);
      if (pair && isScalar(pair.key)) out.push(String(pair.key.value));
    }
  }
  return out;
}

function getAt(root: unknown, keys: (string | number)[]): unknown {
  let v: unknown = root;
  for (const k of keys) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}
