// Plugin configs are judged by the filter itself (its configure step, run by the caller's
// checker), so the message a user reads is the filter's own and no rules are duplicated here.
// The same goes for the clusters a filter calls: which config fields name clusters is the
// filter's rule, so it reports them, and they become references to upstreams in the graph.
import { type Problem, parsePath } from "./errors.js";
import type { ResolvedModule } from "./files.js";
import type { Reference } from "./references.js";
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
  /** The filter's refusals; [] = accepted. */
  errors: string[];
  /** Envoy clusters the configured filter will call, as the filter itself reported them,
   *  each with its JSON path inside the plugin config, e.g. "providers[0].remote_jwks.cluster". */
  clusters: { name: string; path: string }[];
}

/** Runs a module's configure step on a config. */
export type PluginChecker = (p: PluginCheckInput) => Promise<PluginCheckResult>;

export interface PluginChecks {
  problems: Problem[];
  /** The clusters each plugin's filter calls, as references to the upstreams of those names. */
  references: Reference[];
}

export async function checkPluginConfigs(
  plugins: Indexed<PluginInput>[],
  modules: Map<number, ResolvedModule>,
  checker: PluginChecker,
): Promise<PluginChecks> {
  const problems: Problem[] = [];
  const references: Reference[] = [];
  // One at a time: each check instantiates a Wasm module, and their order keeps errors stable.
  for (const { index, value } of plugins) {
    if (value.kind !== "wasm") continue; // a native policy: its schema checked its config
    const module = modules.get(index);
    if (!module) continue; // its module could not be loaded: already reported
    const at = ["plugins", index, "config"];
    try {
      const result = await checker({
        bytes: module.bytes,
        sha256: module.sha256,
        rootId: module.rootId,
        config: value.config,
        name: value.name,
      });
      problems.push(...result.errors.map((message) => ({ path: at, message })));
      const from = { collection: "plugins", index, name: value.name } as const;
      // Upstreams are the clusters of the same name. A path that does not read as one stays at
      // the config: the reference still counts, only its place is coarser.
      for (const c of result.clusters)
        references.push({ from, to: "upstreams", name: c.name, path: [...at, ...(parsePath(c.path) ?? [])] });
    } catch (error) {
      problems.push({ path: at, message: `the config could not be checked: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  return { problems, references };
}
