// One ADS stream (state of the world) from one Envoy: what it subscribed to, what it was sent,
// what it acknowledged, and the loop that brings it up to date with the cache.
//
// All sending goes through one loop per stream, so two pushes never interleave. Each turn of the
// loop sends the first type in PUSH_ORDER that is out of date, then waits (bounded) for Envoy's
// ACK or NACK of it; the next turn looks at the newest snapshot again, so a snapshot arriving
// mid-push continues from the start of the order with the newest content. While it waits, names
// Envoy newly subscribes to are answered (see answerNewNames: Envoy's own warm-up needs them).
// Listener and Route additionally wait (bounded) until every EDS cluster of the snapshot has its
// endpoints ACKed, so that no request meets a cluster that is still warming.
import type { LogFn } from "../log.js";
import type { SnapshotCache, Snapshot, TypeSnapshot } from "./cache.js";
import type { DiscoveryRequest, DiscoveryResponse, NodeInfo } from "./proto.js";
import { PUSH_ORDER, TypeUrl, WILDCARD_TYPES, isTypeUrl, shortTypeName, type TypeUrlValue } from "./types.js";

export interface StreamHooks {
  cache: SnapshotCache;
  log: LogFn;
  /** Wait for an ACK/NACK of one type before moving on without it. */
  ackTimeoutMs: number;
  /** Wait for EDS clusters to be warm before sending Listener/Route, then send anyway. */
  warmTimeoutMs: number;
  send(response: DiscoveryResponse): void;
  onSent(typeUrl: TypeUrlValue, version: string): void;
  /** Envoy reports `version` as the one it runs (an ACK, or the first request of a stream). */
  onAck(typeUrl: TypeUrlValue, version: string, initial: boolean): void;
  onNack(typeUrl: TypeUrlValue, version: string, message: string): void;
}

interface TypeState {
  /** CDS/LDS: Envoy wants every resource. */
  wildcard: boolean;
  names: Set<string>;
  /** What the last response carried: its version, nonce and resources (name -> bytes). */
  sentVersion: string | undefined;
  sentNonce: string | undefined;
  sent: Map<string, Uint8Array>;
  /** A response is out and neither ACKed nor NACKed (nor timed out) yet. */
  awaiting: boolean;
  ackedVersion: string | undefined;
  /** version_info of the first request of this stream: what Envoy already has from before. */
  resumeVersion: string | undefined;
}

/** The version of a CDS response that still carries clusters the snapshot `version` removed. */
export const retiringVersion = (version: string): string => `${version}+retiring`;

/** Thrown for a request the stream cannot accept (the server ends the stream with it). */
export class StreamProtocolError extends Error {}

export class AdsStream {
  private readonly types = new Map<TypeUrlValue, TypeState>();
  private nodeInfo: NodeInfo | undefined;
  private nonces = 0;
  private running = false;
  private dirty = false;
  private closed = false;
  private wakers: (() => void)[] = [];
  /** The snapshot the Listener/Route warm-up wait is for, and when that wait gives up. */
  private warmWait: { snapshot: Snapshot; deadline: number; gaveUp: boolean } | undefined;

  constructor(
    readonly id: number,
    private readonly h: StreamHooks,
  ) {}

  get node(): NodeInfo | undefined {
    return this.nodeInfo;
  }

  /** Takes one DiscoveryRequest; responses follow asynchronously. */
  handleRequest(req: DiscoveryRequest): void {
    if (!this.nodeInfo) {
      if (!req.node?.id) throw new StreamProtocolError("the first request of a stream must carry a node with an id");
      this.nodeInfo = req.node;
    }
    if (!isTypeUrl(req.typeUrl)) {
      this.h.log("debug", "xDS request for a type Portico does not serve", { node: this.nodeInfo.id, type: req.typeUrl });
      return;
    }
    const type = req.typeUrl;
    let st = this.types.get(type);
    if (!st) {
      st = {
        wildcard: false,
        names: new Set(),
        sentVersion: undefined,
        sentNonce: undefined,
        sent: new Map(),
        awaiting: false,
        ackedVersion: undefined,
        resumeVersion: undefined,
      };
      this.types.set(type, st);
    }

    if (req.responseNonce !== "" && req.responseNonce === st.sentNonce) {
      if (st.awaiting) {
        st.awaiting = false;
        if (req.errorDetail) {
          const version = st.sentVersion ?? "";
          this.h.log("warn", "Envoy rejected a config (NACK); it keeps serving the previous one", {
            node: this.nodeInfo.id,
            type: shortTypeName(type),
            version,
            error: req.errorDetail.message,
          });
          this.h.onNack(type, version, req.errorDetail.message);
        } else {
          st.ackedVersion = req.versionInfo;
          this.h.onAck(type, req.versionInfo, false);
        }
      }
    } else if (req.responseNonce === "") {
      // The first request for this type on this stream (or Envoy starting the type over).
      st.awaiting = false;
      st.sentVersion = undefined;
      st.sent = new Map();
      st.sentNonce = undefined;
      if (req.versionInfo !== "") {
        st.resumeVersion = req.versionInfo;
        st.ackedVersion = req.versionInfo;
        this.h.onAck(type, req.versionInfo, true);
      }
    }
    // Any request, stale or not, says what Envoy wants now.
    const names = req.resourceNames;
    st.wildcard = WILDCARD_TYPES.has(type) && (names.length === 0 || names.includes("*"));
    st.names = new Set(names.filter((n) => n !== "*"));
    // A name Envoy dropped and asks for again must be sent again: it discarded its copy.
    if (!st.wildcard) st.sent = new Map([...st.sent].filter(([n]) => st.names.has(n)));
    this.wake();
  }

  /** The cache changed: bring this stream up to date. */
  snapshotChanged(): void {
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    this.dirty = true;
    for (const w of this.wakers.splice(0)) w();
    if (!this.running && !this.closed && this.nodeInfo) void this.run();
  }

  /** Resolves at the next request, snapshot change or close, or after `ms`. */
  private nextEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.push(done);
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        await this.pushAll();
      }
    } catch (err) {
      this.h.log("error", "xDS push failed", {
        node: this.nodeInfo?.id,
        stream: this.id,
        error: err instanceof Error ? err.stack : String(err),
      });
    } finally {
      this.running = false;
    }
  }

  /** Sends, type by type in PUSH_ORDER, whatever is out of date, until nothing is. */
  private async pushAll(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const snapshot = this.h.cache.get(this.nodeInfo!.id);
      if (!snapshot) return; // nothing to serve yet; a snapshot change wakes us
      const type = PUSH_ORDER.find((t) => this.needsSend(t, snapshot));
      if (!type) return;
      if ((type === TypeUrl.Listener || type === TypeUrl.Route) && !this.warm(snapshot)) {
        const wait = this.warmWaitFor(snapshot);
        if (Date.now() < wait.deadline) {
          await this.nextEvent(wait.deadline - Date.now());
          continue; // look again: an earlier type may need sending first (EDS, typically)
        }
        if (!wait.gaveUp) {
          wait.gaveUp = true;
          this.h.log("warn", "EDS clusters still not warm; sending listeners and routes anyway", {
            node: this.nodeInfo!.id,
            clusters: this.unwarmed(snapshot),
          });
        }
      }
      const retiring = type === TypeUrl.Cluster ? this.retiringClusters(snapshot) : new Map<string, Uint8Array>();
      if (retiring.size) {
        const ts = snapshot.types[type];
        const kept = new Map([...this.resourcesToSend(this.types.get(type)!, ts), ...retiring]);
        this.h.log("debug", "keeping removed clusters until routes are updated", {
          node: this.nodeInfo!.id,
          clusters: [...retiring.keys()],
        });
        this.send(type, retiringVersion(ts.version), new Map([...kept].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
      } else {
        this.sendSnapshot(type, snapshot.types[type]);
      }
      await this.awaitReply(type);
    }
  }

  private needsSend(type: TypeUrlValue, snapshot: Snapshot): boolean {
    const st = this.types.get(type);
    if (!st || st.awaiting) return false;
    if (!st.wildcard && st.names.size === 0) return false;
    const ts = snapshot.types[type];
    if (st.resumeVersion !== undefined) {
      // A new stream from an Envoy that already runs this exact content: nothing to resend.
      if (st.resumeVersion === ts.version && st.sentVersion === undefined) {
        st.sentVersion = ts.version;
        st.sent = this.resourcesToSend(st, ts);
        this.h.log("debug", "Envoy already has this version", { node: this.nodeInfo!.id, type: shortTypeName(type), version: ts.version });
      }
      st.resumeVersion = undefined;
    }
    if (type === TypeUrl.Cluster && st.sentVersion === retiringVersion(ts.version)) {
      // Removed clusters are kept until the listeners and routes that used them are replaced.
      return !this.needsSend(TypeUrl.Listener, snapshot) && !this.needsSend(TypeUrl.Route, snapshot);
    }
    if (st.sentVersion !== ts.version) return true;
    if (!st.wildcard) for (const n of st.names) if (!st.sent.has(n) && ts.resources.has(n)) return true;
    return false;
  }

  /** The resources of `ts` this stream gets: all for a wildcard subscription, else those named. */
  private resourcesToSend(st: TypeState, ts: TypeSnapshot): Map<string, Uint8Array> {
    const names = st.wildcard ? [...ts.resources.keys()] : [...st.names].filter((n) => ts.resources.has(n));
    return new Map(names.sort().map((n) => [n, ts.resources.get(n)!.bytes]));
  }

  /**
   * Clusters this Envoy has that the snapshot removes, while listeners or routes are still to be
   * replaced: those may still send traffic to them, so the CDS update keeps them for now
   * (make before break) and a final one drops them once the routes went out.
   */
  private retiringClusters(snapshot: Snapshot): Map<string, Uint8Array> {
    const st = this.types.get(TypeUrl.Cluster)!;
    const ts = snapshot.types[TypeUrl.Cluster];
    const removed = [...st.sent].filter(([n]) => !ts.resources.has(n));
    if (removed.length === 0) return new Map();
    return this.needsSend(TypeUrl.Listener, snapshot) || this.needsSend(TypeUrl.Route, snapshot) ? new Map(removed) : new Map();
  }

  private sendSnapshot(type: TypeUrlValue, ts: TypeSnapshot): void {
    this.send(type, ts.version, this.resourcesToSend(this.types.get(type)!, ts));
  }

  private send(type: TypeUrlValue, version: string, resources: Map<string, Uint8Array>): void {
    const st = this.types.get(type)!;
    const nonce = `${this.id}-${++this.nonces}`;
    st.sentVersion = version;
    st.sentNonce = nonce;
    st.sent = resources;
    st.awaiting = true;
    this.h.log("debug", "xDS response", { node: this.nodeInfo!.id, type: shortTypeName(type), version, resources: resources.size, nonce });
    this.h.send({
      versionInfo: version,
      typeUrl: type,
      nonce,
      resources: [...resources.values()].map((value) => ({ typeUrl: type, value })),
    });
    this.h.onSent(type, version);
  }

  private async awaitReply(type: TypeUrlValue): Promise<void> {
    const st = this.types.get(type)!;
    const deadline = Date.now() + this.h.ackTimeoutMs;
    while (st.awaiting && !this.closed) {
      this.answerNewNames(type);
      const left = deadline - Date.now();
      if (left <= 0) {
        st.awaiting = false;
        this.h.log("warn", "no ACK or NACK from Envoy in time; going on", {
          node: this.nodeInfo!.id,
          type: shortTypeName(type),
          version: st.sentVersion,
          waitedMs: this.h.ackTimeoutMs,
        });
        return;
      }
      await this.nextEvent(left);
    }
  }

  /**
   * While a response waits for its ACK, names Envoy newly asks for are answered at once: they are
   * what it is warming. Envoy holds the ACK of a CDS update until the added clusters are warm,
   * which takes their endpoints (and secrets); a new listener likewise waits for its routes.
   */
  private answerNewNames(awaited: TypeUrlValue): void {
    const snapshot = this.h.cache.get(this.nodeInfo!.id);
    if (!snapshot) return;
    for (const type of PUSH_ORDER) {
      const st = this.types.get(type);
      if (type === awaited || !st || st.awaiting || st.wildcard) continue;
      const ts = snapshot.types[type];
      if ([...st.names].some((n) => !st.sent.has(n) && ts.resources.has(n))) this.sendSnapshot(type, ts);
    }
  }

  private warmWaitFor(snapshot: Snapshot): { deadline: number; gaveUp: boolean } {
    if (this.warmWait?.snapshot !== snapshot) {
      this.warmWait = { snapshot, deadline: Date.now() + this.h.warmTimeoutMs, gaveUp: false };
    }
    return this.warmWait;
  }

  /** EDS names of the snapshot whose endpoints this Envoy has not subscribed to and ACKed. */
  private unwarmed(snapshot: Snapshot): string[] {
    // An Envoy that does not take clusters from us has no clusters to warm.
    if (!this.types.has(TypeUrl.Cluster)) return [];
    const eds = this.types.get(TypeUrl.Endpoints);
    const settled = eds !== undefined && !eds.awaiting && eds.sentVersion !== undefined && eds.ackedVersion === eds.sentVersion;
    return snapshot.edsClusters.filter((n) => !settled || !eds.names.has(n) || !eds.sent.has(n));
  }

  private warm(snapshot: Snapshot): boolean {
    return this.unwarmed(snapshot).length === 0;
  }
}
