// The running gateway: takes validated models, turns them into Envoy resources and hands them
// to the xDS cache, keeping the last good one whenever a candidate fails. Callers debounce
// (ConfigFileWatcher coalesces a burst of saves into one apply).
import type { LogFn } from "../log.js";
import type { GatewayModel } from "../model/types.js";
import { sameSecretPem, translate, translateEndpoints, type EnvoyResources, type SecretPem } from "../translate/index.js";
import { ANY_NODE, type SnapshotCache } from "../xds/cache.js";
import { TypeUrl, shortTypeName } from "../xds/types.js";
import { readCertificates } from "./certificates.js";
import { onlyEndpointsDiffer } from "./changes.js";

export interface Candidate {
  model: GatewayModel;
  modules: Map<string, Uint8Array>;
  origin: string;
}

export interface ApplyOutcome {
  ok: boolean;
  origin: string;
  at: string;
  /** "full", "endpoints" (EDS only) or "unchanged". */
  kind?: "full" | "endpoints" | "unchanged";
  changedTypes?: string[];
  error?: string;
}

export interface GatewayOptions {
  cache: SnapshotCache;
  log: LogFn;
  /** gRPC address of the rate limit service `portico run` supervises, if it does. */
  supervisedRateLimitService?: { host: string; port: number };
}

export class Gateway {
  private applied:
    | { model: GatewayModel; modules: ReadonlyMap<string, Uint8Array>; resources: EnvoyResources; certificates: Map<string, SecretPem> }
    | undefined;
  private last: ApplyOutcome | undefined;
  private pushes = 0;

  constructor(private readonly o: GatewayOptions) {}

  /** The model Envoys are being given (the last one accepted). */
  get model(): GatewayModel | undefined {
    return this.applied?.model;
  }
  get resources(): EnvoyResources | undefined {
    return this.applied?.resources;
  }
  /** The modules in force, by sha256 (served at /modules/<sha256>.wasm for inspection). */
  get modules(): ReadonlyMap<string, Uint8Array> {
    return this.applied?.modules ?? new Map();
  }
  /** How many times the cache was actually updated (a burst of edits counts once). */
  get pushCount(): number {
    return this.pushes;
  }
  get lastOutcome(): ApplyOutcome | undefined {
    return this.last;
  }

  /**
   * Applies a candidate at once. Its one caller, ConfigSource, applies inside its turns, which
   * run one at a time: applies never overlap, so no queue is kept here.
   */
  async apply(c: Candidate): Promise<ApplyOutcome> {
    const outcome = await this.tryApply(c);
    this.last = outcome;
    if (outcome.ok)
      this.o.log("info", "config applied", { origin: c.origin, kind: outcome.kind, changed: outcome.changedTypes?.map(shortTypeName) });
    else this.o.log("error", "config rejected; Envoys keep the last good config", { origin: c.origin, error: outcome.error });
    return outcome;
  }

  /**
   * The Envoy resources of a model, with what this gateway adds (the supervised rate limit
   * service's address): applies and dry runs translate the same way.
   */
  translate(model: GatewayModel, modules: ReadonlyMap<string, Uint8Array>, certificates: Map<string, SecretPem>): EnvoyResources {
    return translate({ model, certificates, modules, supervisedRateLimitService: this.o.supervisedRateLimitService });
  }

  private async tryApply(c: Candidate): Promise<ApplyOutcome> {
    const at = new Date().toISOString();
    try {
      const prev = this.applied;
      let kind: ApplyOutcome["kind"] = "full";
      let resources: EnvoyResources;
      // Certificates are re-read on every apply: a rotated file is a change of its own.
      const certificates = await readCertificates(c.model);
      if (prev && onlyEndpointsDiffer(prev.model, c.model) && sameCertificates(prev.certificates, certificates)) {
        kind = "endpoints";
        resources = { ...prev.resources, [TypeUrl.Endpoints]: translateEndpoints(c.model) };
      } else {
        resources = this.translate(c.model, c.modules, certificates);
      }
      const changed = this.o.cache.set(ANY_NODE, resources);
      this.applied = { model: c.model, modules: c.modules, resources, certificates };
      if (changed.length === 0) kind = "unchanged";
      else this.pushes++;
      return { ok: true, origin: c.origin, at, kind, changedTypes: changed };
    } catch (e) {
      return { ok: false, origin: c.origin, at, error: e instanceof Error ? e.message : String(e) };
    }
  }
}

function sameCertificates(a: Map<string, SecretPem>, b: Map<string, SecretPem>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, pem] of a) {
    const other = b.get(name);
    if (!other || !sameSecretPem(other, pem)) return false;
  }
  return true;
}
