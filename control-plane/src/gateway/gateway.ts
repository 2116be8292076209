// The running gateway: takes validated models, turns them into Envoy resources and hands them
// to the xDS cache, keeping the last good one whenever a candidate fails. Edits arriving in a
// burst are coalesced (Debouncer) into one translation and one push.
import type { LogFn } from "../log.js";
import type { GatewayModel } from "../model/types.js";
import type { ModuleStore } from "../plugins/modules.js";
import { translate, translateEndpoints, type CertificatePem, type EnvoyResources } from "../translate/index.js";
import type { SnapshotCache } from "../xds/cache.js";
import { TypeUrl, type ResourceSet } from "../xds/types.js";
import { readCertificates } from "./certificates.js";
import { onlyEndpointsDiffer } from "./changes.js";
import { Debouncer, type DebouncerOptions } from "./debounce.js";

export interface Candidate { model: GatewayModel; modules: Map<string, Uint8Array>; origin: string }

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
  /** Every module in force, by sha256 (served at /modules/<sha256>.wasm for inspection). */
  modules: ModuleStore;
  log: LogFn;
  debounce?: DebouncerOptions;
  /** Reads certificate PEMs (a test seam; default reads the files). */
  readCertificates?: (model: GatewayModel) => Promise<Map<string, CertificatePem>>;
}

export function toResourceSet(r: EnvoyResources): ResourceSet {
  return {
    [TypeUrl.Secret]: r.secrets,
    [TypeUrl.ExtensionConfig]: r.extensionConfigs,
    [TypeUrl.Cluster]: r.clusters,
    [TypeUrl.Endpoints]: r.endpoints,
    [TypeUrl.Listener]: r.listeners,
    [TypeUrl.Route]: r.routes,
  };
}

export class Gateway {
  private applied: { model: GatewayModel; resources: EnvoyResources; certificates: Map<string, CertificatePem> } | undefined;
  private pending: Candidate | undefined;
  private readonly debouncer: Debouncer;
  readonly history: ApplyOutcome[] = [];
  private pushes = 0;
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: GatewayOptions) {
    this.debouncer = new Debouncer(() => this.applyPending(), o.debounce ?? { quietMs: 100, maxDelayMs: 1000 });
  }

  /** The model Envoys are being given (the last one accepted). */
  get model(): GatewayModel | undefined { return this.applied?.model; }
  get resources(): EnvoyResources | undefined { return this.applied?.resources; }
  /** How many times the cache was actually updated (a burst of edits counts once). */
  get pushCount(): number { return this.pushes; }
  get lastOutcome(): ApplyOutcome | undefined { return this.history.at(-1); }

  /** Queues a candidate; the latest one wins when the debounce window closes. */
  submit(c: Candidate): void {
    this.pending = c;
    this.debouncer.trigger();
  }

  /** Applies the queued candidate now (tests, shutdown). */
  flush(): Promise<void> { return this.debouncer.flush(); }

  /** Applies a candidate at once (start-up, or callers that debounce themselves). */
  async apply(c: Candidate): Promise<ApplyOutcome> {
    // One at a time, in call order: the file watcher and the admin API may both apply, and the
    // one that read the file last must also be the one applied last.
    const turn = this.applying.then(() => this.tryApply(c));
    this.applying = turn.catch(() => undefined);
    const outcome = await turn;
    this.history.push(outcome);
    if (this.history.length > 100) this.history.shift();
    if (outcome.ok) this.o.log("info", "config applied", { origin: c.origin, kind: outcome.kind, changed: outcome.changedTypes?.map(shortType) });
    else this.o.log("error", "config rejected; Envoys keep the last good config", { origin: c.origin, error: outcome.error });
    return outcome;
  }

  stop(): void { this.debouncer.stop(); }

  private async applyPending(): Promise<void> {
    const c = this.pending;
    this.pending = undefined;
    if (c) await this.apply(c);
  }

  private async tryApply(c: Candidate): Promise<ApplyOutcome> {
    const at = new Date().toISOString();
    try {
      const prev = this.applied;
      let kind: ApplyOutcome["kind"] = "full";
      let resources: EnvoyResources;
      // Certificates are re-read on every apply: a rotated file is a change of its own.
      const certificates = await (this.o.readCertificates ?? readCertificates)(c.model);
      if (prev && onlyEndpointsDiffer(prev.model, c.model) && sameCertificates(prev.certificates, certificates)) {
        kind = "endpoints";
        resources = { ...prev.resources, endpoints: translateEndpoints(c.model) };
      } else {
        resources = translate({ model: c.model, certificates, modules: c.modules });
      }
      for (const bytes of c.modules.values()) this.o.modules.put(bytes);
      const changed = [...(this.o.cache.set("*", toResourceSet(resources)) ?? [])];
      this.o.modules.retain(c.model.plugins.map((p) => p.module.sha256));
      this.applied = { model: c.model, resources, certificates };
      if (changed.length === 0) kind = "unchanged";
      else this.pushes++;
      return { ok: true, origin: c.origin, at, kind, changedTypes: changed };
    } catch (e) {
      return { ok: false, origin: c.origin, at, error: e instanceof Error ? e.message : String(e) };
    }
  }
}

function sameCertificates(a: Map<string, CertificatePem>, b: Map<string, CertificatePem>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, pem] of a) {
    const other = b.get(name);
    if (!other || other.certificateChain !== pem.certificateChain || other.privateKey !== pem.privateKey) return false;
  }
  return true;
}

function shortType(t: string): string {
  return t.slice(t.lastIndexOf(".") + 1);
}
