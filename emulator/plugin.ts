// A plugin = one root context in a VM. Envoy shares a VM between plugins with the same
// vm_config, so several Plugins (each with its own root id and configuration) can share a VM.
import { WasmResult } from "./abi.js";
import type { PluginHost, VmCore } from "./host.js";
import { toBytes } from "./memory.js";
import { HttpStream, type StreamOptions } from "./stream.js";
import type { ProxyWasmVm } from "./vm.js";

export interface PluginOptions {
  /** PluginConfig.configuration: the PluginConfiguration buffer during on_configure. */
  config?: string | Uint8Array;
  /** PluginConfig.root_id: the "plugin_root_id" property. */
  rootId?: string;
  /** PluginConfig.name: the "plugin_name" property. */
  name?: string;
}

/** A cluster the filter said it calls (foreign function portico_declare_clusters), where its config names it. */
export interface ClusterDeclaration {
  name: string;
  path: string;
}

export class Plugin {
  readonly rootContextId: number;
  readonly name: string;
  readonly rootId: string;
  readonly configBytes: Uint8Array;
  /** proxy_on_vm_start returned non-zero. */
  readonly vmStarted: boolean;
  /** on_vm_start and on_configure both accepted: Envoy would take this plugin into service. */
  readonly ok: boolean;
  private readonly clusters: ClusterDeclaration[] = [];
  private tickMs = 0;
  /** Envoy serves the plugin configuration only while it creates and configures the root. */
  private exposesConfig = false;
  private pendingDone = false;
  /** The root context as the host calls see it. */
  private readonly host: PluginHost;

  /** Created by ProxyWasmVm.configurePlugin. */
  constructor(
    readonly vm: ProxyWasmVm,
    private readonly core: VmCore,
    id: number,
    options: PluginOptions,
  ) {
    [this.rootContextId, this.name, this.rootId] = [id, options.name ?? "", options.rootId ?? ""];
    this.configBytes = toBytes(options.config);
    this.host = this.hostView();
    core.addContext({ id, plugin: this.host, stream: null, status: { code: 0, message: "" } }, this);
    this.withConfig(() => core.invoke("proxy_on_context_create", id, 0));
    this.vmStarted = core.invoke("proxy_on_vm_start", id, core.vmConfig.length) !== 0;
    this.ok = this.vmStarted && this.withConfig(() => core.invoke("proxy_on_configure", id, this.configBytes.length)) !== 0;
  }

  /**
   * Clusters the filter declared (Portico's foreign function portico_declare_clusters, normally
   * from its configure step): the Envoy clusters this configuration will call.
   */
  get declaredClusters(): ClusterDeclaration[] {
    return [...this.clusters];
  }

  /** Last proxy_set_tick_period_milliseconds value (0: no timer). */
  get tickPeriodMs(): number {
    return this.tickMs;
  }

  /** Builds the PluginHost (host.ts): closures over this plugin's private state. */
  private hostView(): PluginHost {
    const { core, rootContextId, name, rootId } = this;
    return {
      rootContextId,
      name,
      rootId,
      pluginConfig: () => (this.exposesConfig ? this.configBytes : null),
      httpCallResponse: () => core.httpCallResponse(rootContextId),
      grpcResponse: () => core.grpcResponse(rootContextId),
      setTickPeriod: (ms) => {
        this.tickMs = ms;
        core.setTickPeriod(rootContextId, ms);
      },
      done: () => this.doneFromGuest(),
      declareClusters: (refs) => void this.clusters.push(...refs),
    };
  }

  private withConfig(fn: () => number): number {
    this.exposesConfig = true;
    try {
      return fn();
    } finally {
      this.exposesConfig = false;
    }
  }

  /** A new HTTP stream through this plugin's filter (a new stream context in the VM). */
  newHttpStream(options: StreamOptions = {}): HttpStream {
    if (!this.ok) throw new Error(`plugin ${this.name || this.rootContextId} was rejected by the filter; Envoy would not use it`);
    return new HttpStream(this, this.host, this.core, this.core.allocContextId(), options);
  }

  /** Removal as Envoy does it: proxy_on_done, then proxy_on_delete unless the filter defers it until proxy_done. */
  shutdown(): void {
    if (this.core.invoke("proxy_on_done", this.rootContextId) !== 0) this.delete();
    else this.pendingDone = true;
  }

  private doneFromGuest(): WasmResult {
    if (!this.pendingDone) return WasmResult.NotFound;
    this.pendingDone = false;
    this.core.post(() => this.delete());
    return WasmResult.Ok;
  }

  private delete(): void {
    this.core.setTickPeriod(this.rootContextId, 0);
    this.core.invoke("proxy_on_delete", this.rootContextId);
    this.core.removeContext(this.rootContextId);
  }
}
