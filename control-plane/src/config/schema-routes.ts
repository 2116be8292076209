// The `routes:` section: which requests go where, and what happens on the way.
import { z } from "zod";
import type { RetryModel } from "../model/types.js";
import { duration } from "./durations.js";
import {
  ALSO_WITH_OTHER_ISSUES,
  exactlyOne,
  hostMatch,
  method,
  namedMatchSchema,
  pathMatchSchema,
  reference,
  regexString,
  UINT32_MAX,
  resourceName,
  unique,
} from "./schema-common.js";

/** Envoy's retry_on conditions (HTTP and gRPC). */
export const RETRY_CONDITIONS = [
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
] as const;

/**
 * Envoy's query parameter matcher has no invert_match: a route can negate presence (present:
 * true/false swap) but not a value test, so that is refused rather than silently dropped.
 */
const routeQueryMatch = namedMatchSchema("query parameter").superRefine((q, ctx) => {
  if (q.invert && q.match.kind !== "present" && q.match.kind !== "absent") {
    ctx.addIssue({
      code: "custom",
      path: ["invert"],
      message: `a route cannot invert a query parameter ${q.match.kind} test (Envoy has no negated query match); only present: true/false can be inverted`,
      input: true,
    });
  }
});

const match = z
  .strictObject({
    path: pathMatchSchema.prefault({ prefix: "/" }),
    methods: z.array(method).prefault([]).transform(unique).meta({ description: "HTTP methods (any case); default: any method." }),
    headers: z.array(namedMatchSchema("header")).prefault([]).meta({ description: "All of these header matchers must match." }),
    query: z.array(routeQueryMatch).prefault([]).meta({ description: "All of these query parameter matchers must match." }),
  })
  .meta({ description: "Which requests the route takes; every condition must hold." });

const rewrite = z
  .strictObject({
    prefix: z.string().optional().meta({ description: "Replace the matched path prefix with this." }),
    regex: z
      .strictObject({
        pattern: regexString.meta({ description: "RE2 regular expression matched against the path." }),
        substitution: z.string().meta({ description: 'Replacement; "\\1" refers to the first group.' }),
      })
      .optional()
      .meta({ description: "Rewrite the path with a regular expression and a substitution." }),
  })
  .superRefine(exactlyOne(["prefix", "regex"]), ALSO_WITH_OTHER_ISSUES)
  .transform((r) =>
    r.regex !== undefined
      ? { kind: "regex" as const, pattern: r.regex.pattern, substitution: r.regex.substitution }
      : { kind: "prefix" as const, value: r.prefix ?? "/" },
  )
  .meta({ description: "Path rewrite before forwarding: exactly one of prefix, regex." });

/** Envoy's RetryPolicy.retry_back_off: the wait before retry n is random in [0, base × 2^n), at most max. */
const backoff = z
  .strictObject({
    base: duration("Base interval: retry n waits a random time below base × 2^n (Envoy: 25ms).", { positive: true }),
    max: duration("Longest wait between retries; at least base. Default: 10 × base.", { positive: true }).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.max !== undefined && b.max < b.base)
      ctx.addIssue({ code: "custom", path: ["max"], message: `must be at least base (${b.base}ms), got ${b.max}ms`, input: b.max });
  })
  .meta({ description: "Back-off between retries (exponential with jitter)." });

const retries = z
  .strictObject({
    attempts: z.number().int().min(1).max(UINT32_MAX).prefault(1).meta({ description: "Retries after the first try." }),
    on: z
      .array(z.enum(RETRY_CONDITIONS))
      .min(1)
      .prefault(["5xx", "connect-failure"])
      .transform(unique)
      .meta({ description: "Conditions that trigger a retry (Envoy retry_on)." }),
    per_try_timeout: duration("Timeout of each try; default: the route's timeout.").optional(),
    status_codes: z
      .array(z.number().int().min(100).max(599))
      .prefault([])
      .transform(unique)
      .meta({ description: "Statuses that trigger a retry (adds retriable-status-codes to on)." }),
    backoff: backoff.optional(),
  })
  .transform((r): RetryModel => {
    // Envoy ignores retriable_status_codes unless retry_on says so: listing codes means that.
    const on = r.status_codes.length > 0 && !r.on.includes("retriable-status-codes") ? [...r.on, "retriable-status-codes"] : r.on;
    return {
      attempts: r.attempts,
      on,
      perTryTimeoutMs: r.per_try_timeout ?? null,
      statusCodes: r.status_codes,
      backoff: r.backoff ? { baseMs: r.backoff.base, maxMs: r.backoff.max ?? null } : null,
    };
  })
  .meta({ description: "Retry policy." });

const weightedUpstream = z.strictObject({
  name: reference("An upstream's name."),
  weight: z.number().int().min(1).prefault(1).meta({ description: "Share of the traffic (positive integer)." }),
});

export const routeSchema = z
  .strictObject({
    name: resourceName("Unique name."),
    listeners: z
      .array(reference("A listener's name."))
      .min(1)
      .transform(unique)
      .optional()
      .meta({ description: "Listeners serving the route; default: every listener." }),
    hosts: z
      .array(hostMatch(true))
      .min(1)
      .prefault(["*"])
      .transform(unique)
      .meta({ description: 'Host names: exact, "*.suffix", or "*" for any.' }),
    match: match.prefault({}),
    rewrite: rewrite.optional(),
    timeout: duration("Whole-request timeout; 0 disables it; default: Envoy's (15s).").optional(),
    idle_timeout: duration(
      "How long the request may go without a byte moving either way before Envoy ends it: 504 before the upstream's response headers, a reset after. 0 disables it (and the listener's 5m stream idle timeout); default: the listener's.",
    ).optional(),
    retries: retries.optional(),
    upstream: reference("The upstream receiving the traffic (or use upstreams).").optional(),
    upstreams: z.array(weightedUpstream).min(1).optional().meta({ description: "Traffic split by weight (or use upstream)." }),
    plugins: z
      .array(reference("A plugin's name."))
      .prefault([])
      .meta({ description: "Plugins enabled on this route, besides the global ones." }),
  })
  .superRefine(exactlyOne(["upstream", "upstreams"]), ALSO_WITH_OTHER_ISSUES)
  .meta({ description: "Requests matched on listener, host, path, method, headers and query, sent to one or more upstreams." });

export type RouteInput = z.output<typeof routeSchema>;
