// `filter: cors` → Envoy's CORS filter (envoy.filters.http.cors) with a CorsPolicy per route.
// Native because Envoy's filter does the whole job: it answers preflights itself (the upstream
// never sees them) and adds the response headers to simple requests.
import { z } from "zod";
import { duration } from "../config/durations.js";
import { checkedString, headerName, method, regexString, unique } from "../config/schema-common.js";
import type { NativePolicy } from "./policy.js";

/** How an allowed origin is written, kept as written (translation turns it into a matcher). */
export type OriginMatch =
  | { kind: "exact"; value: string } // "https://app.example.com"
  | { kind: "subdomain"; scheme: string; suffix: string; port: string | null } // "https://*.example.com"
  | { kind: "regex"; value: string } // {regex: "..."}
  | { kind: "any" }; // "*"

export interface CorsModel {
  origins: OriginMatch[];
  methods: string[];
  headers: string[];
  exposeHeaders: string[];
  credentials: boolean;
  /** How long a browser may cache a preflight's answer; null: no Access-Control-Max-Age (browser default, 5 s). */
  maxAgeSeconds: number | null;
}

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
/** scheme "://" [ "*." ] host [ ":" port ] — an origin as browsers send it (lower case, no path). */
const ORIGIN = new RegExp(`^([a-z][a-z0-9+.-]*)://(\\*\\.)?(${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::(\\d{1,5}))?$`);
/** Browsers cache a preflight for at most 24 h (Firefox; Chromium caps at 2 h). */
const MAX_AGE_LIMIT_S = 86_400;

/** scheme + "://" + a DNS name (at most 253 characters) + ":" + port, with room to spare. */
const MAX_ORIGIN_LENGTH = 300;

function parseOrigin(written: string): OriginMatch | string {
  if (written === "*") return { kind: "any" };
  if (written.length > MAX_ORIGIN_LENGTH) return `invalid origin: longer than ${MAX_ORIGIN_LENGTH} characters`;
  const origin = written.toLowerCase();
  const m = ORIGIN.exec(origin);
  if (!m) {
    return `invalid origin ${JSON.stringify(written)}: expected scheme://host[:port] with no path, e.g. "https://app.example.com", "https://*.example.com" or "*"`;
  }
  const [, scheme, wildcard, host, port] = m;
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535))
    return `invalid origin ${JSON.stringify(written)}: port out of range`;
  if (wildcard && host!.startsWith("[")) return `invalid origin ${JSON.stringify(written)}: "*." goes before a DNS name, not an IP address`;
  if (wildcard) return { kind: "subdomain", scheme: scheme!, suffix: host!, port: port ?? null };
  return { kind: "exact", value: origin };
}

/**
 * The union's options only check (no transforms): zod then reports the one option whose type
 * fits ("invalid origin ...", "invalid regex ..."), not "expected a string or a map".
 */
const origin = z
  .union([
    checkedString((written) => {
      const parsed = parseOrigin(written);
      return typeof parsed === "string" ? parsed : null;
    }).meta({ description: 'An origin: exact ("https://app.example.com"), a wildcard subdomain ("https://*.example.com") or "*" (any).' }),
    z.strictObject({ regex: regexString.meta({ description: "An RE2 regex the whole Origin header must match." }) }),
  ])
  .transform((o): OriginMatch => (typeof o === "string" ? (parseOrigin(o) as OriginMatch) : { kind: "regex", value: o.regex }))
  .meta({ description: 'An allowed origin: a string (exact, "https://*.example.com" or "*") or {regex: "..."}.' });

export const corsConfigSchema = z
  .strictObject({
    origins: z.array(origin).min(1).max(100).meta({ description: "Origins allowed to read responses; at least one." }),
    methods: z
      .array(method)
      .max(32)
      .prefault(["GET", "HEAD", "POST"])
      .transform(unique)
      .meta({ description: "Methods allowed on cross-origin requests (Access-Control-Allow-Methods); default GET, HEAD, POST." }),
    headers: z
      .array(headerName)
      .max(64)
      .prefault([])
      .transform(unique)
      .meta({ description: "Request headers allowed (Access-Control-Allow-Headers); default none beyond the CORS-safelisted ones." }),
    expose_headers: z
      .array(headerName)
      .max(64)
      .prefault([])
      .transform(unique)
      .meta({ description: "Response headers scripts may read (Access-Control-Expose-Headers); default none." }),
    credentials: z
      .boolean()
      .prefault(false)
      .meta({ description: "Allow cookies and Authorization on cross-origin requests (Access-Control-Allow-Credentials); default false." }),
    max_age: duration("How long browsers may cache a preflight's answer (whole seconds, at most 24h); default: no header.").optional(),
  })
  .superRefine((c, ctx) => {
    if (c.credentials && c.origins.some((o) => o.kind === "any")) {
      ctx.addIssue({
        code: "custom",
        path: ["origins", c.origins.findIndex((o) => o.kind === "any")],
        message:
          'the origin "*" cannot be combined with credentials: true: Envoy would echo every origin back as allowed, so any web site could make requests with the user\'s cookies and read the answers; list the origins',
        input: "*",
      });
    }
    if (c.max_age !== undefined && (c.max_age % 1000 !== 0 || c.max_age > MAX_AGE_LIMIT_S * 1000)) {
      ctx.addIssue({
        code: "custom",
        path: ["max_age"],
        message: `must be whole seconds, at most 24h (browsers cap it lower still), got ${c.max_age} ms`,
        input: c.max_age,
      });
    }
  })
  .transform(
    (c): CorsModel => ({
      origins: c.origins,
      methods: c.methods,
      headers: c.headers,
      exposeHeaders: c.expose_headers,
      credentials: c.credentials,
      maxAgeSeconds: c.max_age === undefined ? null : c.max_age / 1000,
    }),
  )
  .meta({ description: "Cross-origin resource sharing, answered by Envoy's CORS filter." });

/** RE2 (full match) for "scheme://*.suffix[:port]": one or more DNS labels before the suffix, nothing else. */
export function subdomainRegex(o: Extract<OriginMatch, { kind: "subdomain" }>): string {
  const quote = (s: string) => s.replace(/[.+*?()[\]{}|^$\\]/g, "\\$&");
  return `${quote(o.scheme)}://(?:${LABEL}\\.)+${quote(o.suffix)}${o.port === null ? "" : `:${o.port}`}`;
}

function stringMatcher(o: OriginMatch): object {
  switch (o.kind) {
    case "exact":
      return { exact: o.value };
    case "subdomain":
      return { safe_regex: { regex: subdomainRegex(o) } };
    case "regex":
      return { safe_regex: { regex: o.value } };
    case "any":
      return { safe_regex: { regex: ".*" } };
  }
}

const CORS_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors";
const CORS_POLICY_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

export const corsPolicy: NativePolicy<CorsModel> = {
  envoyFilter: "envoy.filters.http.cors",
  description: "CORS: allowed origins, methods and headers; preflights answered by Envoy.",
  schema: corsConfigSchema,
  slotConfig: { "@type": CORS_TYPE },
  perRoute: (c) => ({
    "@type": CORS_POLICY_TYPE,
    allow_origin_string_match: c.origins.map(stringMatcher),
    ...(c.methods.length > 0 ? { allow_methods: c.methods.join(",") } : {}),
    ...(c.headers.length > 0 ? { allow_headers: c.headers.join(",") } : {}),
    ...(c.exposeHeaders.length > 0 ? { expose_headers: c.exposeHeaders.join(",") } : {}),
    ...(c.maxAgeSeconds !== null ? { max_age: String(c.maxAgeSeconds) } : {}),
    allow_credentials: c.credentials,
    // A preflight from an origin not allowed is answered here too (without CORS headers), never
    // forwarded: the upstream sees no preflight at all.
    forward_not_matching_preflights: false,
  }),
};
