// What a native policy is: a plugin that Envoy runs with one of its own HTTP filters instead of a
// Wasm module. Each policy (cors.ts, ip-restriction.ts, request-size.ts) says how its `config`
// is written, what it becomes in the model, and how it is translated; index.ts lists them.
import type { z } from "zod";

export interface NativePolicy<Config> {
  /** The Envoy HTTP filter that runs it (the `name` of its slot's filter factory). */
  envoyFilter: string;
  /** One line for the JSON Schema and the docs. */
  description: string;
  /** The plugin's `config` as written → the policy's model (strict: unknown keys are refused). */
  schema: z.ZodType<Config, unknown>;
  /**
   * The listener slot's typed_config. Fixed (it never depends on the plugin's config), so that a
   * policy edit changes routes only: the listener, and so its connections, stay untouched. The
   * slot is disabled: only routes that name the plugin switch it on, with `perRoute`.
   */
  slotConfig: object;
  /** The per-route config (an Any, with its @type) that enables the filter on a route. */
  perRoute(config: Config): object;
}
