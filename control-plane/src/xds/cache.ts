// Snapshots of encoded xDS resources, per node ("*" for every node without its own), with a
// version per type. A snapshot is accepted whole or not at all: every resource must encode and
// every cross-reference Envoy would chase (route -> cluster, EDS cluster -> endpoints, listener
// -> route config / secret / extension config) must resolve, or set() throws and the previous
// snapshot stays in force.
import { createHash } from "node:crypto";
import { decodeResource, encodeResource, resourceName } from "./proto.js";
import { PUSH_ORDER, TypeUrl, shortTypeName, type ResourceSet, type TypeUrlValue } from "./types.js";

/** The node key of the snapshot served to every node that has none of its own. */
export const ANY_NODE = "*";

export interface EncodedResource {
  name: string;
  /** The Any value bytes, as sent. */
  bytes: Uint8Array;
  /** The resource as Envoy will read it: proto3 JSON, field names as in the .proto files, Anys expanded. */
  json: Record<string, unknown>;
}

export interface TypeSnapshot {
  /** "<n>-<hash8>": n counts this type's content changes in this process, hash8 names the content. */
  version: string;
  resources: ReadonlyMap<string, EncodedResource>;
}

export interface Snapshot {
  types: Readonly<Record<TypeUrlValue, TypeSnapshot>>;
  /** ClusterLoadAssignment names the EDS clusters of this snapshot wait for. */
  edsClusters: readonly string[];
}

/** A snapshot that was refused; `problems` lists every reason, each naming its resource. */
export class SnapshotError extends Error {
  constructor(readonly problems: string[]) {
    super(`snapshot rejected:\n  ${problems.join("\n  ")}`);
    this.name = "SnapshotError";
  }
}

export type SnapshotListener = (node: string, changed: TypeUrlValue[]) => void;

interface NodeEntry {
  snapshot: Snapshot;
  hashes: Record<TypeUrlValue, string>;
}

export class SnapshotCache {
  private readonly entries = new Map<string, NodeEntry>();
  /** Per node key and type: how many times the content changed. Kept across delete() so versions never repeat. */
  private readonly counters = new Map<string, Partial<Record<TypeUrlValue, number>>>();
  private readonly listeners = new Set<SnapshotListener>();
  /**
   * Encoded resources of the last set(), by type and name, with the JSON text they came from and
   * the references they make: a resource whose JSON did not change is not encoded (and decoded)
   * again, nor searched for references. At 10,000 routes re-encoding everything took about 0.5 s
   * per edit, and walking the unchanged RouteConfiguration for references another ~30 ms; an
   * endpoint-only edit now does both for its ClusterLoadAssignments alone.
   */
  private memo: Memo = new Map();

  /**
   * Replaces the snapshot of `node` (a node id, or "*" for every node without its own).
   * Returns the types whose content changed (empty when nothing did). Throws SnapshotError,
   * keeping the previous snapshot, when a resource does not encode or a reference is missing.
   */
  set(node: string, resources: ResourceSet): TypeUrlValue[] {
    const nextMemo: Memo = new Map();
    const { encoded, needs } = encodeAll(resources, this.memo, nextMemo);
    const edsClusters = checkReferences(encoded, needs);
    const prev = this.entries.get(node);
    const counters = this.counters.get(node) ?? {};
    const changed: TypeUrlValue[] = [];
    const types = {} as Record<TypeUrlValue, TypeSnapshot>;
    const hashes = {} as Record<TypeUrlValue, string>;
    for (const type of PUSH_ORDER) {
      const hash = contentHash(encoded[type]);
      hashes[type] = hash;
      if (prev && prev.hashes[type] === hash) {
        types[type] = prev.snapshot.types[type];
        continue;
      }
      counters[type] = (counters[type] ?? 0) + 1;
      types[type] = { version: `${counters[type]}-${hash.slice(0, 8)}`, resources: encoded[type] };
      changed.push(type);
    }
    this.counters.set(node, counters);
    this.entries.set(node, { snapshot: { types, edsClusters }, hashes });
    this.memo = nextMemo;
    if (changed.length) this.notify(node, changed);
    return changed;
  }

  /** The snapshot served to `nodeId`: its own, else the "*" one, else none yet. */
  get(nodeId: string): Snapshot | undefined {
    return (this.entries.get(nodeId) ?? this.entries.get(ANY_NODE))?.snapshot;
  }

  /** Drops a node's own snapshot: it falls back to "*". */
  delete(node: string): void {
    if (this.entries.delete(node)) this.notify(node, [...PUSH_ORDER]);
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  onChange(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(node: string, changed: TypeUrlValue[]): void {
    for (const l of [...this.listeners]) l(node, changed);
  }
}

type EncodedSet = Record<TypeUrlValue, Map<string, EncodedResource>>;

interface MemoEntry {
  source: string;
  encoded: EncodedResource;
  /** What the resource needs from other types: read from its decoded JSON once, when it is encoded. */
  needs: Need[];
}

type Memo = Map<string, MemoEntry>;

/** Encodes every resource (or takes it from `memo`); `needs` are the references of all of them. */
function encodeAll(resources: ResourceSet, memo: Memo, nextMemo: Memo): { encoded: EncodedSet; needs: Need[] } {
  const problems: string[] = [];
  const out = {} as EncodedSet;
  const needs: Need[] = [];
  for (const type of PUSH_ORDER) {
    const byName = new Map<string, EncodedResource>();
    for (const [name, json] of resources[type] ?? []) {
      const own = resourceName(json);
      if (own !== name) {
        problems.push(`${shortTypeName(type)} "${name}": the resource names itself ${own === undefined ? "nothing" : `"${own}"`}`);
        continue;
      }
      const key = `${type}\0${name}`;
      const source = JSON.stringify(json);
      let entry = memo.get(key);
      if (!entry || entry.source !== source) {
        let encoded: EncodedResource;
        try {
          const bytes = encodeResource(type, json);
          encoded = { name, bytes, json: decodeResource(type, bytes) };
        } catch (err) {
          problems.push(err instanceof Error ? err.message : String(err));
          continue;
        }
        entry = { source, encoded, needs: needsOf(type, name, encoded.json) };
      }
      byName.set(name, entry.encoded);
      nextMemo.set(key, entry);
      for (const need of entry.needs) needs.push(need);
    }
    out[type] = byName;
  }
  if (problems.length) throw new SnapshotError(problems);
  return { encoded: out, needs };
}

function contentHash(resources: ReadonlyMap<string, EncodedResource>): string {
  const h = createHash("sha256");
  for (const name of [...resources.keys()].sort()) {
    const bytes = resources.get(name)!.bytes;
    h.update(`${name}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return h.digest("hex");
}

// ---------------------------------------------------------------------------------------------
// References. Resources are read in their decoded form, so one spelling of each field is enough.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every object nested in `v` (v included), depth first. */
function* objects(v: unknown): Generator<Obj> {
  if (Array.isArray(v)) {
    for (const x of v) yield* objects(x);
  } else if (isObj(v)) {
    yield v;
    for (const x of Object.values(v)) yield* objects(x);
  }
}

const fromAds = (source: unknown): boolean => isObj(source) && "ads" in source;

/** Clusters a route configuration sends traffic to. */
function routeClusters(routeConfig: Obj): string[] {
  const out: string[] = [];
  for (const vh of (routeConfig.virtual_hosts ?? []) as Obj[]) {
    for (const route of (vh.routes ?? []) as Obj[]) {
      const action = route.route;
      if (!isObj(action)) continue;
      if (typeof action.cluster === "string") out.push(action.cluster);
      const weighted = action.weighted_clusters;
      if (isObj(weighted)) for (const c of (weighted.clusters ?? []) as Obj[]) if (typeof c.name === "string") out.push(c.name);
    }
  }
  return out;
}

interface Need {
  type: TypeUrlValue;
  name: string;
  by: string;
}

/** What `json` (a resource of `type`) needs from the other types of the snapshot. */
function needsOf(type: TypeUrlValue, name: string, json: Obj): Need[] {
  const by = `${shortTypeName(type)} "${name}"`;
  const needs: Need[] = [];
  if (type === TypeUrl.Route) {
    for (const c of routeClusters(json)) needs.push({ type: TypeUrl.Cluster, name: c, by });
  }
  if (type === TypeUrl.Cluster && json.type === "EDS") {
    const eds = isObj(json.eds_cluster_config) ? json.eds_cluster_config : {};
    needs.push({ type: TypeUrl.Endpoints, name: typeof eds.service_name === "string" && eds.service_name ? eds.service_name : name, by });
  }
  for (const o of objects(json)) {
    // A route configuration inline in an HttpConnectionManager.
    if (type !== TypeUrl.Route && isObj(o.route_config)) {
      for (const c of routeClusters(o.route_config)) needs.push({ type: TypeUrl.Cluster, name: c, by });
    }
    if (isObj(o.rds) && typeof o.rds.route_config_name === "string" && fromAds(o.rds.config_source)) {
      needs.push({ type: TypeUrl.Route, name: o.rds.route_config_name, by });
    }
    // An HTTP (or listener) filter whose config comes over ECDS.
    if (isObj(o.config_discovery) && typeof o.name === "string" && fromAds(o.config_discovery.config_source)) {
      needs.push({ type: TypeUrl.ExtensionConfig, name: o.name, by });
    }
    // SdsSecretConfig: tls_certificate_sds_secret_configs, validation_context_sds_secret_config, ...
    for (const [key, value] of Object.entries(o)) {
      if (!/_sds_secret_configs?$/.test(key)) continue;
      for (const secret of Array.isArray(value) ? value : [value]) {
        if (isObj(secret) && typeof secret.name === "string" && fromAds(secret.sds_config)) {
          needs.push({ type: TypeUrl.Secret, name: secret.name, by });
        }
      }
    }
  }
  return needs;
}

/** Throws SnapshotError listing every missing reference; returns the EDS names clusters wait for. */
function checkReferences(encoded: EncodedSet, needs: readonly Need[]): string[] {
  const missing = new Set<string>();
  const eds = new Set<string>();
  for (const need of needs) {
    if (need.type === TypeUrl.Endpoints) eds.add(need.name); // only an EDS cluster needs endpoints
    if (!encoded[need.type].has(need.name)) {
      missing.add(`${need.by} refers to ${shortTypeName(need.type)} "${need.name}", which the snapshot does not have`);
    }
  }
  if (missing.size) throw new SnapshotError([...missing]);
  return [...eds].sort();
}
