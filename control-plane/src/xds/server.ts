// The ADS gRPC server: accepts Envoys' StreamAggregatedResources streams (state of the world),
// runs one AdsStream per stream, and keeps per-node status (what was sent, ACKed, NACKed) for
// /status and the CLI. Delta xDS is answered UNIMPLEMENTED.
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { LogFn } from "../log.js";
import type { SnapshotCache } from "./cache.js";
import type { DiscoveryRequest, DiscoveryResponse } from "./proto.js";
import { adsServiceDefinition } from "./service.js";
import { AdsStream, StreamProtocolError } from "./stream.js";
import { PUSH_ORDER, type TypeUrlValue } from "./types.js";

export interface XdsServerOptions {
  cache: SnapshotCache;
  log: LogFn;
  /** How long a push waits for an ACK/NACK of one type before going on (default 5000). */
  ackTimeoutMs?: number;
  /** How long Listener/Route wait for EDS clusters to be warm before being sent anyway (default 5000). */
  warmTimeoutMs?: number;
}

export interface NackRecord {
  version: string;
  message: string;
  at: string; // ISO time
}

export interface TypeStatus {
  versionSent: string | null;
  versionAcked: string | null;
  lastNack: NackRecord | null;
}

export interface NodeStatus {
  nodeId: string;
  cluster: string;
  userAgent: string;
  connectedStreams: number;
  /** When the oldest open stream of this node connected; null once it has none. */
  connectedSince: string | null;
  /** By type URL, for the types the node subscribed to. */
  types: Partial<Record<TypeUrlValue, TypeStatus>>;
}

export interface StreamEvent {
  nodeId: string;
  stream: number;
}
export interface ConnectEvent extends StreamEvent {
  cluster: string;
  userAgent: string;
}
export interface DisconnectEvent extends StreamEvent {
  reason: string;
}
export interface AckEvent extends StreamEvent {
  typeUrl: TypeUrlValue;
  version: string;
}
export interface NackEvent extends StreamEvent {
  typeUrl: TypeUrlValue;
  version: string;
  message: string;
}

export type XdsServerEvents = {
  connect: [ConnectEvent];
  disconnect: [DisconnectEvent];
  ack: [AckEvent];
  nack: [NackEvent];
};

interface NodeRecord {
  id: string;
  cluster: string;
  userAgent: string;
  streams: Map<number, Date>;
  types: Map<TypeUrlValue, TypeStatus>;
}

type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class XdsServer extends EventEmitter<XdsServerEvents> {
  private server: grpc.Server | undefined;
  private readonly streams = new Map<number, { stream: AdsStream; call: AdsCall }>();
  private readonly nodes = new Map<string, NodeRecord>();
  private nextStreamId = 1;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: XdsServerOptions) {
    super();
  }

  /** Starts serving; resolves with the bound port (pass 0 for any free one). */
  async listen(host: string, port: number): Promise<number> {
    if (this.server) throw new Error("the xDS server is already listening");
    const server = new grpc.Server();
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: AdsCall) => this.accept(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "delta xDS is not served; use api_type GRPC (state of the world)" });
      },
    });
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.server = server;
    this.unsubscribe = this.o.cache.onChange(() => {
      for (const { stream } of this.streams.values()) stream.snapshotChanged();
    });
    return bound;
  }

  /** Ends every stream and stops listening. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const server = this.server;
    this.server = undefined;
    for (const [id, { call }] of this.streams) {
      this.closeStream(id, "server stopping");
      call.end();
    }
    if (server) {
      // Streams were ended above; give their trailers a moment to go out, then cut what is left.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      server.forceShutdown();
    }
  }

  /** Every node seen since start: connected streams and, per type, versions sent/ACKed and the last NACK. */
  status(): NodeStatus[] {
    return [...this.nodes.values()].map((n) => {
      const since = [...n.streams.values()].sort((a, b) => a.getTime() - b.getTime())[0];
      const types: Partial<Record<TypeUrlValue, TypeStatus>> = {};
      for (const t of PUSH_ORDER) {
        const s = n.types.get(t);
        if (s) types[t] = { ...s, lastNack: s.lastNack && { ...s.lastNack } };
      }
      return {
        nodeId: n.id,
        cluster: n.cluster,
        userAgent: n.userAgent,
        connectedStreams: n.streams.size,
        connectedSince: since ? since.toISOString() : null,
        types,
      };
    });
  }

  private accept(call: AdsCall): void {
    const id = this.nextStreamId++;
    const typeStatus = (nodeId: string, t: TypeUrlValue): TypeStatus => {
      const rec = this.nodes.get(nodeId)!;
      let s = rec.types.get(t);
      if (!s) {
        s = { versionSent: null, versionAcked: null, lastNack: null };
        rec.types.set(t, s);
      }
      return s;
    };
    const stream: AdsStream = new AdsStream(id, {
      cache: this.o.cache,
      log: this.o.log,
      ackTimeoutMs: this.o.ackTimeoutMs ?? 5_000,
      warmTimeoutMs: this.o.warmTimeoutMs ?? 5_000,
      send: (res) => call.write(res),
      onSent: (t, version) => {
        typeStatus(stream.node!.id, t).versionSent = version;
      },
      onAck: (t, version, initial) => {
        typeStatus(stream.node!.id, t).versionAcked = version;
        if (!initial) this.emit("ack", { nodeId: stream.node!.id, stream: id, typeUrl: t, version });
      },
      onNack: (t, version, message) => {
        typeStatus(stream.node!.id, t).lastNack = { version, message, at: new Date().toISOString() };
        this.emit("nack", { nodeId: stream.node!.id, stream: id, typeUrl: t, version, message });
      },
    });
    this.streams.set(id, { stream, call });

    call.on("data", (req: DiscoveryRequest) => {
      if (!this.streams.has(id)) return;
      const first = stream.node === undefined;
      try {
        if (first && req.node?.id) this.register(id, req);
        stream.handleRequest(req);
      } catch (err) {
        if (!(err instanceof StreamProtocolError)) throw err;
        this.o.log("warn", "xDS stream refused", { stream: id, error: err.message });
        this.closeStream(id, err.message);
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: err.message });
      }
    });
    call.on("end", () => {
      this.closeStream(id, "Envoy closed the stream");
      call.end();
    });
    call.on("cancelled", () => this.closeStream(id, "stream cancelled"));
    call.on("error", (err: Error) => this.closeStream(id, err.message));
  }

  private register(id: number, req: DiscoveryRequest): void {
    const node = req.node!;
    let rec = this.nodes.get(node.id);
    if (!rec) {
      rec = { id: node.id, cluster: node.cluster, userAgent: node.userAgent, streams: new Map(), types: new Map() };
      this.nodes.set(node.id, rec);
    }
    rec.cluster = node.cluster;
    rec.userAgent = node.userAgent;
    rec.streams.set(id, new Date());
    this.o.log("info", "Envoy connected", { node: node.id, cluster: node.cluster, userAgent: node.userAgent, stream: id });
    this.emit("connect", { nodeId: node.id, stream: id, cluster: node.cluster, userAgent: node.userAgent });
  }

  private closeStream(id: number, reason: string): void {
    const entry = this.streams.get(id);
    if (!entry) return;
    this.streams.delete(id);
    entry.stream.close();
    const nodeId = entry.stream.node?.id;
    if (nodeId === undefined) return;
    this.nodes.get(nodeId)?.streams.delete(id);
    this.o.log("info", "Envoy disconnected", { node: nodeId, stream: id, reason });
    this.emit("disconnect", { nodeId, stream: id, reason });
  }
}
