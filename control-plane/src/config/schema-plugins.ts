// The `plugins:` section: the filter chain. A plugin is a Wasm filter (a suite filter or a user
// module, its config judged by the filter itself) or a native policy (`filter: cors`,
// `ip-restriction`, `request-size`: an Envoy filter, its config checked here by the policy's schema).
import { z } from "zod";
import { NATIVE_POLICIES, NATIVE_POLICY_NAMES, type PolicyModel, isNativePolicy } from "../policies/index.js";
import { allowedKeysAt, friendlyMessage, unknownKeyMessage } from "./issues.js";
import { ALSO_WITH_OTHER_ISSUES, exactlyOne, resourceName } from "./schema-common.js";

/** A config as written: a map, or a string holding a JSON object; parsed to the object. */
const pluginConfig = z
  .union([z.record(z.string(), z.unknown()), z.string()])
  .prefault({})
  .transform((value, ctx): Record<string, unknown> => {
    if (typeof value !== "string") return value;
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      ctx.issues.push({ code: "custom", message: "config must hold a JSON object", input: value });
    } catch (error) {
      ctx.issues.push({ code: "custom", message: `config is not valid JSON: ${(error as Error).message}`, input: value });
    }
    return z.NEVER;
  })
  .meta({ description: "The filter's configuration: a map, or a string holding a JSON object." });

/** What the plugin schema yields: the Wasm config as JSON text, or the native policy's model. */
export type PluginInput =
  | { kind: "wasm"; name: string; filter?: string; module?: string; root_id?: string; global: boolean; config: string }
  | { kind: "native"; name: string; global: boolean; policy: PolicyModel };

export const pluginSchema = z
  .strictObject({
    name: resourceName("Unique name; routes refer to it."),
    filter: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: `A native policy (${NATIVE_POLICY_NAMES.join(", ")}) or a suite Wasm filter (e.g. jwt-auth, rate-limit, header-rewrite).`,
      }),
    module: z.string().min(1).optional().meta({ description: "A user Wasm module file, relative to the config file." }),
    root_id: z.string().optional().meta({ description: 'The module\'s proxy-wasm root_id (modules only); default "".' }),
    global: z.boolean().prefault(false).meta({ description: "Enabled on every route." }),
    config: pluginConfig,
  })
  .superRefine(exactlyOne(["filter", "module"]), ALSO_WITH_OTHER_ISSUES)
  .superRefine((p, ctx) => {
    if (p.filter !== undefined && p.root_id !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["root_id"],
        message: "root_id is for modules only (a suite filter's root_id is its name)",
        input: p.root_id,
      });
    }
  }, ALSO_WITH_OTHER_ISSUES)
  .transform((p, ctx): PluginInput => {
    const { filter, config, ...rest } = p;
    if (!isNativePolicy(filter))
      return { kind: "wasm", ...rest, ...(filter !== undefined ? { filter } : {}), config: JSON.stringify(config) };
    const policy = NATIVE_POLICIES[filter];
    const parsed = (policy.schema as z.ZodType<PolicyModel["config"], unknown>).safeParse(config, { error: friendlyMessage });
    if (parsed.success) return { kind: "native", name: p.name, global: p.global, policy: { filter, config: parsed.data } as PolicyModel };
    // The policy's own issues, placed under `config` (the gateway schema sees only a map there,
    // so unknown keys are named against the policy's schema here).
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeysAt(policy.schema, issue.path);
        for (const key of issue.keys) {
          ctx.issues.push({
            code: "custom",
            path: ["config", ...issue.path, key],
            message: unknownKeyMessage(key, allowed),
            input: config,
          });
        }
      } else {
        ctx.issues.push({ code: "custom", path: ["config", ...issue.path], message: issue.message, input: config });
      }
    }
    return z.NEVER;
  })
  .meta({
    description: `A filter in the chain (order = chain order): a native policy (${NATIVE_POLICY_NAMES.join(", ")}), a suite Wasm filter, or a user module.`,
  });

/** The top-level key, as written in gateway.yaml. */
export const PLUGINS_IN_ONE_FILTER_KEY = "plugins_in_one_filter" as const;

export const pluginsInOneFilterSchema = z
  .boolean()
  .prefault(true)
  .meta({
    description:
      "Run a route's consecutive Portico Wasm plugins (jwt-auth, key-auth, basic-auth, rate-limit, header-rewrite) as one Envoy filter " +
      "(the suite module), which saves Envoy's fixed cost per filter on every request. false: each plugin is a filter of its own.",
  });
