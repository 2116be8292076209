// What `npm run bench` measures. Each scenario is one listener of the Envoy under test (all
// proxying to the same upstream), so every scenario shares process, workers and upstream, and
// the baseline is measured in the same run, interleaved with the others.
import { createSign, generateKeyPairSync } from "node:crypto";
import { filterWasm, fixtureWasm, wasmHttpFilter, type Json } from "../test/support/index.js";

export interface Scenario {
  name: string;
  description: string;
  /** HTTP filters before the router; null means "no Envoy at all: wrk hits the upstream". */
  filters: Json[] | null;
  /** Built Wasm modules this scenario loads (for the size column). */
  modules: string[];
  /** Gauge (in /stats) with the VM's linear memory, for Wasm scenarios. */
  memoryGauge?: string;
  baseline?: boolean;
}

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

export function scenarios(): Scenario[] {
  return [
    { name: "upstream-direct", description: "wrk straight to the upstream (no proxy)", filters: null, modules: [] },
    { name: "envoy-baseline", description: "Envoy, router only", filters: [], modules: [], baseline: true },
    {
      name: "wasm-noop",
      description: "Envoy + a Wasm filter that does nothing (the fixed cost of any Wasm filter)",
      filters: [wasmHttpFilter({ file: fixtureWasm("noop"), name: "noop", rootId: "noop" })],
      modules: [],
    },
    {
      name: "header-rewrite",
      description: "Envoy + header-rewrite (3 rules: set/remove/rename/add, templates, response set)",
      filters: [wasmHttpFilter({ file: filterWasm("header-rewrite"), name: "hr", rootId: "header-rewrite", configuration: HEADER_REWRITE_REALISTIC })],
      modules: ["header-rewrite"],
      memoryGauge: "wasmcustom.portico.header_rewrite.bench.vm_memory_bytes",
    },
    {
      name: "rate-limit",
      description: "Envoy + rate-limit, one global bucket with a limit high enough never to trigger",
      filters: [wasmHttpFilter({
        file: filterWasm("rate-limit"), name: "rl", rootId: "rate-limit",
        configuration: { stat_prefix: "bench", rules: [{ name: "global", requests: 1_000_000, period_s: 1, burst: 1_000_000 }] },
      })],
      modules: ["rate-limit"],
      memoryGauge: "wasmcustom.portico.rate_limit.bench.vm_memory_bytes",
    },
    {
      name: "native-local-ratelimit",
      description: "Envoy + native local_ratelimit, same never-triggering bucket",
      filters: [{
        name: "envoy.filters.http.local_ratelimit",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
          stat_prefix: "bench_rl",
          token_bucket: { max_tokens: 1_000_000, tokens_per_fill: 1_000_000, fill_interval: "1s" },
          filter_enabled: { runtime_key: "rl_enabled", default_value: { numerator: 100, denominator: "HUNDRED" } },
          filter_enforced: { runtime_key: "rl_enforced", default_value: { numerator: 100, denominator: "HUNDRED" } },
        },
      }],
      modules: [],
    },
    {
      name: "jwt-auth-rs256",
      description: "Envoy + jwt-auth, RS256, inline JWKS, the same valid token on every request (verified-token cache)",
      filters: [wasmHttpFilter({
        file: filterWasm("jwt-auth"), name: "jwt", rootId: "jwt-auth",
        configuration: {
          stat_prefix: "bench",
          providers: [{ name: "idp", issuer: "https://idp.bench", audiences: ["bench"], jwks: JWT.jwks, claims_to_headers: [{ claim: "sub", header: "x-user" }] }],
          rules: [{ requires: ["idp"] }],
        },
      })],
      modules: ["jwt-auth"],
      memoryGauge: "wasmcustom.portico.jwt_auth.bench.vm_memory_bytes",
    },
    {
      name: "native-jwt-authn-rs256",
      description: "Envoy + native jwt_authn, same key and token (no jwt_cache_config: Envoy's default)",
      filters: [{
        name: "envoy.filters.http.jwt_authn",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
          providers: { idp: { issuer: "https://idp.bench", audiences: ["bench"], local_jwks: { inline_string: JSON.stringify(JWT.jwks) }, claim_to_headers: [{ claim_name: "sub", header_name: "x-user" }] } },
          rules: [{ match: { prefix: "/" }, requires: { provider_name: "idp" } }],
        },
      }],
      modules: [],
    },
    {
      name: "native-jwt-authn-rs256-cached",
      description: "Envoy + native jwt_authn, same key and token with jwt_cache_config (verified-token cache, like ours)",
      filters: [{
        name: "envoy.filters.http.jwt_authn",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
          providers: { idp: { issuer: "https://idp.bench", audiences: ["bench"], local_jwks: { inline_string: JSON.stringify(JWT.jwks) }, claim_to_headers: [{ claim_name: "sub", header_name: "x-user" }], jwt_cache_config: { jwt_cache_size: 1024 } } },
          rules: [{ match: { prefix: "/" }, requires: { provider_name: "idp" } }],
        },
      }],
      modules: [],
    },
  ];
}

/** The request every scenario gets: a path under /api/ so conditional rules match. */
export const BENCH_PATH = "/api/users/42?view=full";
export const BENCH_HEADERS: [string, string][] = [["x-api-key", "k-123"], ["user-agent", "wrk"], ["authorization", `Bearer ${JWT.token}`]];
