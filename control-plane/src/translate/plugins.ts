// Wasm plugins -> ECDS TypedExtensionConfig resources: one Wasm filter config per plugin, with
// the module's bytes inline. (Native policies have no ECDS resource: their config goes per route.)
// Suite slots (translate/suite.ts) are Wasm filters of the suite module configured with their
// members' configs.
//
// Why inline and not `code.remote` (fetch over HTTP + sha256): Envoy 1.40 fetches remote Wasm
// code only while something is initialising (start-up, a warming listener). An ECDS update that
// names a module Envoy has not fetched yet is ACKed and applied without ever fetching it, and
// requests then pass with no plugin running (control-plane/test/e2e/envoy-remote-wasm.test.ts);
// with `nack_on_code_cache_miss` it NACKs, but a re-offer is accepted with a plugin that answers
// 500. Inline bytes make a plugin update one atomic xDS message: no fetch, no shared disk.
import type { WasmPluginModel } from "../model/types.js";
import { ANY, pluginFilterName, suiteFilterName } from "./common.js";
import { SUITE_MODULE, suiteConfig } from "./suite.js";

/** `moduleBase64`: the plugin's module bytes, base64 (encoded once per module by the caller). */
export function pluginExtensionConfig(p: WasmPluginModel, moduleBase64: string): object {
  return wasmFilterConfig({
    filterName: pluginFilterName(p.name),
    pluginName: p.name,
    rootId: p.rootId,
    vm: p.filter === "custom" ? p.name : p.filter,
    moduleBase64,
    config: p.config,
  });
}

/** A suite slot's config: the suite module running `members` (two or more, chain order). */
export function suiteExtensionConfig(members: WasmPluginModel[], moduleBase64: string): object {
  const name = suiteFilterName(members.map((m) => m.name));
  return wasmFilterConfig({
    filterName: name,
    pluginName: name,
    rootId: SUITE_MODULE,
    vm: SUITE_MODULE,
    moduleBase64,
    config: suiteConfig(members),
  });
}

function wasmFilterConfig(w: {
  filterName: string;
  pluginName: string;
  rootId: string;
  /** The module's name: a suite filter's, the suite's, or a user module's plugin. */
  vm: string;
  moduleBase64: string;
  config: string;
}): object {
  return {
    name: w.filterName,
    typed_config: {
      "@type": ANY.wasm,
      config: {
        name: w.pluginName,
        root_id: w.rootId,
        vm_config: {
          // Plugins of one module share a VM (their root contexts live side by side), and so do
          // all suite slots; a new module version has a new code hash and so a new VM.
          vm_id: `portico.${w.vm}`,
          runtime: "envoy.wasm.runtime.v8",
          code: { local: { inline_bytes: w.moduleBase64 } },
        },
        configuration: { "@type": ANY.stringValue, value: w.config },
        // A plugin that cannot run refuses requests rather than letting them through unchecked.
        fail_open: false,
      },
    },
  };
}
