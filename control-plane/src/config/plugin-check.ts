// Plugin configs are judged by the filter itself (its configure step, run by the caller's
// checker), so the message a user reads is the filter's own and no rules are duplicated here.
import type { Problem } from "./errors.js";
import type { ResolvedModule } from "./files.js";
import type { PluginInput } from "./schema.js";
import type { Indexed } from "./shape.js";

export interface PluginCheckInput {
  /** The module as it will be served to Envoy. */
  bytes: Uint8Array;
  /** sha256 (hex) of `bytes`: a checker may cache the compiled module under it, so it must really be the bytes' hash. */
  sha256: string;
  /** PluginConfig.root_id. */
  rootId: string;
  /** PluginConfig.configuration (the JSON text handed to proxy_on_configure). */
  config: string;
  /** PluginConfig.name (the "plugin_name" property). */
  name: string;
}

export interface PluginCheckResult {
  errors: string[];                           // the filter's refusals; [] = accepted
  clusters: { name: string; path: string }[]; // Envoy clusters the configured filter will call, as the filter reported them, with the JSON path inside the plugin config, e.g. "providers[0].remote_jwks.cluster"
}
export type PluginChecker = (p: PluginCheckInput) => Promise<PluginCheckResult>;

export async function checkPluginConfigs(
  plugins: Indexed<PluginInput>[],
  modules: Map<number, ResolvedModule>,
  checker: PluginChecker,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  // One at a time: each check instantiates a Wasm module, and their order keeps errors stable.
  for (const { index, value } of plugins) {
    const module = modules.get(index);
    if (!module) continue; // its module could not be loaded: already reported
    const at = ["plugins", index, "config"];
    try {
      const { errors } = await checker({ bytes: module.bytes, sha256: module.sha256, rootId: module.rootId, config: value.config, name: value.name });
      problems.push(...errors.map((message) => ({ path: at, message })));
    } catch (error) {
      problems.push({ path: at, message: `the config could not be checked: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  return problems;
}
