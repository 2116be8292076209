// The reference graph of a gateway file: every place an item names an item of another collection,
// with the path where the name is written. The edges come from two sources: the reference paths
// each collection declares (collections.ts), read from the items as written, and the clusters a
// plugin's filter reports it will call (plugin-check.ts), since only the filter knows which of
// its config fields name clusters. Validation reports the references that name nothing; the admin
// API's DELETE refuses while anything still refers to the item.
import { COLLECTIONS, COLLECTION_NAMES, EACH, singular, type CollectionName } from "./collections.js";
import type { Problem } from "./errors.js";
import { type Indexed, fieldOf, listOf, writtenNames } from "./shape.js";

export interface Referrer {
  collection: CollectionName;
  /** Position in its collection as written. */
  index: number;
  /** Its name as written; undefined when it has none (a shape error of its own). */
  name: string | undefined;
}

export interface Reference {
  from: Referrer;
  to: CollectionName;
  name: string;
  /** Where the name is written, from the document root, e.g. ["routes", 2, "upstreams", 0, "name"]. */
  path: PropertyKey[];
}

/** A reference path as declared in collections.ts: keys, and EACH for every index of a list. */
type DeclaredPath = readonly (string | typeof EACH)[];

export class ReferenceGraph {
  constructor(
    /** The names each collection defines, as written (an item with other mistakes still defines its name). */
    readonly names: Readonly<Record<CollectionName, Indexed<string>[]>>,
    readonly references: readonly Reference[],
  ) {}

  /** Every reference to a name its collection does not define, at the place it is written. */
  unknownReferences(): Problem[] {
    return this.references
      .filter((r) => !this.defines(r.to, r.name))
      .map((r) => {
        const known = [...new Set(this.names[r.to].map((n) => n.value))];
        const list = known.length > 0 ? `known: ${known.join(", ")}` : `no ${r.to} are defined`;
        return { path: r.path, message: `no ${singular(r.to)} named "${r.name}" (${list})` };
      });
  }

  /** The items referring to `name` of `collection`, each once, in document order. */
  referrers(collection: CollectionName, name: string): Referrer[] {
    const seen = new Set<string>();
    return this.references
      .filter((r) => r.to === collection && r.name === name)
      .map((r) => r.from)
      .filter((from) => {
        const key = `${from.collection}[${from.index}]`;
        return !seen.has(key) && seen.add(key);
      });
  }

  private defines(collection: CollectionName, name: string): boolean {
    return this.names[collection].some((n) => n.value === name);
  }
}

/**
 * The graph of the items as written (`written`: each collection's list, valid items or not),
 * plus `reported`: references only a filter can tell (the clusters it calls).
 */
export function referenceGraph(written: Readonly<Record<CollectionName, unknown[]>>, reported: readonly Reference[] = []): ReferenceGraph {
  const names = {} as Record<CollectionName, Indexed<string>[]>;
  const references: Reference[] = [];
  for (const collection of COLLECTION_NAMES) {
    names[collection] = writtenNames(written[collection]);
    const declared: readonly { to: CollectionName; at: DeclaredPath; filters?: readonly string[] }[] = COLLECTIONS[collection].references;
    written[collection].forEach((item, index) => {
      const name = fieldOf(item, "name");
      const from: Referrer = { collection, index, name: typeof name === "string" ? name : undefined };
      const filter = fieldOf(item, "filter");
      for (const { to, at, filters } of declared) {
        if (filters && !(typeof filter === "string" && filters.includes(filter))) continue;
        for (const found of valuesAt(withParsedConfig(item), at, [collection, index])) references.push({ from, to, ...found });
      }
    });
  }
  // Reported references are kept in document order with the declared ones.
  references.push(...reported);
  references.sort(
    (a, b) => COLLECTION_NAMES.indexOf(a.from.collection) - COLLECTION_NAMES.indexOf(b.from.collection) || a.from.index - b.from.index,
  );
  return new ReferenceGraph(names, references);
}

/** A plugin whose config is written as a JSON text, read as the map it holds (references inside it count too). */
function withParsedConfig(item: unknown): unknown {
  const config = fieldOf(item, "config");
  if (typeof config !== "string") return item;
  try {
    return { ...(item as Record<string, unknown>), config: JSON.parse(config) as unknown };
  } catch {
    return item; // not JSON: the plugin schema reports it
  }
}

/** The string values at `at` inside `value` (a non-string is a shape error, reported elsewhere). */
function valuesAt(value: unknown, at: DeclaredPath, path: PropertyKey[]): { name: string; path: PropertyKey[] }[] {
  if (at.length === 0) return typeof value === "string" ? [{ name: value, path }] : [];
  const [head, ...rest] = at;
  if (head === EACH) return listOf(value).flatMap((item, i) => valuesAt(item, rest, [...path, i]));
  return valuesAt(fieldOf(value, head!), rest, [...path, head!]);
}
