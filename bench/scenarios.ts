// What `npm run bench` measures. Each scenario is one listener of the Envoy under test (all
// proxying to the same upstream), so every scenario shares process, workers and upstream, and
// the baseline is measured in the same run, interleaved with the others.
//
// Families line up implementations of one job: ours (AssemblyScript), the same behaviour in Go
// (bench/go, upstream Go GOOS=wasip1) and in Rust (bench/rust, the proxy-wasm SDK,
// wasm32-wasip1), and Envoy's native C++ filter with the same config.
import { createHash, createSign, generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import {
  filterWasm,
  fixtureWasm,
  nativeRateLimitFilter,
  repoRoot,
  wasmHttpFilter,
  type Json,
  type RateLimitDomainConfig,
} from "../test/support/index.js";

export type Implementation = "reference" | "ours" | "go" | "rust" | "native";

/** One Wasm filter of a scenario: the module, its root id and its plugin configuration. */
export interface WasmPlugin {
  module: string;
  rootId: string;
  config?: Json;
}

export interface Scenario {
  name: string;
  description: string;
  /** Which job the scenario does (the chart groups by it) and who implements it. */
  family: "reference" | "header-rewrite" | "rate-limit" | "jwt-auth" | "key-auth" | "chain" | "basic-auth";
  impl: Implementation;
  /** HTTP filters before the router; null means "no Envoy at all: wrk hits the upstream". */
  filters: Json[] | null;
  /**
   * The request headers wrk sends to this scenario instead of BENCH_HEADERS, for a filter that
   * reads a credential of its own (basic-auth's Authorization: Basic); see benchHeaders().
   */
  headers?: [string, string][];
  /** Routes of the scenario's listener, when the filters need route-level config. */
  routes?: Json[];
  /** Wasm modules this scenario loads (absolute paths; the size column adds them up). */
  modules: string[];
  /** Its Wasm filters in chain order, as the emulator runs them for the cost counts (bench/cost.ts). */
  plugins?: WasmPlugin[];
  /** Gauges (in /stats) with the linear memory of each Wasm VM of the scenario (added up). */
  memoryGauges: string[];
  baseline?: boolean;
  /**
   * The domain this scenario's filters ask the rate limit service for: run.ts then starts Redis
   * and envoyproxy/ratelimit with every selected scenario's domain, and gives the gateway the
   * cluster RATE_LIMIT_SERVICE_CLUSTER to reach it.
   */
  rateLimitService?: RateLimitDomainConfig;
  /**
   * The scenario whose header changes this one must reproduce in the pre-run check; by default
   * ours of the same family (none for "ours" and "reference" scenarios).
   */
  sameAs?: string;
}

/** dist/bench/go-<name>.wasm, built by bench/go/build.sh. */
export const goWasm = (name: string): string => join(repoRoot, "dist", "bench", `go-${name}.wasm`);

/** dist/bench/rust-<name>.wasm, built by bench/rust/build.sh. */
export const rustWasm = (name: string): string => join(repoRoot, "dist", "bench", `rust-${name}.wasm`);

export const HEADER_REWRITE_REALISTIC = {
  stat_prefix: "bench",
  rules: [
    {
      name: "every-request",
      request: {
        remove: ["x-internal-debug"],
        set: { "x-gateway": "portico", "x-client-ip": "${source.ip}", "x-forwarded-path": "${request.path}" },
      },
      response: { set: { "x-served-by": "portico" }, remove: ["x-envoy-upstream-service-time"] },
    },
    {
      name: "api",
      match: { path: { prefix: "/api/" }, methods: ["GET", "POST"] },
      request: { rename: { "x-api-key": "x-legacy-key" }, add: { "x-api-version": "2" } },
    },
    {
      name: "debug",
      match: { headers: [{ name: "x-debug", exact: "1" }] },
      response: { set: { "x-debug-path": "${request.path}" } },
    },
  ],
};

/** Per client IP, a limit high enough never to trigger: what is measured is the bookkeeping. */
export const RATE_LIMIT_REALISTIC = {
  stat_prefix: "bench",
  rules: [{ name: "per_client", requests: 1_000_000, period_s: 1, burst: 1_000_000, key: [{ client_ip: true }] }],
};

// --- global rate limits (issue #16): the same never-triggering limit per client IP, decided by
// envoyproxy/ratelimit with its counters in Redis, asked by ours (a global rule) and by Envoy's
// native ratelimit filter, each in a domain of its own. Every request is one ShouldRateLimit call
// and one Redis INCRBY: what is measured is the round trip's cost to the gateway.

/** The gateway's cluster for the rate limit service (run.ts adds it when a scenario needs it). */
export const RATE_LIMIT_SERVICE_CLUSTER = "bench_ratelimit";
const NEVER_PER_SECOND = { unit: "second" as const, requests_per_unit: 1_000_000_000 };

export const RATE_LIMIT_GLOBAL = {
  stat_prefix: "bench_global",
  global: { cluster: RATE_LIMIT_SERVICE_CLUSTER, domain: "bench", timeout: "1s" },
  rules: [{ name: "per_client", scope: "global", requests: 1_000_000, period: "1s", key: [{ client_ip: true }] }],
};

/** What our rule sends: ("rule", "per_client"), ("client_ip", <address>). */
const GLOBAL_DOMAIN: RateLimitDomainConfig = {
  domain: "bench",
  descriptors: [{ key: "rule", value: "per_client", descriptors: [{ key: "client_ip", rate_limit: NEVER_PER_SECOND }] }],
};

/** The native filter's descriptor for the same limit: ("rule", "per_client"), ("remote_address", <address>). */
const NATIVE_GLOBAL_DOMAIN: RateLimitDomainConfig = {
  domain: "bench-native",
  descriptors: [{ key: "rule", value: "per_client", descriptors: [{ key: "remote_address", rate_limit: NEVER_PER_SECOND }] }],
};

function nativeGlobalRoutes(cluster: string): Json[] {
  const actions = [{ generic_key: { descriptor_key: "rule", descriptor_value: "per_client" } }, { remote_address: {} }];
  return [{ match: { prefix: "/" }, route: { cluster, rate_limits: [{ actions }] } }];
}

/** One RSA key and one RS256 token for the JWT scenarios (ours and Envoy's jwt_authn). */
function jwtMaterial(): { jwks: object; token: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench", alg: "RS256", use: "sig" };
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: "RS256", kid: "bench", typ: "JWT" })}.${b64({ iss: "https://idp.bench", aud: "bench", sub: "user-42", exp: now + 86400, iat: now })}`;
  const sig = createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url");
  return { jwks: { keys: [jwk] }, token: `${input}.${sig}` };
}

export const JWT = jwtMaterial();

const JWT_OURS_CONFIG = {
  stat_prefix: "bench",
  providers: [
    {
      name: "idp",
      issuer: "https://idp.bench",
      audiences: ["bench"],
      jwks: JWT.jwks,
      claims_to_headers: [{ claim: "sub", header: "x-user" }],
    },
  ],
  rules: [{ requires: ["idp"] }],
};

/**
 * key-auth: the bench request's x-api-key (BENCH_HEADERS) is the key of consumer "bench", one of
 * 1,000 consumers with a key each, so both filters take the success path through a realistic
 * table: identity headers stripped, digest looked up, identity and x-consumer-name set, key removed.
 */
const BENCH_API_KEY = "k-123";
const KEY_AUTH_CONSUMERS = 1000;
const benchKey = (i: number) => (i === 0 ? BENCH_API_KEY : `bench-key-${i}`);
const KEY_AUTH_OURS_CONFIG = {
  stat_prefix: "bench",
  consumers: Array.from({ length: KEY_AUTH_CONSUMERS }, (_, i) => ({
    name: i === 0 ? "bench" : `consumer-${i}`,
    keys: [{ id: `key-${i}`, sha256: createHash("sha256").update(benchKey(i)).digest("hex") }],
  })),
};

const T = {
  apiKeyAuth: "type.googleapis.com/envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth",
  localRatelimit: "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
  jwtAuthn: "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
  headerMutation: "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
  headerMutationPerRoute: "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute",
};

// --- ours, Go and Rust: one Wasm filter per plugin; vm_id per scenario, so no two scenarios share a
// VM and each VM's memory gauge is its own (stat_prefix names the gauge).
type WasmFilter = "header-rewrite" | "rate-limit" | "jwt-auth" | "key-auth" | "basic-auth";
type Plugin = [filter: WasmFilter, config: Json & { stat_prefix: string }];

/** A scenario of Wasm plugins: its filters, their modules and their VM memory gauges. */
const WASM_IMPLS = {
  ours: { file: filterWasm, metrics: "portico" },
  go: { file: goWasm, metrics: "go" },
  rust: { file: rustWasm, metrics: "rust" },
};

function wasmScenario(
  s: Omit<Scenario, "filters" | "modules" | "memoryGauges"> & { impl: keyof typeof WASM_IMPLS },
  plugins: Plugin[],
): Scenario {
  const { file, metrics } = WASM_IMPLS[s.impl];
  return {
    ...s,
    filters: plugins.map(([filter, config]) =>
      wasmHttpFilter({
        file: file(filter),
        name: `${s.name}.${filter}`,
        vmId: `${s.name}.${filter}`,
        rootId: filter,
        configuration: config,
      }),
    ),
    modules: plugins.map(([filter]) => file(filter)),
    plugins: plugins.map(([filter, config]) => ({ module: file(filter), rootId: filter, config })),
    memoryGauges: plugins.map(
      ([filter, config]) => `wasmcustom.${metrics}.${filter.replace(/-/g, "_")}.${config.stat_prefix}.vm_memory_bytes`,
    ),
  };
}

/**
 * The plugins of a chain in one suite filter (filters/suite): one Wasm filter and one VM running
 * them all, so the chain pays Envoy's fixed price per Wasm filter once. Its VM's memory is
 * reported by every member; the first one's gauge is the VM's.
 */
function suiteScenario(s: Omit<Scenario, "filters" | "modules" | "memoryGauges" | "impl">, plugins: Plugin[]): Scenario {
  const file = filterWasm("suite");
  // Its own stat prefix: the members' metrics (the VM-memory gauge among them) must not share
  // names with the same filters' standalone rows, or Envoy would mix the two rows' values.
  const members = plugins.map(([filter, c]): Plugin => [filter, { ...c, stat_prefix: s.name.replace(/-/g, "_") }]);
  const config = { plugins: members.map(([filter, c]) => ({ filter, config: c })) };
  const [first, firstConfig] = members[0]!;
  return {
    ...s,
    impl: "ours",
    filters: [wasmHttpFilter({ file, name: `${s.name}.suite`, vmId: s.name, rootId: "suite", configuration: config })],
    modules: [file],
    plugins: [{ module: file, rootId: "suite", config }],
    memoryGauges: [`wasmcustom.portico.${first.replace(/-/g, "_")}.${firstConfig.stat_prefix}.vm_memory_bytes`],
  };
}

// --- native equivalents
const nativeLocalRatelimit = (statPrefix: string): Json => ({
  name: "envoy.filters.http.local_ratelimit",
  typed_config: {
    "@type": T.localRatelimit,
    stat_prefix: statPrefix,
    token_bucket: { max_tokens: 1_000_000, tokens_per_fill: 1_000_000, fill_interval: "1s" },
    filter_enabled: { runtime_key: "rl_enabled", default_value: { numerator: 100, denominator: "HUNDRED" } },
    filter_enforced: { runtime_key: "rl_enforced", default_value: { numerator: 100, denominator: "HUNDRED" } },
  },
});

const nativeJwtAuthn = (cached: boolean): Json => ({
  name: "envoy.filters.http.jwt_authn",
  typed_config: {
    "@type": T.jwtAuthn,
    providers: {
      idp: {
        issuer: "https://idp.bench",
        audiences: ["bench"],
        local_jwks: { inline_string: JSON.stringify(JWT.jwks) },
        claim_to_headers: [{ claim_name: "sub", header_name: "x-user" }],
        ...(cached ? { jwt_cache_config: { jwt_cache_size: 1024 } } : {}),
      },
    },
    rules: [{ match: { prefix: "/" }, requires: { provider_name: "idp" } }],
  },
});

/** Envoy's api_key_auth with the same keys (in plain: native holds keys, not digests), the consumer's name to the upstream, the key removed. */
const nativeApiKeyAuth = (): Json => ({
  name: "envoy.filters.http.api_key_auth",
  typed_config: {
    "@type": T.apiKeyAuth,
    credentials: Array.from({ length: KEY_AUTH_CONSUMERS }, (_, i) => ({ key: benchKey(i), client: i === 0 ? "bench" : `consumer-${i}` })),
    key_sources: [{ header: "x-api-key" }],
    forwarding: { header: "x-consumer-name", hide_credentials: true },
  },
});

const SET = "OVERWRITE_IF_EXISTS_OR_ADD";
const append = (key: string, value: string, action = SET) => ({ append: { header: { key, value }, append_action: action } });

/**
 * HEADER_REWRITE_REALISTIC with Envoy's header_mutation. The rule for every request is the
 * filter-level config; the conditional rules become routes (path prefix + method, x-debug
 * header) carrying per-route mutations, which is how the native filter expresses conditions.
 * A rename is "copy, then remove" (an absent or empty source adds nothing, as in ours).
 */
const nativeHeaderMutation = (): Json => ({
  name: "envoy.filters.http.header_mutation",
  typed_config: {
    "@type": T.headerMutation,
    mutations: {
      request_mutations: [
        { remove: "x-internal-debug" },
        append("x-gateway", "portico"),
        append("x-client-ip", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
        append("x-forwarded-path", "%REQ(:PATH)%"),
      ],
      response_mutations: [append("x-served-by", "portico"), { remove: "x-envoy-upstream-service-time" }],
    },
  },
});

const API_MUTATIONS = {
  request_mutations: [
    append("x-legacy-key", "%REQ(x-api-key)%", "APPEND_IF_EXISTS_OR_ADD"),
    { remove: "x-api-key" },
    append("x-api-version", "2", "APPEND_IF_EXISTS_OR_ADD"),
  ],
};
const DEBUG_MUTATIONS = { response_mutations: [append("x-debug-path", "%REQ(:PATH)%")] };

function nativeHeaderMutationRoutes(cluster: string): Json[] {
  const perRoute = (m: Json) => ({ "envoy.filters.http.header_mutation": { "@type": T.headerMutationPerRoute, mutations: m } });
  const api = { prefix: "/api/", headers: [{ name: ":method", string_match: { safe_regex: { regex: "GET|POST" } } }] };
  const debug = { name: "x-debug", string_match: { exact: "1" } };
  return [
    {
      match: { ...api, headers: [...api.headers, debug] },
      route: { cluster },
      typed_per_filter_config: perRoute({ ...API_MUTATIONS, ...DEBUG_MUTATIONS }),
    },
    { match: api, route: { cluster }, typed_per_filter_config: perRoute(API_MUTATIONS) },
    { match: { prefix: "/", headers: [debug] }, route: { cluster }, typed_per_filter_config: perRoute(DEBUG_MUTATIONS) },
    { match: { prefix: "/" }, route: { cluster } },
  ];
}

// --- basic-auth (issue #15): ours with bcrypt users, the cached path (the same valid credential on
// every request: one bcrypt per worker, then cache hits), beside native basic_auth with the same
// users as {SHA} (the only format it reads). 1,000 users, so both look the caller up in a
// realistic table; the bench request logs in as the first.
const BASIC_AUTH_USERS = 1000;
const BASIC_USER = "bench";
const BASIC_PASSWORD = "bench-password";
/** htpasswd -nbB -C 10 bench bench-password (the other users share it: only their names are looked up). */
const BASIC_BCRYPT = "$2b$10$0Tks/0A2mW7QNjYBHPYYGuziH1tSoXAcMQb.yPABtBJkbVaevPUaC";
const basicUser = (i: number) => (i === 0 ? BASIC_USER : `user-${i}`);
const basicSha = (i: number) =>
  `{SHA}${createHash("sha1")
    .update(i === 0 ? BASIC_PASSWORD : `password-${i}`)
    .digest("base64")}`;

export const BASIC_AUTH_CONFIG = {
  stat_prefix: "bench",
  consumers: Array.from({ length: BASIC_AUTH_USERS }, (_, i) => ({
    name: i === 0 ? "bench" : `consumer-${i}`,
    basic: [{ username: basicUser(i), hash: BASIC_BCRYPT }],
  })),
};

/** BENCH_HEADERS with the Bearer token replaced by the first user's Basic credentials. */
const basicAuthHeaders = (): [string, string][] => [
  ...BENCH_HEADERS.filter(([name]) => name !== "authorization"),
  ["authorization", `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString("base64")}`],
];

const nativeBasicAuth = (): Json => ({
  name: "envoy.filters.http.basic_auth",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth",
    users: { inline_string: Array.from({ length: BASIC_AUTH_USERS }, (_, i) => `${basicUser(i)}:${basicSha(i)}`).join("\n") },
  },
});

function basicAuthScenarios(): Scenario[] {
  return [
    {
      ...wasmScenario(
        {
          name: "basic-auth",
          family: "basic-auth",
          impl: "ours",
          description:
            "ours: basic-auth, 1,000 bcrypt (cost 10) users, the same valid credential on every request (verified-credential cache)",
        },
        [["basic-auth", BASIC_AUTH_CONFIG]],
      ),
      headers: basicAuthHeaders(),
    },
    {
      name: "native-basic-auth",
      family: "basic-auth",
      impl: "native",
      description: "native basic_auth, the same 1,000 users as {SHA} (its only format: one SHA-1 per request, no cache)",
      filters: [nativeBasicAuth()],
      modules: [],
      memoryGauges: [],
      headers: basicAuthHeaders(),
    },
  ];
}

export function scenarios(cluster = "upstream"): Scenario[] {
  const hrChain = { ...HEADER_REWRITE_REALISTIC, stat_prefix: "chain" };
  const rlChain = { ...RATE_LIMIT_REALISTIC, stat_prefix: "chain" };
  const jwtChain = { ...JWT_OURS_CONFIG, stat_prefix: "chain" };
  return [
    {
      name: "upstream-direct",
      family: "reference",
      impl: "reference",
      description: "wrk straight to the upstream (no proxy)",
      filters: null,
      modules: [],
      memoryGauges: [],
    },
    {
      name: "envoy-baseline",
      family: "reference",
      impl: "reference",
      description: "Envoy, router only",
      filters: [],
      modules: [],
      memoryGauges: [],
      baseline: true,
    },
    {
      name: "wasm-noop",
      family: "reference",
      impl: "reference",
      description: "Envoy + a Wasm filter that does nothing (the fixed cost of any Wasm filter)",
      filters: [wasmHttpFilter({ file: fixtureWasm("noop"), name: "noop", vmId: "wasm-noop", rootId: "noop" })],
      modules: [fixtureWasm("noop")],
      plugins: [{ module: fixtureWasm("noop"), rootId: "noop" }],
      memoryGauges: [],
    },
    {
      name: "rust-noop",
      family: "reference",
      impl: "rust",
      description: "Envoy + a Rust proxy-wasm SDK filter that does nothing (bench/rust/noop: the SDK's fixed cost)",
      filters: [wasmHttpFilter({ file: rustWasm("noop"), name: "rust-noop", vmId: "rust-noop", rootId: "noop" })],
      modules: [rustWasm("noop")],
      plugins: [{ module: rustWasm("noop"), rootId: "noop" }],
      memoryGauges: [],
      sameAs: "wasm-noop",
    },
    wasmScenario(
      {
        name: "header-rewrite",
        family: "header-rewrite",
        impl: "ours",
        description: "ours: header-rewrite, 3 rules (set/remove/rename/add, templates, response set/remove)",
      },
      [["header-rewrite", HEADER_REWRITE_REALISTIC]],
    ),
    wasmScenario(
      {
        name: "go-header-rewrite",
        family: "header-rewrite",
        impl: "go",
        description: "Go (wasip1): the same rules and behaviour (bench/go/header-rewrite)",
      },
      [["header-rewrite", HEADER_REWRITE_REALISTIC]],
    ),
    wasmScenario(
      {
        name: "rust-header-rewrite",
        family: "header-rewrite",
        impl: "rust",
        description: "Rust (proxy-wasm SDK, wasm32-wasip1): the same rules and behaviour (bench/rust/header-rewrite)",
      },
      [["header-rewrite", HEADER_REWRITE_REALISTIC]],
    ),
    {
      name: "native-header-mutation",
      family: "header-rewrite",
      impl: "native",
      description: "native header_mutation: the same mutations; conditional rules as routes with per-route mutations",
      filters: [nativeHeaderMutation()],
      routes: nativeHeaderMutationRoutes(cluster),
      modules: [],
      memoryGauges: [],
    },
    wasmScenario(
      {
        name: "rate-limit",
        family: "rate-limit",
        impl: "ours",
        description: "ours: rate-limit, a bucket per client IP in shared data (CAS), a limit that never triggers",
      },
      [["rate-limit", RATE_LIMIT_REALISTIC]],
    ),
    wasmScenario(
      {
        name: "go-rate-limit",
        family: "rate-limit",
        impl: "go",
        description: "Go (wasip1): the same per-client-IP buckets in shared data with CAS (bench/go/rate-limit)",
      },
      [["rate-limit", RATE_LIMIT_REALISTIC]],
    ),
    wasmScenario(
      {
        name: "rust-rate-limit",
        family: "rate-limit",
        impl: "rust",
        description: "Rust (proxy-wasm SDK, wasm32-wasip1): the same per-client-IP buckets in shared data with CAS (bench/rust/rate-limit)",
      },
      [["rate-limit", RATE_LIMIT_REALISTIC]],
    ),
    {
      ...wasmScenario(
        {
          name: "rate-limit-global",
          family: "rate-limit",
          impl: "ours",
          description:
            "ours: rate-limit, a global rule per client IP (never triggers): one ShouldRateLimit call per request to envoyproxy/ratelimit + Redis on this machine",
        },
        [["rate-limit", RATE_LIMIT_GLOBAL]],
      ),
      rateLimitService: GLOBAL_DOMAIN,
    },
    {
      name: "native-ratelimit",
      family: "rate-limit",
      impl: "native",
      description:
        "native ratelimit (global) against the same service and Redis: the same limit per client IP (route rate_limits: generic_key + remote_address)",
      filters: [nativeRateLimitFilter({ domain: NATIVE_GLOBAL_DOMAIN.domain, cluster: RATE_LIMIT_SERVICE_CLUSTER, timeout: "1s" })],
      routes: nativeGlobalRoutes(cluster),
      rateLimitService: NATIVE_GLOBAL_DOMAIN,
      modules: [],
      memoryGauges: [],
    },
    {
      name: "native-local-ratelimit",
      family: "rate-limit",
      impl: "native",
      description: "native local_ratelimit, one bucket (shared by workers) with the same never-triggering limit",
      filters: [nativeLocalRatelimit("bench_rl")],
      modules: [],
      memoryGauges: [],
    },
    wasmScenario(
      {
        name: "jwt-auth-rs256",
        family: "jwt-auth",
        impl: "ours",
        description: "ours: jwt-auth, RS256, inline JWKS, the same valid token on every request (verified-token cache)",
      },
      [["jwt-auth", JWT_OURS_CONFIG]],
    ),
    {
      name: "native-jwt-authn-rs256",
      family: "jwt-auth",
      impl: "native",
      description: "native jwt_authn, same key and token, no jwt_cache_config (Envoy's default: verifies every request)",
      filters: [nativeJwtAuthn(false)],
      modules: [],
      memoryGauges: [],
    },
    {
      name: "native-jwt-authn-cached",
      family: "jwt-auth",
      impl: "native",
      description: "native jwt_authn with jwt_cache_config (a verified-token cache, like ours)",
      filters: [nativeJwtAuthn(true)],
      modules: [],
      memoryGauges: [],
    },
    wasmScenario(
      {
        name: "key-auth",
        family: "key-auth",
        impl: "ours",
        description: "ours: key-auth, the x-api-key header among 1,000 consumers' keys (SHA-256 digest lookup), identity set, key removed",
      },
      [["key-auth", KEY_AUTH_OURS_CONFIG]],
    ),
    {
      name: "native-api-key-auth",
      family: "key-auth",
      impl: "native",
      description: "native api_key_auth, the same 1,000 keys (in plain), client name to x-consumer-name, key removed",
      filters: [nativeApiKeyAuth()],
      modules: [],
      memoryGauges: [],
    },
    wasmScenario(
      {
        name: "chain-ours",
        family: "chain",
        impl: "ours",
        description: "ours chained: jwt-auth RS256 -> rate-limit (per client IP, never triggers) -> header-rewrite",
      },
      [
        ["jwt-auth", jwtChain],
        ["rate-limit", rlChain],
        ["header-rewrite", hrChain],
      ],
    ),
    suiteScenario(
      {
        name: "chain-suite",
        family: "chain",
        description: "ours in one suite filter (one VM): jwt-auth RS256 -> rate-limit -> header-rewrite (same configs as above)",
      },
      [
        ["jwt-auth", jwtChain],
        ["rate-limit", rlChain],
        ["header-rewrite", hrChain],
      ],
    ),
    {
      name: "chain-native",
      family: "chain",
      impl: "native",
      description: "native chained: jwt_authn (cached) -> local_ratelimit -> header_mutation (same configs as above)",
      filters: [nativeJwtAuthn(true), nativeLocalRatelimit("chain_rl"), nativeHeaderMutation()],
      routes: nativeHeaderMutationRoutes(cluster),
      modules: [],
      memoryGauges: [],
    },
    ...basicAuthScenarios(),
  ];
}

/** The request every scenario gets: a path under /api/ so conditional rules match. */
export const BENCH_PATH = "/api/users/42?view=full";
export const BENCH_HEADERS: [string, string][] = [
  ["x-api-key", BENCH_API_KEY],
  ["user-agent", "wrk"],
  ["authorization", `Bearer ${JWT.token}`],
];

/** What wrk sends to a scenario: its own headers, or BENCH_HEADERS. */
export const benchHeaders = (s: Pick<Scenario, "headers">): [string, string][] => s.headers ?? BENCH_HEADERS;
