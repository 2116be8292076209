// When an Envoy counts as "in sync" with a snapshot, as a pure rule (no ControlPlane, no timers),
// so the rule itself is unit-tested (control-plane/test/unit/xds/sync-rule.test.ts).
import type { NodeStatus } from "../../src/xds/server.js";
import { ENVOY_TYPES, PUSH_ORDER, shortTypeName, type TypeUrlValue } from "../../src/xds/types.js";

/** What the rule reads of a snapshot: per type, its version and how many resources it holds. */
export type SnapshotView = Partial<Record<TypeUrlValue, { version: string; resources: { size: number } }>>;

export interface SyncState {
  /** True once every required type is ACKed at the snapshot's version (and no other subscribed type lags). */
  synced: boolean;
  /** What is missing, for timeout messages ("" when synced). */
  lag: string;
  /** Types whose wanted version Envoy NACKed, with Envoy's message: waiting longer will not help. */
  nacked: { type: string; message: string }[];
}

/**
 * The types an Envoy must have ACKed: by default every type the snapshot holds at least one
 * resource for. A type Envoy has not subscribed to yet is *not* synced when it is required (it
 * counted as synced before, which let a wait return before Envoy asked for routes or secrets);
 * a type with no resources needs an ACK only once Envoy subscribed to it (no secrets in use,
 * no SDS subscription).
 */
export function requiredTypes(snap: SnapshotView): TypeUrlValue[] {
  // The rate limit service's config is for the service, which Envoy never subscribes to.
  return ENVOY_TYPES.filter((t) => (snap[t]?.resources.size ?? 0) > 0);
}

export function syncState(snap: SnapshotView | undefined, node: NodeStatus | undefined, required?: readonly TypeUrlValue[]): SyncState {
  if (!node) return { synced: false, lag: "never connected", nacked: [] };
  if (!snap || node.connectedStreams === 0) return { synced: false, lag: "not connected", nacked: [] };
  const must = new Set(required ?? requiredTypes(snap));
  const behind: string[] = [];
  const nacked: SyncState["nacked"] = [];
  for (const t of PUSH_ORDER) {
    const want = snap[t]?.version;
    const s = node.types[t];
    if (want === undefined) {
      if (must.has(t)) behind.push(`${shortTypeName(t)} not in the snapshot`);
      continue;
    }
    if (s === undefined) {
      if (must.has(t)) behind.push(`${shortTypeName(t)} not subscribed yet, want ${want}`);
      continue;
    }
    if (s.versionAcked === want) continue;
    behind.push(`${shortTypeName(t)} acked ${s.versionAcked} want ${want}`);
    if (s.lastNack?.version === want) nacked.push({ type: shortTypeName(t), message: s.lastNack.message });
  }
  return { synced: behind.length === 0, lag: behind.join(", "), nacked };
}
