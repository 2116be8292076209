// Wasm plugins -> ECDS TypedExtensionConfig resources: one Wasm filter config per plugin, with
// the module's bytes inline. (Native policies have no ECDS resource: their config goes per route.)
//
// Why inline and not `code.remote` (fetch over HTTP + sha256): Envoy 1.40 fetches remote Wasm
// code only while something is initialising (start-up, a warming listener). An ECDS update that
// names a module Envoy has not fetched yet is ACKed and applied without ever fetching it, and
// requests then pass with no plugin running (control-plane/test/e2e/envoy-remote-wasm.test.ts);
// with `nack_on_code_cache_miss` it NACKs, but a re-offer is accepted with a plugin that answers
// 500. Inline bytes make a plugin update one atomic xDS message: no fetch, no shared disk.
import type { WasmPluginModel } from "../model/types.js";
import { ANY, pluginFilterName } from "./common.js";

/** `moduleBase64`: the plugin's module bytes, base64 (encoded once per module by the caller). */
export function pluginExtensionConfig(p: WasmPluginModel, moduleBase64: string): object {
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
          code: { local: { inline_bytes: moduleBase64 } },
        },
        configuration: { "@type": ANY.stringValue, value: p.config },
        // A plugin that cannot run refuses requests rather than letting them through unchecked.
        fail_open: false,
      },
    },
  };
}
