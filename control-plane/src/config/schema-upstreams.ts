// The `upstreams:` section: backend clusters, their endpoints and their resilience settings.
import { z } from "zod";
import type {
  CircuitBreakersModel,
  EndpointModel,
  HashOnModel,
  HealthCheckModel,
  LbPolicy,
  OutlierDetectionModel,
} from "../model/types.js";
import { duration } from "./durations.js";
import { ALSO_WITH_OTHER_ISSUES, UINT32_MAX, absolutePath, checkedString, exactlyOne, headerName, resourceName } from "./schema-common.js";
import { HOSTNAME_PATTERN, endpointHostError, parseHostPort } from "./syntax.js";

const port = z.number().int().min(1).max(65535);
const weight = z.number().int().min(1).max(UINT32_MAX);

const endpointObject = z
  .strictObject({
    host: checkedString(endpointHostError).meta({ description: "IP address or DNS name." }),
    port: port.meta({ description: "Port, 1 to 65535." }),
    weight: weight.prefault(1).meta({ description: "Load-balancing weight (positive integer)." }),
  })
  .meta({ description: "An endpoint with an explicit weight." });

// The string form is parsed after the union (not inside it) so that its error is the one reported.
const endpoint = z
  .union([z.string().meta({ description: 'An endpoint as "host:port" (IPv6 in brackets: "[::1]:8080"), weight 1.' }), endpointObject])
  .transform((value, ctx): EndpointModel => {
    if (typeof value !== "string") return value;
    const parsed = parseHostPort(value);
    if (typeof parsed !== "string") return { ...parsed, weight: 1 };
    ctx.issues.push({ code: "custom", message: parsed, input: value });
    return z.NEVER;
  });

export interface UpstreamTlsInput {
  sni: string | null;
  /** CA bundle file as written (relative to the config file); null: the system trust store. */
  ca: string | null;
  insecureSkipVerify: boolean;
}

const tls = z
  .union([
    z.boolean(),
    z
      .strictObject({
        sni: z.string().regex(new RegExp(HOSTNAME_PATTERN), { error: "sni must be a DNS name" }).optional().meta({
          description:
            "Server name sent in the TLS handshake, and the name the upstream's certificate must be valid for; default: the first endpoint's host.",
        }),
        ca: z.string().min(1).optional().meta({
          description:
            "PEM file of the CA certificate(s) the upstream's certificate must chain to, relative to the config file; default: the system trust store.",
        }),
        insecure_skip_verify: z.boolean().prefault(false).meta({
          description:
            "DANGEROUS: accept any certificate from the upstream (no chain or name check), so anyone on the path can intercept the traffic. For tests only.",
        }),
      })
      .superRefine((value, ctx) => {
        if (value.insecure_skip_verify && value.ca !== undefined) {
          ctx.addIssue({
            code: "custom",
            message: "ca and insecure_skip_verify: true exclude each other (a CA is only used to verify)",
            input: value,
            path: ["insecure_skip_verify"],
          });
        }
      }),
  ])
  .transform((value): UpstreamTlsInput | null => {
    if (value === false) return null;
    if (value === true) return { sni: null, ca: null, insecureSkipVerify: false };
    return { sni: value.sni ?? null, ca: value.ca ?? null, insecureSkipVerify: value.insecure_skip_verify };
  })
  .meta({
    description:
      "Connect to the endpoints over TLS, verifying the upstream's certificate (chain and name): true (system trust store, " +
      "SNI = first endpoint's host), or a map with sni, ca and insecure_skip_verify.",
  });

const statusRange = z
  .union([
    z.number().int().min(100).max(599).meta({ description: "One status code." }),
    z.tuple([z.number().int(), z.number().int()]).meta({ description: "A half-open range [start, end)." }),
  ])
  .superRefine((value, ctx) => {
    if (typeof value === "number") return;
    const [start, end] = value;
    if (!(start >= 100 && start < end && end <= 600)) {
      ctx.addIssue({ code: "custom", message: `invalid status range [${start}, ${end}): need 100 <= start < end <= 600`, input: value });
    }
  })
  .transform((value) => (typeof value === "number" ? { start: value, end: value + 1 } : { start: value[0], end: value[1] }));

const healthCheck = z
  .strictObject({
    path: absolutePath.prefault("/").meta({ description: "HTTP path probed." }),
    host: z.string().min(1).nullable().prefault(null).meta({ description: "Host header of the probe; null: the upstream's name." }),
    interval: duration("Time between probes.", { positive: true }).prefault("5s"),
    timeout: duration("Time to wait for a probe's answer.", { positive: true }).prefault("1s"),
    healthy_threshold: z
      .number()
      .int()
      .min(1)
      .max(UINT32_MAX)
      .prefault(1)
      .meta({ description: "Successful probes before an endpoint counts as healthy." }),
    unhealthy_threshold: z
      .number()
      .int()
      .min(1)
      .max(UINT32_MAX)
      .prefault(3)
      .meta({ description: "Failed probes before an endpoint counts as unhealthy." }),
    expected_statuses: z
      .array(statusRange)
      .min(1)
      .prefault([[200, 400]])
      .meta({ description: "Statuses that count as healthy: codes or half-open [start, end) ranges." }),
  })
  .transform(
    (h): HealthCheckModel => ({
      path: h.path,
      host: h.host,
      intervalMs: h.interval,
      timeoutMs: h.timeout,
      healthyThreshold: h.healthy_threshold,
      unhealthyThreshold: h.unhealthy_threshold,
      expectedStatuses: h.expected_statuses,
    }),
  )
  .meta({ description: "Active HTTP health checking of every endpoint." });

// Defaults are Envoy's own (envoy.config.cluster.v3.OutlierDetection).
const outlierDetection = z
  .strictObject({
    consecutive_5xx: z
      .number()
      .int()
      .min(1)
      .max(UINT32_MAX)
      .prefault(5)
      .meta({ description: "Consecutive 5xx answers that eject an endpoint." }),
    interval: duration("Time between ejection sweeps.", { positive: true }).prefault("10s"),
    base_ejection_time: duration("Ejection time, multiplied by the number of ejections so far.", { positive: true }).prefault("30s"),
    max_ejection_percent: z.number().int().min(0).max(100).prefault(10).meta({ description: "Most endpoints (%) ejected at once." }),
  })
  .transform(
    (o): OutlierDetectionModel => ({
      consecutive5xx: o.consecutive_5xx,
      intervalMs: o.interval,
      baseEjectionTimeMs: o.base_ejection_time,
      maxEjectionPercent: o.max_ejection_percent,
    }),
  )
  .meta({ description: "Passive health checking: eject endpoints that keep failing." });

function limit(description: string) {
  return z
    .number()
    .int()
    .min(0)
    .max(UINT32_MAX)
    .optional()
    .transform((n) => n ?? null)
    .meta({ description: `${description} Default: Envoy's.` });
}

/**
 * Envoy's retry budget (thresholds.retry_budget): retries in flight may be at most a share of
 * the requests in flight (and so scale with traffic, where max_retries is one fixed number).
 */
const retryBudget = z
  .strictObject({
    percent: z
      .number()
      .min(0)
      .max(100)
      .prefault(20)
      .meta({ description: "Retries in flight as a percentage of the requests (and pending requests) in flight. Default: 20." }),
    min_concurrency: z
      .number()
      .int()
      .min(0)
      .max(UINT32_MAX)
      .prefault(3)
      .meta({ description: "Retries in flight allowed whatever the percentage gives (so a quiet upstream can still retry). Default: 3." }),
  })
  .meta({ description: "A retry budget: limits retries in flight to a share of the traffic, instead of max_retries." });

const circuitBreakers = z
  .strictObject({
    max_connections: limit("Most connections to the upstream (Envoy: 1024)."),
    max_pending_requests: limit("Most requests waiting for a connection (Envoy: 1024)."),
    max_requests: limit("Most requests in flight (Envoy: 1024)."),
    max_retries: limit("Most retries in flight (Envoy: 3)."),
    retry_budget: retryBudget.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.max_retries !== null && c.retry_budget !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["retry_budget"],
        message: "Envoy ignores max_retries when a retry budget is set: give one of them",
        input: c.retry_budget,
      });
  })
  .transform(
    (c): CircuitBreakersModel => ({
      maxConnections: c.max_connections,
      maxPendingRequests: c.max_pending_requests,
      maxRequests: c.max_requests,
      maxRetries: c.max_retries,
      retryBudget: c.retry_budget ? { percent: c.retry_budget.percent, minConcurrency: c.retry_budget.min_concurrency } : null,
    }),
  )
  .meta({ description: "Limits beyond which Envoy fails requests fast instead of queueing them." });

/** The consistent-hash policies: the only ones with something to hash on (hash_on). */
export const HASH_LB_POLICIES: readonly LbPolicy[] = ["ring_hash", "maglev"];

const HASH_ON_KINDS = ["header", "cookie", "query", "source_ip"] as const;

const hashOn = z
  .strictObject({
    header: headerName
      .optional()
      .meta({ description: "Hash on this request header's value (a request without it goes to a random endpoint)." }),
    cookie: z.string().min(1).optional().meta({
      description:
        "Hash on this cookie's value. The cookie must already be set (the gateway never sets one); a request without it goes to a random endpoint.",
    }),
    query: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "Hash on this query parameter's value (a request without it goes to a random endpoint)." }),
    source_ip: z.literal(true).optional().meta({ description: "Hash on the client's IP address (the downstream connection's)." }),
  })
  .superRefine(exactlyOne(HASH_ON_KINDS), ALSO_WITH_OTHER_ISSUES)
  .transform((h): HashOnModel => {
    if (h.header !== undefined) return { kind: "header", name: h.header };
    if (h.cookie !== undefined) return { kind: "cookie", name: h.cookie };
    if (h.query !== undefined) return { kind: "query", name: h.query };
    return { kind: "source_ip" };
  })
  .meta({
    description:
      "What lb: ring_hash or maglev hashes on, so requests with the same value reach the same endpoint: exactly one of header, cookie, query, source_ip. Default with those policies: source_ip: true.",
  });

export const upstreamSchema = z
  .strictObject({
    name: resourceName("Unique name; routes refer to it."),
    endpoints: z.array(endpoint).min(1).meta({ description: 'Where to send requests: "host:port" strings or {host, port, weight} maps.' }),
    protocol: z.enum(["http1", "http2", "grpc"]).prefault("http1").meta({ description: "Protocol spoken to the endpoints." }),
    lb: z
      .enum(["round_robin", "least_request", "random", "ring_hash", "maglev"])
      .prefault("round_robin")
      .meta({ description: "Load-balancing policy." }),
    hash_on: hashOn.optional(),
    connect_timeout: duration("Time allowed to open a connection.", { positive: true }).prefault("5s"),
    tls: tls.optional(),
    health_check: healthCheck.optional(),
    outlier_detection: outlierDetection.optional(),
    circuit_breakers: circuitBreakers.optional(),
  })
  .superRefine((u, ctx) => {
    if (u.hash_on !== undefined && !HASH_LB_POLICIES.includes(u.lb)) {
      ctx.addIssue({
        code: "custom",
        message: `hash_on needs lb: ring_hash or maglev (lb is ${u.lb}, which hashes nothing)`,
        input: u,
        path: ["hash_on"],
      });
    }
  })
  .meta({ description: "A backend service: a set of endpoints and how to reach them." });

export type UpstreamInput = z.output<typeof upstreamSchema>;
