// The validated gateway model: what the config loader produces and every later stage consumes.
// Plain data (serialisable, no classes): defaults applied, durations in milliseconds, every
// cross-reference checked, plugin modules resolved to bytes + sha256. Translation is a pure
// function of this model, so two equal models always give equal Envoy resources.

import type { PolicyModel } from "../policies/index.js";

export type HttpProtocol = "http1" | "http2";

export interface GatewayModel {
  listeners: ListenerModel[];
  routes: RouteModel[];
  upstreams: UpstreamModel[];
  /** In chain order: a plugin's position here is its position in every listener's filter chain. */
  plugins: PluginModel[];
  /** Callers known by name (docs/consumers.md); the auth filters' configs carry them. */
  consumers: ConsumerModel[];
  /** `rate_limit_service:`: an external service; null = the one `portico run` supervises. */
  rateLimitService: RateLimitServiceModel | null;
  /**
   * `plugins_in_one_filter` (on by default) where some route has two or more consecutive Portico
   * plugins: the suite module that runs them as one filter (translate/suite.ts). null: every
   * plugin runs in its own filter (the option is off, or no route has such plugins).
   */
  suite: SuiteModel | null;
}

export interface SuiteModel {
  /** filters/suite's build (`<filters dir>/suite.wasm`), named by sha256 like a plugin's module. */
  module: ModuleRef;
}

/** A Wasm module: its sha256 (hex) names it everywhere; the bytes are served by the module server. */
export interface ModuleRef {
  sha256: string;
  path: string;
  size: number;
}

export interface RateLimitServiceModel {
  /** The service's gRPC address (envoy.service.ratelimit.v3.RateLimitService, plaintext HTTP/2). */
  address: { host: string; port: number };
}

export interface ConsumerModel {
  name: string;
  groups: string[];
  metadata: Record<string, string>;
  /** API keys by SHA-256 (hex, lower case): a plain key never gets past the config loader. */
  keys: { id: string; sha256: string }[];
  /** Basic-auth users, the password as the user's htpasswd hash (bcrypt or {SHA}). */
  basic: { username: string; hash: string }[];
  jwt: JwtMappingModel[];
}

/** A verified token from `issuer` that is this consumer: by its `sub`, or by one claim's value. */
export type JwtMappingModel = { issuer: string; subject: string } | { issuer: string; claim: string; value: string };

export interface ListenerModel {
  name: string;
  address: string; // IP literal, default "0.0.0.0"
  port: number;
  /** Protocols offered to clients. TLS listeners advertise them through ALPN. Default both. */
  protocols: HttpProtocol[];
  tls: TlsModel | null;
  /** Envoy's access log of this listener's HTTP requests; null: none (the default). */
  accessLog: AccessLogModel | null;
  /** Proxies in front of the gateway whose X-Forwarded-For entries are trusted (HCM xff_num_trusted_hops); default 0. */
  trustedHops: number;
  /** Edge-safety settings of the connection manager and listener (schema-listener-limits.ts). */
  limits: ListenerLimitsModel;
}

/** Envoy's own settings, durations in milliseconds (0: no limit). */
export interface ListenerLimitsModel {
  headersWithUnderscoresAction: "reject_request" | "drop_header" | "allow";
  pathWithEscapedSlashesAction: "unescape_and_redirect" | "reject_request" | "unescape_and_forward" | "keep_unchanged";
  normalizePath: boolean;
  mergeSlashes: boolean;
  maxRequestHeadersKb: number;
  requestHeadersTimeoutMs: number;
  streamIdleTimeoutMs: number;
  idleTimeoutMs: number;
  perConnectionBufferLimitBytes: number;
  http2: { maxConcurrentStreams: number; initialStreamWindowSize: number; initialConnectionWindowSize: number };
}

/** One line per request, appended by Envoy to `path` (a file on Envoy's host, e.g. /dev/stdout). */
export type AccessLogModel =
  | {
      path: string;
      format: "json";
      /** Field name -> Envoy format string (command operators), in output order; at least one. */
      fields: Record<string, string>;
    }
  | {
      path: string;
      format: "text";
      /** Envoy format string of the line; null: Envoy's default format. */
      template: string | null;
    };

export interface TlsModel {
  /** The first certificate without `sni` is the default; others are picked by SNI. */
  certificates: CertificateModel[];
  minVersion: "1.2" | "1.3"; // default "1.2"
}

export interface CertificateModel {
  /** Name of the SDS secret: stable for the listener and index, so a rotation changes only the secret. */
  secretName: string;
  certPath: string; // absolute
  keyPath: string; // absolute
  /** Server names (exact or "*.example.com") this certificate answers; empty = default chain. */
  sni: string[];
}

/** The request path without its query string. `glob`: "*" within a segment, "**" across, "?" one non-"/" character. */
export type PathMatch = { kind: "prefix" | "exact" | "suffix" | "glob" | "regex"; value: string };

/** Header and query matchers. `present` matches any value, `absent` its absence; regex is RE2, whole value. */
export type ValueMatch =
  | { kind: "exact" | "prefix" | "suffix" | "contains" | "regex"; value: string }
  | { kind: "present" }
  | { kind: "absent" };

export interface NamedMatch {
  name: string;
  match: ValueMatch;
  invert: boolean;
}

export interface RouteModel {
  name: string;
  /** Listener names this route is served on (default: every listener). */
  listeners: string[];
  /** Host names (":authority" without port), exact or "*.example.com"; ["*"] = any host. */
  hosts: string[];
  path: PathMatch; // default prefix "/"
  methods: string[]; // upper case; empty = any
  headers: NamedMatch[];
  query: NamedMatch[];
  rewrite: { kind: "prefix"; value: string } | { kind: "regex"; pattern: string; substitution: string } | null;
  timeoutMs: number | null; // null: Envoy's default (15 s); 0 disables
  /** Stream idle timeout of the route; null: the listener's (5 m); 0 disables both. */
  idleTimeoutMs: number | null;
  retries: RetryModel | null;
  /** One or more upstreams; with several, traffic splits by weight. */
  upstreams: { name: string; weight: number }[];
  /** Plugins enabled on this route: every global plugin plus the route's own, in chain order. */
  plugins: string[];
}

export interface RetryModel {
  attempts: number;
  /** Envoy retry_on conditions, e.g. "5xx", "connect-failure", "reset", "retriable-status-codes". */
  on: string[];
  perTryTimeoutMs: number | null;
  statusCodes: number[];
  /** Exponential back-off between retries; null: Envoy's (25 ms base, 250 ms max). maxMs null: 10 × base. */
  backoff: { baseMs: number; maxMs: number | null } | null;
}

export type LbPolicy = "round_robin" | "least_request" | "random" | "ring_hash" | "maglev";

/** What a consistent-hash policy (ring_hash, maglev) hashes on to pick an endpoint. */
export type HashOnModel =
  | { kind: "header"; name: string }
  /** An existing cookie only: Envoy does not generate one (no ttl). */
  | { kind: "cookie"; name: string }
  | { kind: "query"; name: string }
  | { kind: "source_ip" };

export interface EndpointModel {
  host: string;
  port: number;
  weight: number;
}

export interface UpstreamModel {
  name: string;
  /** "static": every endpoint host is an IP literal, served by EDS (endpoint edits go out as EDS alone).
   *  "dns": at least one host name, resolved by Envoy (STRICT_DNS, endpoints inline in the cluster). */
  discovery: "static" | "dns";
  endpoints: EndpointModel[];
  protocol: "http1" | "http2" | "grpc";
  lb: LbPolicy;
  /** Set exactly when lb is ring_hash or maglev (default: source_ip). */
  hashOn: HashOnModel | null;
  connectTimeoutMs: number; // default 5000
  healthCheck: HealthCheckModel | null;
  outlierDetection: OutlierDetectionModel | null;
  circuitBreakers: CircuitBreakersModel | null;
  /** TLS to the upstream (SNI = sni ?? first endpoint host). */
  tls: UpstreamTlsModel | null;
}

/** Where the CA certificates that verify an upstream's certificate come from. */
export type UpstreamTrust =
  /** The config's CA bundle (`ca:`), read by the control plane and sent over SDS as `secretName`. */
  | { kind: "ca"; path: string; secretName: string }
  /** The system trust store at `path`, read by Envoy itself. */
  | { kind: "system"; path: string }
  /** insecure_skip_verify: any certificate is accepted. */
  | { kind: "none" };

export interface UpstreamTlsModel {
  /** Server name sent; null: the first endpoint's host (none when that is an IP address). */
  sni: string | null;
  trust: UpstreamTrust;
}

export interface HealthCheckModel {
  path: string;
  /** Host header of the probe; null = the upstream's name. */
  host: string | null;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectedStatuses: { start: number; end: number }[]; // half-open [start, end); default [200, 400)
}

export interface OutlierDetectionModel {
  consecutive5xx: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
}

export interface CircuitBreakersModel {
  maxConnections: number | null;
  maxPendingRequests: number | null;
  maxRequests: number | null;
  maxRetries: number | null;
  /** Retries in flight as a share of requests in flight (replaces maxRetries in Envoy). */
  retryBudget: { percent: number; minConcurrency: number } | null;
}

/** A plugin: a Wasm filter (config over ECDS) or a native policy (an Envoy filter, config per route). */
export type PluginModel = WasmPluginModel | NativePluginModel;

export interface WasmPluginModel {
  kind: "wasm";
  name: string;
  /** A suite filter ("jwt-auth", "rate-limit", "header-rewrite") or "custom" for a user module. */
  filter: string;
  /** proxy-wasm root_id the module expects (suite filters: their name). */
  rootId: string;
  module: ModuleRef;
  /** The JSON configuration handed to the filter (serialised exactly once, here). */
  config: string;
  /** Enabled on every route. */
  global: boolean;
}

/** `filter: cors | ip-restriction | request-size`: run by Envoy's own filter (policies/). */
export interface NativePluginModel {
  kind: "native";
  name: string;
  /** The policy and its validated config; `policy.filter` is the `filter:` name. */
  policy: PolicyModel;
  /** Enabled on every route. */
  global: boolean;
}
