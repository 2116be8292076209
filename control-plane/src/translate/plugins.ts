// Plugins -> ECDS TypedExtensionConfig resources: one Wasm filter config per plugin. The module
// is referenced by URL and sha256 on the control plane's module server, so an Envoy on another
// host fetches it through the `portico_modules` cluster of its bootstrap and verifies it.
import type { PluginModel } from "../model/types.js";
import { ANY, pluginFilterName } from "./common.js";

export interface ModuleSource {
  /** Cluster (in every Envoy's bootstrap) that reaches the module server. */
  cluster: string;
  /** Base URL the module paths are appended to, e.g. "http://portico-modules". */
  baseUrl: string;
}

export function pluginExtensionConfig(p: PluginModel, modules: ModuleSource): object {
  return {
    name: pluginFilterName(p.name),
    typed_config: {
      "@type": ANY.wasm,
      config: {
        name: p.name,
        root_id: p.rootId,
        vm_config: {
          // Plugins of one module share a VM (their root contexts live side by side); a new
          // module version has a new code hash and so a new VM.
          vm_id: `portico.${p.filter === "custom" ? p.name : p.filter}`,
          runtime: "envoy.wasm.runtime.v8",
          code: {
            remote: {
              http_uri: { uri: `${modules.baseUrl}/modules/${p.module.sha256}.wasm`, cluster: modules.cluster, timeout: "10s" },
              sha256: p.module.sha256,
              retry_policy: { num_retries: 5 },
            },
          },
        },
        configuration: { "@type": ANY.stringValue, value: p.config },
        // A plugin that cannot run refuses requests rather than letting them through unchecked.
        fail_open: false,
      },
    },
  };
}
