// Example plugin configs per suite filter, with the verdict the filter gives them. The schema
// agreement test runs each through the built filter's configure step and through the filter's
// JSON Schema (filters/<name>/config.schema.json): both must agree, except the cases marked
// `schemaCannot`, which the filter refuses for a reason no JSON Schema can state (the schema
// accepts them; the gateway still refuses them when it loads the file), and `schemaStricter`,
// which the filter accepts and the schema flags on purpose.

export interface Example {
  what: string;
  config: unknown;
  /** The filter's verdict. */
  ok: boolean;
  /** Refused by the filter, accepted by the schema, and why a schema cannot say so. */
  schemaCannot?: string;
  /** Accepted by the filter, flagged by the schema, and why. */
  schemaStricter?: string;
  /** The gateway schema's verdict when it differs: gateway.yaml leaves out what the gateway sets (rate-limit global.cluster, global.domain). */
  inGateway?: boolean;
}

const key = { kty: "oct", kid: "h", alg: "HS256", k: "cG9ydGljby1nb2xkZW4tdGVzdC1rZXktMzItYnl0ZXMh" };
const provider = { name: "idp", issuer: "https://idp.example.com", jwks: { keys: [key] } };
const remote = { cluster: "idp_jwks", path: "/.well-known/jwks.json" };
const jwt = (p: object = {}, rules: unknown[] = [{ match: {}, requires: ["idp"] }], top: object = {}) => ({
  providers: [{ ...provider, ...p }],
  rules,
  ...top,
});
const jwtRule = (match: unknown) => jwt({}, [{ match, requires: ["idp"] }]);

/** A match using every part of the vocabulary. */
const everyKind = {
  path: { glob: "/api/*/orders/**" },
  methods: ["GET", "POST"],
  headers: [
    { name: "X-Env", regex: "prod|staging" },
    { name: "x-debug", present: false },
    { name: "x-tenant", suffix: "-eu", invert: true },
    { name: "user-agent", contains: "curl" },
    { name: "x-a", exact: "1" },
    { name: "x-b", prefix: "v" },
  ],
  query: [
    { name: "format", exact: "json" },
    { name: "draft", present: true, invert: true },
    { name: "q", contains: "a.b" },
  ],
  routes: ["api"],
  consumers: ["alice", "bob-2"],
  consumer_groups: ["gold", "free_tier"],
};

export const JWT_AUTH: Example[] = [
  { what: "one provider, one rule", config: jwt(), ok: true },
  { what: "the whole match vocabulary", config: jwtRule(everyKind), ok: true },
  { what: "each path kind: exact", config: jwtRule({ path: { exact: "/a" } }), ok: true },
  { what: "each path kind: prefix", config: jwtRule({ path: { prefix: "/a/" } }), ok: true },
  { what: "each path kind: suffix", config: jwtRule({ path: { suffix: ".json" } }), ok: true },
  { what: "each path kind: regex", config: jwtRule({ path: { regex: "/v[0-9]+/.*" } }), ok: true },
  {
    what: "remote JWKS with duration keys",
    config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout: "1500ms", refresh: "5m", min_refresh: 10 } }),
    ok: true,
  },
  {
    what: "remote JWKS with legacy keys",
    config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout_ms: 1500, refresh_s: 300, min_refresh_s: 10 } }),
    ok: true,
  },
  { what: "clock_skew as a duration", config: jwt({ clock_skew: "1m30s" }), ok: true },
  { what: "clock_skew as seconds", config: jwt({ clock_skew: 0 }), ok: true },
  { what: "legacy clock_skew_s", config: jwt({ clock_skew_s: 30 }), ok: true },
  {
    what: "every provider option",
    config: jwt(
      {
        audiences: ["api"],
        algorithms: ["HS256"],
        from: [{ header: "authorization", prefix: "Bearer " }, { query: "access_token" }, { cookie: "jwt" }],
        require_exp: false,
        required_claims: ["sub"],
        claims_to_headers: [{ claim: "sub", header: "x-user" }],
        payload_header: "x-jwt-payload",
        forward_token: true,
        max_token_bytes: 4096,
      },
      [
        { match: { path: { prefix: "/public/" } }, requires: [] },
        { match: {}, requires: ["idp"], allow_missing: true },
      ],
      { stat_prefix: "edge" },
    ),
    ok: true,
  },
  { what: "no rules", config: { providers: [provider] }, ok: false },
  { what: "no providers", config: { providers: [], rules: [{ requires: [] }] }, ok: false },
  { what: "an unknown top-level key", config: jwt({}, undefined, { rule: [] }), ok: false },
  { what: "a misspelt provider key", config: jwt({ isuer: "x" }), ok: false },
  { what: "both jwks and remote_jwks", config: jwt({ remote_jwks: remote }), ok: false },
  { what: "neither jwks nor remote_jwks", config: jwt({ jwks: undefined }), ok: false },
  {
    what: "timeout and timeout_ms together",
    config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout: "2s", timeout_ms: 2000 } }),
    ok: false,
  },
  { what: "clock_skew and clock_skew_s together", config: jwt({ clock_skew: "1m", clock_skew_s: 60 }), ok: false },
  { what: "legacy timeout_ms out of range", config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout_ms: 50 } }), ok: false },
  { what: "timeout in seconds out of range", config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout: 61 } }), ok: false },
  { what: "a duration without a unit", config: jwt({ clock_skew: "5 sec" }), ok: false },
  { what: "a negative duration", config: jwt({ clock_skew: -1 }), ok: false },
  { what: "a legacy key with a fraction", config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout_ms: 1500.5 } }), ok: false },
  { what: "a legacy key as a string", config: jwt({ clock_skew_s: "60" }), ok: false },
  {
    what: "a duration that is not whole milliseconds",
    config: jwt({ clock_skew: "1.5ms" }),
    ok: false,
    schemaCannot: "whole milliseconds of a duration string (its pattern allows any decimal)",
  },
  {
    what: "a duration with blanks around it",
    config: jwt({ clock_skew: " 30s " }),
    ok: true,
    schemaStricter: "the duration pattern is the gateway's own (route timeouts are flagged the same way); both parsers trim blanks",
  },
  { what: "a token source with two places", config: jwt({ from: [{ header: "a", query: "b" }] }), ok: false },
  { what: "no token source", config: jwt({ from: [] }), ok: false },
  { what: "an unknown algorithm", config: jwt({ algorithms: ["HS1"] }), ok: false },
  { what: "max_token_bytes too small", config: jwt({ max_token_bytes: 100 }), ok: false },
  { what: "a provider name in capitals", config: jwt({ name: "IdP" }, [{ requires: ["IdP"] }]), ok: false },
  { what: "two path kinds", config: jwtRule({ path: { prefix: "/a", suffix: ".json" } }), ok: false },
  { what: "a path prefix without /", config: jwtRule({ path: { prefix: "a" } }), ok: false },
  { what: "a glob without /", config: jwtRule({ path: { glob: "*.json" } }), ok: false },
  { what: "a header with two tests", config: jwtRule({ headers: [{ name: "x", exact: "a", prefix: "b" }] }), ok: false },
  { what: "a header with no test", config: jwtRule({ headers: [{ name: "x" }] }), ok: false },
  // Empty prefix, suffix and contains tests would match any value: refused, as routes refuse them.
  { what: "an empty header prefix", config: jwtRule({ headers: [{ name: "x", prefix: "" }] }), ok: false },
  { what: "an empty header suffix", config: jwtRule({ headers: [{ name: "x", suffix: "" }] }), ok: false },
  { what: "an empty header contains", config: jwtRule({ headers: [{ name: "x", contains: "" }] }), ok: false },
  { what: "an empty query prefix", config: jwtRule({ query: [{ name: "q", prefix: "" }] }), ok: false },
  { what: "an empty query suffix", config: jwtRule({ query: [{ name: "q", suffix: "" }] }), ok: false },
  { what: "an empty query contains", config: jwtRule({ query: [{ name: "q", contains: "" }] }), ok: false },
  { what: "an empty path suffix", config: jwtRule({ path: { suffix: "" } }), ok: false },
  {
    what: "an empty header exact value (the header is present and empty)",
    config: jwtRule({ headers: [{ name: "x", exact: "" }] }),
    ok: true,
  },
  { what: "an empty query exact value", config: jwtRule({ query: [{ name: "q", exact: "" }] }), ok: true },
  { what: "a header name with a space", config: jwtRule({ headers: [{ name: "x y", present: true }] }), ok: false },
  { what: "a query condition without a name", config: jwtRule({ query: [{ exact: "a" }] }), ok: false },
  { what: "a query condition with a misspelt test", config: jwtRule({ query: [{ name: "a", exactly: "a" }] }), ok: false },
  { what: "present as a string", config: jwtRule({ headers: [{ name: "x", present: "yes" }] }), ok: false },
  { what: "invert as a string", config: jwtRule({ headers: [{ name: "x", present: true, invert: "true" }] }), ok: false },
  {
    what: "consumers with both kinds of jwt mapping, other filters' credentials, anonymous, claims to filter state",
    config: jwt({}, undefined, {
      consumers: [
        { name: "alice", groups: ["gold"], metadata: { tier: "gold" }, jwt: [{ issuer: provider.issuer, subject: "alice@example.com" }] },
        {
          name: "app",
          jwt: [{ issuer: provider.issuer, claim: "client_id", value: "app-1" }],
          keys: [{ id: "k", sha256: "0".repeat(64) }],
          basic: [],
        },
        { name: "guest", groups: ["free"] },
      ],
      anonymous: "guest",
      upstream_headers: false,
      claims_to_filter_state: ["role", "scope", "x-Team_1"],
    }),
    ok: true,
  },
  {
    what: "a jwt mapping with subject and claim",
    config: jwt({}, undefined, { consumers: [{ name: "a", jwt: [{ issuer: provider.issuer, subject: "s", claim: "c", value: "v" }] }] }),
    ok: false,
  },
  {
    what: "a jwt mapping with a claim and no value",
    config: jwt({}, undefined, { consumers: [{ name: "a", jwt: [{ issuer: provider.issuer, claim: "c" }] }] }),
    ok: false,
  },
  { what: "a jwt mapping without issuer", config: jwt({}, undefined, { consumers: [{ name: "a", jwt: [{ subject: "s" }] }] }), ok: false },
  {
    what: "an empty subject",
    config: jwt({}, undefined, { consumers: [{ name: "a", jwt: [{ issuer: provider.issuer, subject: "" }] }] }),
    ok: false,
  },
  {
    what: "a dotted claim in a mapping",
    config: jwt({}, undefined, { consumers: [{ name: "a", jwt: [{ issuer: provider.issuer, claim: "a.b", value: "v" }] }] }),
    ok: false,
  },
  { what: "a consumer name in capitals", config: jwt({}, undefined, { consumers: [{ name: "Alice" }] }), ok: false },
  { what: "an unknown consumer member", config: jwt({}, undefined, { consumers: [{ name: "a", tier: "gold" }] }), ok: false },
  { what: "a dotted claim to filter state", config: jwt({}, undefined, { claims_to_filter_state: ["realm.roles"] }), ok: false },
  { what: "a consumers condition in capitals", config: jwtRule({ consumers: ["Alice"] }), ok: false },
  { what: "an empty consumer_groups condition", config: jwtRule({ consumer_groups: [] }), ok: false },
  {
    what: "a mapping whose issuer no provider has",
    config: jwt({}, undefined, { consumers: [{ name: "a", jwt: [{ issuer: "https://elsewhere", subject: "s" }] }] }),
    ok: false,
    schemaCannot: "a mapping's issuer must be the issuer of a provider of the same config",
  },
  {
    what: "anonymous naming no consumer",
    config: jwt({}, undefined, { consumers: [{ name: "a" }], anonymous: "b" }),
    ok: false,
    schemaCannot: "anonymous must name a consumer of the same config",
  },
  {
    what: "one mapping on two consumers",
    config: jwt({}, undefined, {
      consumers: [
        { name: "a", jwt: [{ issuer: provider.issuer, subject: "s" }] },
        { name: "b", jwt: [{ issuer: provider.issuer, subject: "s" }] },
      ],
    }),
    ok: false,
    schemaCannot: "a mapping identifies one consumer (uniqueness across items)",
  },
  { what: "methods not a list", config: jwtRule({ methods: "GET" }), ok: false },
  { what: "a misspelt match key", config: jwtRule({ paths: { prefix: "/" } }), ok: false },
  { what: "requires not a list", config: jwt({}, [{ requires: "idp" }]), ok: false },
  {
    what: "a rule naming no provider",
    config: jwt({}, [{ requires: ["nobody"] }]),
    ok: false,
    schemaCannot: "a rule's requires must name a provider of the same config",
  },
  {
    what: "two providers with one name",
    config: { providers: [provider, provider], rules: [{ requires: ["idp"] }] },
    ok: false,
    schemaCannot: "provider names must be unique (uniqueItems compares whole items)",
  },
  {
    what: "an invalid regex",
    config: jwtRule({ headers: [{ name: "x", regex: "(a" }] }),
    ok: false,
    schemaCannot: "whether a string is a valid RE2 regex",
  },
  {
    what: "a duration string out of range",
    config: jwt({ jwks: undefined, remote_jwks: { ...remote, timeout: "2m" } }),
    ok: false,
    schemaCannot: "the range of a duration written as a string (only the number form has bounds)",
  },
  {
    what: "an unusable key",
    config: jwt({ jwks: { keys: [{ kty: "oct", kid: "h" }] } }),
    ok: false,
    schemaCannot: "the contents of a JWK (each key type has its own members; the filter checks them)",
  },
];

// Legacy period_s as the base, so the other cases hold whichever period form a filter build knows.
const limit = (rule: object = {}, top: object = {}) => ({ rules: [{ name: "per_client", requests: 10, period_s: 60, ...rule }], ...top });

/** Why the schema accepts what the filter refuses for a global rule. */
const CROSS_FIELD =
  "a rule between fields (the gateway schema keeps every object closed, so it has no conditional subschemas); the filter refuses it, naming the field";

/** A config with one global rule (and more rules from `more`, each a global rule changed so). */
const globalLimit = (rule: object = {}, more: object[] = []) => ({
  global: { cluster: "rls" },
  rules: [rule, ...more].map((r, i) => ({ name: `global_${i}`, scope: "global", requests: 10, period: "1m", ...r })),
});

export const RATE_LIMIT: Example[] = [
  { what: "one rule", config: limit(), ok: true },
  { what: "period as a duration", config: limit({ period_s: undefined, period: "1m" }), ok: true },
  { what: "period in seconds", config: limit({ period_s: undefined, period: 60 }), ok: true },
  { what: "the whole match vocabulary", config: limit({ match: everyKind }), ok: true },
  {
    what: "every option",
    config: limit(
      { burst: 20, key: [{ client_ip: true }, { header: "x-api-key" }, { route: true }, { fixed: "x" }] },
      { stat_prefix: "api", trusted_hops: 2, dry_run: true, rate_limit_headers: true, max_keys: 100 },
    ),
    ok: true,
  },
  {
    what: "a consumer key part and rules per consumer group",
    config: limit({ key: [{ consumer: true }, { route: true }], match: { consumer_groups: ["gold"], consumers: ["alice"] } }),
    ok: true,
  },
  { what: "consumer: false", config: limit({ key: [{ consumer: false }] }), ok: false },
  { what: "a key part with consumer and client_ip", config: limit({ key: [{ consumer: true, client_ip: true }] }), ok: false },
  { what: "a group name with a comma", config: limit({ match: { consumer_groups: ["a,b"] } }), ok: false },
  { what: "no rules", config: {}, ok: false },
  { what: "an empty rule list", config: { rules: [] }, ok: false },
  { what: "period and period_s together", config: limit({ period: "1m" }), ok: false },
  { what: "no period", config: limit({ period_s: undefined }), ok: false },
  { what: "period 0", config: limit({ period_s: undefined, period: 0 }), ok: false },
  { what: "legacy period_s 0", config: limit({ period_s: 0 }), ok: false },
  { what: "a period without a unit", config: limit({ period_s: undefined, period: "1 minute" }), ok: false },
  { what: "requests 0", config: limit({ requests: 0 }), ok: false },
  { what: "requests not a whole number", config: limit({ requests: 1.5 }), ok: false },
  { what: "burst 0", config: limit({ burst: 0 }), ok: false },
  { what: "an empty key", config: limit({ key: [] }), ok: false },
  { what: "an empty header contains in a match", config: limit({ match: { headers: [{ name: "x", contains: "" }] } }), ok: false },
  { what: "a key part with two kinds", config: limit({ key: [{ client_ip: true, route: true }] }), ok: false },
  { what: "client_ip: false", config: limit({ key: [{ client_ip: false }] }), ok: false },
  { what: "trusted_hops too high", config: limit({}, { trusted_hops: 17 }), ok: false },
  { what: "an unknown key", config: limit({}, { trusted_hop: 1 }), ok: false },
  { what: "a rule name with a dash", config: limit({ name: "per-client" }), ok: false },
  { what: "a rule without a name", config: { rules: [{ requests: 1, period_s: 1 }] }, ok: false },
  { what: "a header test on a number", config: limit({ match: { headers: [{ name: "x", exact: 1 }] } }), ok: false },
  {
    what: "two rules with one name",
    config: { rules: [limit().rules[0], limit().rules[0]] },
    ok: false,
    schemaCannot: "rule names must be unique (uniqueItems compares whole items)",
  },
  {
    what: "a period string out of range",
    config: limit({ period_s: undefined, period: "25h" }),
    ok: false,
    schemaCannot: "the range of a duration written as a string (only the number form has bounds)",
  },
  { what: "a global rule", config: globalLimit(), ok: true },
  {
    what: "a global rule with every option, next to a local rule",
    config: {
      global: { cluster: "rls", domain: "api", timeout: "250ms", max_pending: 50 },
      rules: [
        limit().rules[0],
        { ...globalLimit().rules[0], period: undefined, period_s: 60, on_failure: "deny", key: [{ consumer: true }] },
      ],
    },
    ok: true,
  },
  {
    what: "global periods of a second, an hour and a day",
    config: globalLimit({ period: "1s" }, [{ period: 3600 }, { period: "24h" }]),
    ok: true,
  },
  { what: "an explicit local scope", config: limit({ scope: "local" }), ok: true },
  { what: "a global rule without the global block", config: { rules: globalLimit().rules }, ok: false, schemaCannot: CROSS_FIELD },
  { what: "a global block without a global rule", config: limit({}, { global: { cluster: "rls" } }), ok: false, schemaCannot: CROSS_FIELD },
  { what: "a global period the service cannot count", config: globalLimit({ period: "10s" }), ok: false, schemaCannot: CROSS_FIELD },
  { what: "burst on a global rule", config: globalLimit({ burst: 5 }), ok: false, schemaCannot: CROSS_FIELD },
  { what: "on_failure on a local rule", config: limit({ on_failure: "deny" }), ok: false, schemaCannot: CROSS_FIELD },
  { what: "an unknown scope", config: limit({ scope: "cluster" }), ok: false },
  { what: "a global block without a cluster", config: { ...globalLimit(), global: { domain: "d" } }, ok: false, inGateway: true },
  { what: "max_pending 0", config: { ...globalLimit(), global: { cluster: "rls", max_pending: 0 } }, ok: false },
  { what: "a global rule with sync", config: globalLimit({ period: "1s", sync: "100ms" }), ok: true },
  { what: "sync in seconds", config: globalLimit({ sync: 0.5 }), ok: true },
  { what: "sync on a local rule", config: limit({ sync: "100ms" }), ok: false, schemaCannot: CROSS_FIELD },
  { what: "sync below 20ms, in seconds", config: globalLimit({ sync: 0.01 }), ok: false },
  {
    what: "sync below 20ms, as a string",
    config: globalLimit({ sync: "5ms" }),
    ok: false,
    schemaCannot: "the range of a duration written as a string (only the number form has bounds)",
  },
];

const rewrite = (rule: object = {}) => ({ rules: [{ request: { set: { "x-gateway": "portico" } }, ...rule }] });

export const HEADER_REWRITE: Example[] = [
  { what: "one request action", config: rewrite(), ok: true },
  { what: "the whole match vocabulary", config: rewrite({ match: everyKind }), ok: true },
  {
    what: "every action",
    config: {
      stat_prefix: "public",
      rules: [
        {
          name: "legacy-api",
          keep_empty_value: true,
          match: { path: { prefix: "/api/" } },
          request: {
            remove: ["x-internal"],
            rename: { "x-api-key": "x-legacy-key" },
            set: { ":authority": "backend", "x-ip": "${source.ip}" },
            set_if_absent: { "x-src": "gw" },
            add: { "x-tag": ["a", "b"] },
            rewrite_path: { prefix: "/v2/" },
          },
          response: { remove: ["server"], set: { "x-trace": "${request.header.x-request-id}" } },
        },
      ],
    },
    ok: true,
  },
  {
    what: "the caller's identity in templates",
    config: rewrite({
      request: { set: { "x-user": "${consumer.name}", "x-groups": "${consumer.groups}", "x-cred": "${consumer.credential}" } },
    }),
    ok: true,
  },
  {
    what: "an unknown consumer variable",
    config: rewrite({ request: { set: { "x-tier": "${consumer.tier}" } } }),
    ok: false,
    schemaCannot: "the variables inside a template string",
  },
  { what: "a path template", config: rewrite({ request: { rewrite_path: { template: "/internal${request.path}" } } }), ok: true },
  { what: "no rules", config: { stat_prefix: "x" }, ok: false },
  { what: "a rule with no actions", config: { rules: [{ name: "nothing" }] }, ok: false },
  { what: "an empty query prefix in a match", config: rewrite({ match: { query: [{ name: "q", prefix: "" }] } }), ok: false },
  { what: "an unknown action", config: rewrite({ request: { append: { x: "y" } } }), ok: false },
  { what: "a set value that is not a string", config: rewrite({ request: { set: { x: 1 } } }), ok: false },
  { what: "an add list with a number", config: rewrite({ request: { add: { x: ["a", 2] } } }), ok: false },
  {
    what: "a path rewrite with both forms",
    config: rewrite({ match: { path: { prefix: "/a/" } }, request: { rewrite_path: { prefix: "/b/", template: "/c" } } }),
    ok: false,
  },
  {
    what: "a path rewrite prefix without /",
    config: rewrite({ match: { path: { prefix: "/a/" } }, request: { rewrite_path: { prefix: "b/" } } }),
    ok: false,
  },
  { what: "a response path rewrite", config: rewrite({ response: { rewrite_path: { template: "/x" } } }), ok: false },
  { what: "a header name with a space", config: rewrite({ request: { set: { "x y": "z" } } }), ok: false },
  { what: "a misspelt match test", config: rewrite({ match: { headers: [{ name: "x", exactly: "y" }] } }), ok: false },
  {
    what: "a path prefix rewrite without a path prefix match",
    config: rewrite({ request: { rewrite_path: { prefix: "/v2/" } } }),
    ok: false,
    schemaCannot:
      "a prefix rewrite depends on the rule's match.path kind (kept out of the schema: it would make every rule's schema conditional)",
  },
  {
    what: "setting a pseudo-header other than :path and :authority",
    config: rewrite({ request: { set: { ":method": "GET" } } }),
    ok: false,
    schemaCannot: "which headers an action may touch depends on the action and the phase (left to the filter, which explains why)",
  },
  {
    what: "setting a connection-level header",
    config: rewrite({ request: { set: { connection: "close" } } }),
    ok: false,
    schemaCannot: "which headers an action may touch depends on the action and the phase (left to the filter, which explains why)",
  },
  {
    what: "a malformed template",
    config: rewrite({ request: { set: { x: "${request.header" } } }),
    ok: false,
    schemaCannot: "the template syntax and its variables",
  },
  {
    what: "a response header variable in a request action",
    config: rewrite({ request: { set: { x: "${response.header.y}" } } }),
    ok: false,
    schemaCannot: "the template syntax and its variables",
  },
];

const digest = (n: number) => n.toString(16).padStart(64, "0");
const keyed = (name: string, ids: string[], extra: object = {}) => ({
  name,
  keys: ids.map((id, i) => ({ id, sha256: digest(id.length * 100 + i + name.length * 10_000) })),
  ...extra,
});
const keyAuth = (top: object = {}) => ({
  consumers: [keyed("alice", ["a1"], { groups: ["gold"] }), keyed("bob", ["b1", "b2"]), { name: "guest" }],
  ...top,
});

export const KEY_AUTH: Example[] = [
  { what: "consumers with keys", config: keyAuth(), ok: true },
  {
    what: "every field, every source kind, and the other filters' credential kinds",
    config: keyAuth({
      stat_prefix: "api",
      key_sources: [{ header: "X-API-Key" }, { query: "api_key" }, { cookie: "api_key" }],
      anonymous: "guest",
      upstream_headers: false,
      hide_credentials: false,
      realm: "my api",
      per_consumer_metrics: true,
      consumers: [
        keyed("alice", ["a1"], { metadata: { tier: "gold" }, basic: [{ username: "a", hash: "x" }], jwt: [{ issuer: "i", subject: "s" }] }),
        { name: "guest" },
      ],
    }),
    ok: true,
  },
  {
    what: "an upper-case digest",
    config: { consumers: [{ name: "a", keys: [{ id: "k", sha256: digest(7).replace(/0/g, "A") }] }] },
    ok: true,
  },
  { what: "no consumers", config: {}, ok: false },
  {
    what: "the key itself instead of its digest",
    config: { consumers: [{ name: "a", keys: [{ id: "k", sha256: "my-secret-key" }] }] },
    ok: false,
  },
  {
    what: "a key with a plain key field",
    config: { consumers: [{ name: "a", keys: [{ id: "k", sha256: digest(1), key: "x" }] }] },
    ok: false,
  },
  { what: "a key id with a space", config: { consumers: [{ name: "a", keys: [{ id: "my key", sha256: digest(1) }] }] }, ok: false },
  { what: "a consumer name in upper case", config: { consumers: [{ name: "Alice" }] }, ok: false },
  { what: "an unknown top-level field", config: keyAuth({ keys: [] }), ok: false },
  { what: "an empty key_sources", config: keyAuth({ key_sources: [] }), ok: false },
  { what: "a source with two places", config: keyAuth({ key_sources: [{ header: "x-k", query: "k" }] }), ok: false },
  {
    what: "a source with a prefix (not a key-auth field)",
    config: keyAuth({ key_sources: [{ header: "x-k", prefix: "Key " }] }),
    ok: false,
  },
  { what: "a cookie name with a separator", config: keyAuth({ key_sources: [{ cookie: "a;b" }] }), ok: false },
  { what: "a realm with a quote", config: keyAuth({ realm: 'a"b' }), ok: false },
  {
    what: "one key id on two consumers",
    config: {
      consumers: [
        { name: "a", keys: [{ id: "k", sha256: digest(1) }] },
        { name: "b", keys: [{ id: "k", sha256: digest(2) }] },
      ],
    },
    ok: false,
    schemaCannot: "uniqueness across array items by one member",
  },
  {
    what: "one key (digest) on two consumers",
    config: {
      consumers: [
        { name: "a", keys: [{ id: "k1", sha256: digest(1) }] },
        { name: "b", keys: [{ id: "k2", sha256: digest(1) }] },
      ],
    },
    ok: false,
    schemaCannot: "uniqueness across array items by one member",
  },
  {
    what: "an anonymous consumer that is not listed",
    config: keyAuth({ anonymous: "nobody" }),
    ok: false,
    schemaCannot: "a reference to another item's name",
  },
  {
    what: "an identity header as key source",
    config: keyAuth({ key_sources: [{ header: "x-consumer-name" }] }),
    ok: false,
    schemaCannot: "names folded as a lenient upstream reads them (X_Consumer_Name is x-consumer-name)",
  },
  {
    what: "a pseudo-header as key source",
    config: keyAuth({ key_sources: [{ header: ":path" }] }),
    ok: false,
    schemaCannot: "the shared headerName definition admits pseudo-headers, which other filters' fields take",
  },
  {
    what: "per-consumer metrics for 1,001 consumers",
    config: { consumers: Array.from({ length: 1001 }, (_, i) => ({ name: `c${i}` })), per_consumer_metrics: true },
    ok: false,
    schemaCannot: "a bound on one field that depends on another's value",
  },
];

// basic-auth (issue #15)
const BCRYPT = "$2b$04$zkuUi5cCErm4GkRK.eyneeR4d3a9KJQcuzajHCcH/J2T/tZr05zj.";
const SHA = "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=";
const basicUser = (username: string, hash = BCRYPT) => ({ username, hash });
const basicAuth = (top: object = {}) => ({
  consumers: [
    { name: "alice", groups: ["gold"], basic: [basicUser("alice")] },
    { name: "bob", basic: [basicUser("bob", SHA), basicUser("bob-ci", BCRYPT.replace("$2b$", "$2y$"))] },
    { name: "guest" },
  ],
  ...top,
});

export const BASIC_AUTH: Example[] = [
  { what: "consumers with bcrypt and {SHA} users", config: basicAuth(), ok: true },
  {
    what: "every field, and the other filters' credential kinds",
    config: basicAuth({
      stat_prefix: "api",
      realm: "my api",
      anonymous: "guest",
      upstream_headers: false,
      hide_credentials: false,
      cache_ttl: "10m",
      cache_size: 4096,
      max_verifications_per_second: 20,
      consumers: [
        {
          name: "alice",
          metadata: { tier: "gold" },
          basic: [basicUser("alice")],
          keys: [{ id: "k", sha256: "0".repeat(64) }],
          jwt: [{ issuer: "i", subject: "s" }],
        },
        { name: "guest" },
      ],
    }),
    ok: true,
  },
  { what: "cache_ttl as a number of seconds", config: basicAuth({ cache_ttl: 60 }), ok: true },
  { what: "no consumers", config: {}, ok: false },
  {
    what: "a plain-text password instead of a hash",
    config: { consumers: [{ name: "a", basic: [basicUser("a", "hunter2")] }] },
    ok: false,
  },
  {
    what: "an Apache MD5 hash",
    config: { consumers: [{ name: "a", basic: [basicUser("a", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/")] }] },
    ok: false,
  },
  { what: "bcrypt at cost 15", config: { consumers: [{ name: "a", basic: [basicUser("a", BCRYPT.replace("$04$", "$15$"))] }] }, ok: false },
  { what: "bcrypt $2x$", config: { consumers: [{ name: "a", basic: [basicUser("a", BCRYPT.replace("$2b$", "$2x$"))] }] }, ok: false },
  { what: "a username with a colon", config: { consumers: [{ name: "a", basic: [basicUser("a:b")] }] }, ok: false },
  {
    what: "a user with a password field",
    config: { consumers: [{ name: "a", basic: [{ ...basicUser("a"), password: "x" }] }] },
    ok: false,
  },
  { what: "a realm with a quote", config: basicAuth({ realm: 'a"b' }), ok: false },
  { what: "cache_size 0", config: basicAuth({ cache_size: 0 }), ok: false },
  { what: "max_verifications_per_second 0", config: basicAuth({ max_verifications_per_second: 0 }), ok: false },
  { what: "an unknown top-level field", config: basicAuth({ users: [] }), ok: false },
  {
    what: "one username on two consumers",
    config: {
      consumers: [
        { name: "a", basic: [basicUser("u")] },
        { name: "b", basic: [basicUser("u", SHA)] },
      ],
    },
    ok: false,
    schemaCannot: "uniqueness across array items by one member",
  },
  {
    what: "an anonymous consumer that is not listed",
    config: basicAuth({ anonymous: "nobody" }),
    ok: false,
    schemaCannot: "a reference to another item's name",
  },
  {
    what: "a cache_ttl under a second, as a string",
    config: basicAuth({ cache_ttl: "500ms" }),
    ok: false,
    schemaCannot: "the range of a duration written as a string (only the number form has bounds)",
  },
  {
    what: "a bcrypt salt whose last character has unused bits set",
    config: { consumers: [{ name: "a", basic: [basicUser("a", `${BCRYPT.slice(0, 28)}/${BCRYPT.slice(29)}`)] }] },
    ok: false,
    schemaCannot: "the unused low bits of bcrypt's base64 (canonical form)",
  },
];

export const CORPUS: Record<string, Example[]> = {
  "basic-auth": BASIC_AUTH,
  "header-rewrite": HEADER_REWRITE,
  "jwt-auth": JWT_AUTH,
  "key-auth": KEY_AUTH,
  "rate-limit": RATE_LIMIT,
};
