// What one run of bench/control-plane/measure.ts (one route count) hands back to the driver.
import type { EditKind } from "./gateway-file.js";

export interface Memory {
  rss: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JS, ArrayBuffers and Buffers included (the encoded resources). */
  external: number;
}

export interface EditSample {
  /** Saved file -> new snapshot in the cache (file watch, debounce, load, translate, encode). */
  pushMs: number;
  /** Saved file -> the last ACK of the new versions from every Envoy. */
  ackMs: number;
  /** Short names of the xDS types whose version changed. */
  changed: string[];
}

export interface JoinSample {
  /** Envoy process started (func-e) -> its ADS stream is open. */
  connectMs: number;
  /** Envoy process started -> every type of the snapshot ACKed. */
  syncedMs: number;
}

export interface SizeResult {
  routes: number;
  upstreams: number;
  yamlBytes: number;
  reps: number;
  /** ms per repetition (a warm-up run is left out). */
  loadMs: number[];
  translateMs: number[];
  encodeMs: number[];
  /** Model comparison that decides whether an edit is endpoint-only (Gateway.apply). */
  compareMs: number[];
  /** ControlPlane.start(): first load, translate, encode (protos and filters compiled cold). */
  coldStartMs: number;
  snapshot: { totalBytes: number; byType: Record<string, { resources: number; bytes: number }> };
  memory: {
    gcExposed: boolean;
    before: Memory;
    snapshot: Memory;
    withEnvoys: Memory;
    /** Highest RSS of the process up to the end of the edits (start-up and reloads included). */
    peakRss: number;
  };
  joins: JoinSample[];
  edits: Record<EditKind, EditSample[]>;
  envoyVersion: string;
  debounce: { quietMs: number; maxDelayMs: number };
}
