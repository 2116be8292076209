// The shape of a gateway config file. zod checks each value where it stands; relations between
// values (names, references, files) are checked in references.ts and resolve.ts.
import { z } from "zod";
import { accessLogSchema } from "./schema-access-log.js";
import { ALSO_WITH_OTHER_ISSUES, checkedString, exactlyOne, hostMatch, resourceName, unique } from "./schema-common.js";
import { routeSchema } from "./schema-routes.js";
import { upstreamSchema } from "./schema-upstreams.js";
import { isIpLiteral } from "./syntax.js";

const certificate = z
  .strictObject({
    cert: z.string().min(1).meta({ description: "PEM certificate chain file, relative to the config file." }),
    key: z.string().min(1).meta({ description: "PEM private key file, relative to the config file." }),
    sni: z.array(hostMatch(false)).prefault([]).transform(unique)
      .meta({ description: 'Server names this certificate answers (exact or "*.suffix"); none: the default certificate.' }),
  })
  .meta({ description: "A certificate and its key." });

const listenerTls = z
  .strictObject({
    // YAML reads an unquoted 1.2 as a number; both spellings mean the same version.
    min_version: z.union([z.enum(["1.2", "1.3"]), z.literal(1.2), z.literal(1.3)])
      .prefault("1.2")
      .transform((v) => String(v) as "1.2" | "1.3")
      .meta({ description: "Lowest TLS version accepted." }),
    certificates: z.array(certificate).min(1)
      .meta({ description: "Certificates, chosen by SNI; at most one without sni (the default)." }),
  })
  .meta({ description: "Terminate TLS on this listener." });

export const listenerSchema = z
  .strictObject({
    name: resourceName("Unique name; routes refer to it."),
    address: checkedString((a) => (isIpLiteral(a) ? null : `invalid address "${a}": expected an IPv4 or IPv6 address`))
      .prefault("0.0.0.0")
      .meta({ description: "IP address to bind (0.0.0.0: every IPv4 address; :: every IPv6 address)." }),
    port: z.number().int().min(1).max(65535).meta({ description: "Port to bind, 1 to 65535." }),
    protocols: z.array(z.enum(["http1", "http2"])).min(1).prefault(["http1", "http2"]).transform(unique)
      .meta({ description: "HTTP versions offered to clients." }),
    tls: listenerTls.optional(),
    access_log: accessLogSchema.optional(),
  })
  .meta({ description: "An address and port where the gateway accepts requests." });

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
      ctx.addIssue({ code: "custom", path: ["root_id"], message: "root_id is for modules only (a suite filter's root_id is its name)", input: p.root_id });
    }
  }, ALSO_WITH_OTHER_ISSUES)
  .meta({ description: "A Wasm filter in the chain (order = chain order): a suite filter or a user module." });

/** The sections, each an array of items validated one by one (so one bad item hides nothing else). */
export const sectionSchemas = {
  listeners: listenerSchema,
  routes: routeSchema,
  upstreams: upstreamSchema,
  plugins: pluginSchema,
} as const;

export type SectionName = keyof typeof sectionSchemas;
export const SECTION_NAMES = Object.keys(sectionSchemas) as SectionName[];

export const gatewayConfigSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "JSON Schema of this file (for editors); ignored." }),
    listeners: z.array(listenerSchema).nullish().meta({ description: "Where the gateway accepts requests." }),
    routes: z.array(routeSchema).nullish().meta({ description: "Routing rules: which requests go to which upstreams." }),
    upstreams: z.array(upstreamSchema).nullish().meta({ description: "Backend services." }),
    plugins: z.array(pluginSchema).nullish().meta({ description: "Wasm filters; their order is the filter chain's order." }),
  })
  .meta({ title: "Portico gateway configuration", description: "Listeners, routes, upstreams and plugins of a Portico gateway." });

export type ListenerInput = z.output<typeof listenerSchema>;
export type PluginInput = z.output<typeof pluginSchema>;
export type { RouteInput } from "./schema-routes.js";
export type { UpstreamInput } from "./schema-upstreams.js";
