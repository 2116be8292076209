// Fuzzing jwt-auth in the emulator (test/support/filter-fuzz.ts): its config parser with
// mutations of valid configs, and its request path with random headers and bytes and JWT-like
// tokens (random header and claims JSON, HMAC-signed so that some pass verification and reach
// claims_to_headers). Bounded: NUM_RUNS per property keeps this file within ~20 s on a shared
// 2-core machine (docs/fuzzing-filters.md); each property prints how many cases it tried.
import { createHmac, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { fuzzConfigParser, fuzzRequestPath, fuzzRuns, hostileString, requests } from "../../../test/support/filter-fuzz.js";
import { exampleFilterConfig } from "../../../test/support/examples.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const NUM_RUNS = { config: fuzzRuns(1000), request: fuzzRuns(1500) };
const ISSUER = "https://idp.example.com";
const NOW = Date.UTC(2030, 0, 1) / 1000;
const SECRET = Buffer.from("fuzz-secret-fuzz-secret-fuzz-secret!");

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("jwt-auth")));
}, 180_000); // builtFilter rebuilds a stale module

const jwk = (k: ReturnType<typeof generateKeyPairSync>["publicKey"], kid: string, alg: string) => ({
  ...k.export({ format: "jwk" }),
  kid,
  alg,
});

/** Every field the README documents, with inline keys of each family (so requests verify). */
function richConfig(): object {
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
  const ed = generateKeyPairSync("ed25519").publicKey;
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
  const oct = { kty: "oct", kid: "hs", alg: "HS256", k: SECRET.toString("base64url") };
  return {
    stat_prefix: "fuzz",
    providers: [
      {
        name: "idp",
        issuer: ISSUER,
        audiences: ["api", "other"],
        algorithms: ["HS256", "ES256", "EdDSA", "RS256"],
        jwks: { keys: [oct, jwk(ec, "ec", "ES256"), jwk(ed, "ed", "EdDSA"), jwk(rsa, "rs", "RS256")] },
        from: [{ header: "authorization", prefix: "Bearer " }, { header: "x-token" }, { query: "access_token" }, { cookie: "jwt" }],
        clock_skew: "60s",
        require_exp: false,
        required_claims: ["sub"],
        claims_to_headers: [
          { claim: "sub", header: "x-jwt-sub" },
          { claim: "realm.roles", header: "x-jwt-roles" },
          { claim: "email", header: "x_jwt_email" },
        ],
        payload_header: "x-jwt-payload",
        forward_token: false,
        max_token_bytes: 16384,
      },
      { name: "partner", issuer: "https://partner.example.com", jwks: { keys: [oct] }, clock_skew_s: 0 },
    ],
    rules: [
      { match: { path: { prefix: "/public/" } }, requires: [] },
      { match: { path: { prefix: "/opt/" } }, requires: ["idp"], allow_missing: true },
      { match: { path: { regex: "/api/v[0-9]+/.*" }, methods: ["POST"] }, requires: ["idp", "partner"] },
      {
        match: { headers: [{ name: "x-tenant", regex: "[a-z]+", invert: true }], query: [{ name: "q", present: true }] },
        requires: ["partner"],
      },
      { match: { routes: ["admin"] }, requires: ["partner"] },
      { match: {}, requires: ["idp"] },
    ],
    consumers: [
      { name: "alice", groups: ["gold"], jwt: [{ issuer: ISSUER, subject: "alice" }] },
      {
        name: "app",
        jwt: [
          { issuer: ISSUER, claim: "email", value: "app@example.com" },
          { issuer: "https://partner.example.com", subject: "p" },
        ],
      },
      { name: "guest", groups: ["free"] },
    ],
    anonymous: "guest",
    claims_to_filter_state: ["sub", "email", "scope", "realm"],
  };
}

// JWT-like tokens: random header and claims, signed with the HMAC key (so some verify), or not.
const b64 = (v: string | Uint8Array) => Buffer.from(v).toString("base64url");
const claimNumber = fc.oneof(
  fc.constantFrom(NOW, NOW + 3600, NOW - 3600, 0, -1, 1e308, 2 ** 63, 1.5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const claimValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString, claimNumber);
const jwsHeader = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        alg: fc.oneof(fc.constantFrom("HS256", "RS256", "ES256", "EdDSA", "none", "HS512", "PS256", "ES384", ""), claimValue),
        kid: fc.oneof(fc.constantFrom("hs", "ec", "ed", "rs", "nope"), claimValue),
        typ: fc.constantFrom("JWT", "at+jwt", ""),
        crit: fc.array(fc.string(), { maxLength: 2 }),
        b64: fc.boolean(),
      },
      { requiredKeys: ["alg"] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const jwsClaims = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        iss: fc.oneof(fc.constantFrom(ISSUER, "https://partner.example.com"), claimValue),
        aud: fc.oneof(fc.constantFrom("api", "nope"), fc.array(fc.constantFrom("api", "x")), claimValue),
        sub: fc.oneof(fc.string(), claimValue),
        exp: fc.oneof(claimNumber, claimValue),
        nbf: claimNumber,
        iat: claimNumber,
        email: fc.oneof(fc.constantFrom("app@example.com"), claimValue),
        scope: fc.oneof(fc.constantFrom("read write", "  ", "a,b c"), fc.array(fc.constantFrom("read", "", "a,b")), claimValue),
        realm: fc.oneof(fc.record({ roles: claimValue }), claimValue),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const sign = (header: object, claims: unknown) => {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims) ?? "null")}`;
  return `${input}.${createHmac("sha256", SECRET).update(input).digest("base64url")}`;
};
/** Tokens that verify, with random extra claims: they reach required_claims, claims_to_headers, consumer mappings and claims_to_filter_state. */
const goodTokens = fc
  .record(
    {
      sub: fc.oneof(fc.constantFrom("alice", "p"), claimValue),
      email: fc.oneof(fc.constantFrom("app@example.com"), claimValue),
      scope: fc.oneof(fc.constantFrom("read write", "  ", "a,b c"), fc.array(fc.constantFrom("read", "", "a,b")), claimValue),
      realm: fc.oneof(fc.record({ roles: claimValue }), claimValue),
      extra: claimValue,
    },
    { requiredKeys: [] },
  )
  .map((extra) => sign({ alg: "HS256", kid: "hs" }, { iss: ISSUER, aud: "api", sub: "user-1", exp: NOW + 10 * 365 * 86400, ...extra }));
const tokens: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: goodTokens },
  {
    weight: 6,
    arbitrary: fc.tuple(jwsHeader, jwsClaims, fc.boolean(), fc.uint8Array({ maxLength: 300 })).map(([h, c, sign, sig]) => {
      const header = sign && h !== null && typeof h === "object" && !Array.isArray(h) ? { ...h, alg: "HS256", kid: "hs" } : h;
      const input = `${b64(JSON.stringify(header) ?? "null")}.${b64(JSON.stringify(c) ?? "null")}`;
      return `${input}.${sign ? createHmac("sha256", SECRET).update(input).digest("base64url") : b64(sig)}`;
    }),
  },
  // Not three base64url segments: too few or many dots, other alphabets, padding, huge.
  { weight: 2, arbitrary: fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }).map((parts) => parts.join(".")) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.uint8Array({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 })).map(([a, b]) => `${b64(a)}==.${b64(b)}+/.x`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 100_000 }).map((n) => `${"e".repeat(n)}.${"e".repeat(n)}.${"e".repeat(10)}`) },
);
const tokenValues = fc.oneof(
  tokens.map((t) => `Bearer ${t}`),
  tokens.map((t) => `bEaReR    ${t}`),
  tokens,
  tokens.map((t) => `a=1; jwt=${t}; jwt=${t}`),
  fc.constantFrom("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "tenant"),
);

const SPACE = {
  names: [
    "authorization",
    "x-token",
    "cookie",
    "x-jwt-sub",
    "x-jwt-roles",
    "x-jwt-email",
    "x-jwt-payload",
    "x-tenant",
    "host",
    "x-consumer-name",
    "X_Consumer_Groups",
  ],
  values: tokenValues,
  paths: tokens.map((t) => `/api/v1/x?q=1&access_token=${encodeURIComponent(t)}`),
};

describe("jwt-auth fuzzing (bounded)", () => {
  it(
    "config parser: every mutation of a valid config is accepted or refused naming the field, never a trap",
    () => {
      const examples = [exampleFilterConfig("jwt-auth.yaml", "jwt-auth"), richConfig()];
      expect(fuzzConfigParser(module, "jwt-auth", examples, SPACE, NUM_RUNS.config)).toBeGreaterThanOrEqual(NUM_RUNS.config);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE

  it(
    "request path: random headers, bytes and JWT-like tokens end upstream or in a 4xx, never a trap",
    () => {
      const cases = fc.tuple(requests(SPACE), fc.option(tokens, { freq: 3 })).map(([r, token]) => {
        if (token !== null) r.headers.unshift(["authorization", `Bearer ${token}`]);
        return r;
      });
      expect(fuzzRequestPath(module, "jwt-auth", richConfig(), cases, "jwt-auth request path", NUM_RUNS.request)).toBeGreaterThanOrEqual(
        NUM_RUNS.request,
      );
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE
});
