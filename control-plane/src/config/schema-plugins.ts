// The `plugins:` section: the Wasm filter chain, suite filters and user modules.
import { z } from "zod";
import { ALSO_WITH_OTHER_ISSUES, exactlyOne, resourceName } from "./schema-common.js";

const pluginConfig = z
  .union([z.record(z.string(), z.unknown()), z.string()])
  .prefault({})
  .transform((value, ctx) => {
    if (typeof value !== "string") return JSON.stringify(value);
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return JSON.stringify(parsed);
      ctx.issues.push({ code: "custom", message: "config must hold a JSON object", input: value });
    } catch (error) {
      ctx.issues.push({ code: "custom", message: `config is not valid JSON: ${(error as Error).message}`, input: value });
    }
    return z.NEVER;
  })
  .meta({ description: "The filter's configuration: a map, or a string holding a JSON object." });

export const pluginSchema = z
  .strictObject({
    name: resourceName("Unique name; routes refer to it."),
    filter: z.string().min(1).optional().meta({ description: "A suite filter, e.g. jwt-auth, rate-limit, header-rewrite." }),
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
  .meta({ description: "A Wasm filter in the chain (order = chain order): a suite filter or a user module." });

export type PluginInput = z.output<typeof pluginSchema>;
