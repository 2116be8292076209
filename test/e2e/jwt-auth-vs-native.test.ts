// Differential test: one Envoy, two listeners in front of one echo upstream — one with our
// jwt-auth filter, one with Envoy's native envoy.filters.http.jwt_authn — both trusting the SAME
// JWKS, with the same issuer, audience, clock skew and "expiration required". A corpus of tokens
// (good ones for every algorithm, and every way of being bad) goes through both; the native
// filter is the oracle for allow/deny, and every token in the corpus must get the same verdict from
// both. Status codes may differ (jwt_authn answers 401 for most failures and 403 for audience);
// they are collected and printed at the end of the file. The documented differences (README,
// "Differences from jwt_authn") are not in the corpus: each has its own test below, asserting
// both sides.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  algNone,
  assemble,
  bootstrap,
  decodePayload,
  echoedHeader,
  filterWasm,
  generateKey,
  generateKeys,
  hmacWithPublicKey,
  httpListener,
  JWT_AUTH_ALGORITHMS,
  jwksOf,
  malformedTokens,
  mint,
  nowSeconds,
  oversized,
  parseEcho,
  request,
  staticCluster,
  tamperPayload,
  tamperSignature,
  useEchoUpstream,
  useEnvoy,
  type Claims,
  type Envoy,
  type HttpResponse,
  type JwsAlg,
  type Json,
  type TestKey,
  wasmHttpFilter,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const ISSUER = "https://idp.example.com";
const AUDIENCE = "api";
const SKEW = 60;
const HOST = "api.example.test";

let e: Envoy;
let keys: Map<JwsAlg, TestKey>;
/** Keys nobody trusts: same kids as the trusted ones ("wrong key"). */
let impostors: Map<JwsAlg, TestKey>;
/** A trusted ES256 key published WITHOUT kid: a candidate for every ES256 token, whatever its kid. */
let kidless: TestKey;

const claims = (extra: Claims = {}, now = nowSeconds()): Claims => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: "user-1",
  iat: now,
  exp: now + 3600,
  ...extra,
});

interface Case {
  name: string;
  /** Builds the Authorization header value (undefined: no header at all). */
  authorization: () => Promise<string | undefined> | string | undefined;
  /** What both filters must do (checked against the native one, and asserted for both). */
  expect: "allow" | "deny";
}

const bearer = (t: string) => `Bearer ${t}`;
const key = (alg: JwsAlg) => keys.get(alg)!;

function corpus(): Case[] {
  const cases: Case[] = [];
  for (const alg of JWT_AUTH_ALGORITHMS) {
    cases.push({ name: `good ${alg}`, expect: "allow", authorization: async () => bearer(await mint(key(alg), claims())) });
  }
  cases.push(
    {
      name: "good RS256 without kid (key found by algorithm)",
      expect: "allow",
      authorization: async () => bearer(await mint(key("RS256"), claims(), { noKid: true })),
    },
    {
      name: "good ES256 without kid",
      expect: "allow",
      authorization: async () => bearer(await mint(key("ES256"), claims(), { noKid: true })),
    },
    {
      name: "good, aud is an array containing the audience",
      expect: "allow",
      authorization: async () => bearer(await mint(key("RS256"), claims({ aud: ["other", AUDIENCE] }))),
    },
    {
      name: "good, expired 30s ago (within the 60s skew)",
      expect: "allow",
      authorization: async () => bearer(await mint(key("ES256"), claims({ exp: nowSeconds() - 30 }))),
    },
    {
      name: "good, nbf 30s ahead (within the 60s skew)",
      expect: "allow",
      authorization: async () => bearer(await mint(key("ES256"), claims({ nbf: nowSeconds() + 30 }))),
    },
    {
      name: "good, unknown extra claims and header fields",
      expect: "allow",
      authorization: async () =>
        bearer(await mint(key("RS256"), claims({ scope: "a b", nested: { x: [1, 2] } }), { header: { cty: "x", extra: true } })),
    },

    {
      name: "expired an hour ago",
      expect: "deny",
      authorization: async () => bearer(await mint(key("RS256"), claims({ exp: nowSeconds() - 3600, iat: nowSeconds() - 7200 }))),
    },
    {
      name: "expired 2 minutes ago (beyond skew)",
      expect: "deny",
      authorization: async () => bearer(await mint(key("ES256"), claims({ exp: nowSeconds() - 120 }))),
    },
    {
      name: "not yet valid (nbf in an hour)",
      expect: "deny",
      authorization: async () => bearer(await mint(key("RS256"), claims({ nbf: nowSeconds() + 3600 }))),
    },
    {
      name: "no exp (expiration required)",
      expect: "deny",
      authorization: async () => {
        const c = claims();
        delete c.exp;
        return bearer(await mint(key("RS256"), c));
      },
    },
    {
      name: "wrong issuer",
      expect: "deny",
      authorization: async () => bearer(await mint(key("RS256"), claims({ iss: "https://evil.example.com" }))),
    },
    {
      name: "issuer differing only by a trailing slash",
      expect: "deny",
      authorization: async () => bearer(await mint(key("RS256"), claims({ iss: `${ISSUER}/` }))),
    },
    {
      name: "no issuer",
      expect: "deny",
      authorization: async () => {
        const c = claims();
        delete c.iss;
        return bearer(await mint(key("RS256"), c));
      },
    },
    {
      name: "wrong audience",
      expect: "deny",
      authorization: async () => bearer(await mint(key("RS256"), claims({ aud: "someone-else" }))),
    },
    {
      name: "wrong audiences (array)",
      expect: "deny",
      authorization: async () => bearer(await mint(key("ES256"), claims({ aud: ["a", "b"] }))),
    },
    {
      name: "no audience",
      expect: "deny",
      authorization: async () => {
        const c = claims();
        delete c.aud;
        return bearer(await mint(key("RS256"), c));
      },
    },
  );
  for (const alg of ["RS256", "PS256", "ES256", "ES384", "HS256", "EdDSA"] as JwsAlg[]) {
    cases.push(
      {
        name: `tampered payload (${alg})`,
        expect: "deny",
        authorization: async () => bearer(tamperPayload(await mint(key(alg), claims()), claims({ sub: "admin" }))),
      },
      {
        name: `tampered signature (${alg})`,
        expect: "deny",
        authorization: async () => bearer(tamperSignature(await mint(key(alg), claims()))),
      },
      {
        name: `wrong key with the trusted kid (${alg})`,
        expect: "deny",
        authorization: async () => bearer(await mint(impostors.get(alg)!, claims(), { header: { kid: key(alg).kid } })),
      },
    );
  }
  cases.push(
    {
      name: "signature of another token",
      expect: "deny",
      authorization: async () => {
        const a = (await mint(key("RS256"), claims({ sub: "a" }))).split(".");
        const b = (await mint(key("RS256"), claims({ sub: "b" }))).split(".");
        return bearer(`${a[0]}.${a[1]}.${b[2]}`);
      },
    },
    {
      name: "empty signature (RS256)",
      expect: "deny",
      authorization: async () => bearer((await mint(key("RS256"), claims())).replace(/\.[^.]+$/, ".")),
    },
    { name: "alg none, no signature", expect: "deny", authorization: () => bearer(algNone(claims())) },
    { name: "alg none with the RSA kid", expect: "deny", authorization: () => bearer(algNone(claims(), { kid: key("RS256").kid })) },
    {
      name: "alg None (case variant) with a signature",
      expect: "deny",
      authorization: () => bearer(algNone(claims(), { alg: "None", kid: key("RS256").kid, signature: "c2ln" })),
    },
    {
      name: "unknown alg",
      expect: "deny",
      authorization: () =>
        bearer(assemble({ alg: "XS256", kid: key("HS256").kid }, claims(), { alg: "HS256", key: key("HS256").signingKey as Uint8Array })),
    },
    {
      name: "alg confusion: HS256 keyed with the RSA public key PEM",
      expect: "deny",
      authorization: () => bearer(hmacWithPublicKey(key("RS256"), claims(), { form: "pem" })),
    },
    {
      name: "alg confusion: HS256 keyed with the RSA public JWK JSON",
      expect: "deny",
      authorization: () => bearer(hmacWithPublicKey(key("RS256"), claims(), { form: "jwk" })),
    },
    {
      name: "alg confusion: HS384 keyed with the RSA public key DER",
      expect: "deny",
      authorization: () => bearer(hmacWithPublicKey(key("RS384"), claims(), { form: "der", alg: "HS384" })),
    },
    {
      name: "alg confusion: HS256 keyed with the EC public key PEM",
      expect: "deny",
      authorization: () => bearer(hmacWithPublicKey(key("ES256"), claims(), { form: "pem" })),
    },
    {
      name: "alg confusion: HS256 keyed with the Ed25519 public key PEM, no kid",
      expect: "deny",
      authorization: () => {
        const k = key("EdDSA");
        return bearer(assemble({ alg: "HS256" }, claims(), { alg: "HS256", key: Buffer.from(k.publicPem!) }));
      },
    },
    {
      name: "key-type confusion: RS256 header with the EC key's kid",
      expect: "deny",
      authorization: async () => bearer(await mint(impostors.get("RS256")!, claims(), { header: { kid: key("ES256").kid } })),
    },
    {
      name: "key-type confusion: ES256 header with the RSA key's kid",
      expect: "deny",
      authorization: async () => bearer(await mint(impostors.get("ES256")!, claims(), { header: { kid: key("RS256").kid } })),
    },
    {
      name: "PS256 signed by the key published for RS256 (JWK alg says RS256)",
      expect: "deny",
      authorization: () => {
        const k = key("RS256");
        return bearer(assemble({ alg: "PS256", kid: k.kid }, claims(), { alg: "PS256", key: k.signingKey }));
      },
    },
    {
      name: "ES384 curve confusion: ES256 token signed by the P-384 key",
      expect: "deny",
      authorization: () => {
        const k = key("ES384");
        return bearer(assemble({ alg: "ES256", kid: k.kid }, claims(), { alg: "ES256", key: k.signingKey }));
      },
    },
    {
      name: "unknown kid",
      expect: "deny",
      authorization: async () => bearer(await mint(key("RS256"), claims(), { header: { kid: "no-such-kid" } })),
    },
    {
      name: "untrusted key without kid",
      expect: "deny",
      authorization: async () => bearer(await mint(impostors.get("RS256")!, claims(), { noKid: true })),
    },
    // Key selection: a JWKS key without kid is tried for any token (jwt_verify_lib skips a key only
    // when both name a kid and they differ); alg and key type still apply.
    {
      name: "kid-less JWKS key: signed by it, a kid no key has",
      expect: "allow",
      authorization: async () => bearer(await mint(kidless, claims(), { header: { kid: "rotated-2031" } })),
    },
    {
      name: "kid-less JWKS key: signed by it, no kid",
      expect: "allow",
      authorization: async () => bearer(await mint(kidless, claims(), { noKid: true })),
    },
    {
      name: "kid-less JWKS key: signed by it, the RS256 key's kid",
      expect: "allow",
      authorization: async () => bearer(await mint(kidless, claims(), { header: { kid: key("RS256").kid } })),
    },
    {
      name: "kid-less JWKS key: signed by an untrusted key, a kid no key has",
      expect: "deny",
      authorization: async () => bearer(await mint(impostors.get("ES256")!, claims(), { header: { kid: "rotated-2031" } })),
    },
    {
      name: "kid-less JWKS key: RS256 signed by an untrusted key, a kid no key has",
      expect: "deny",
      authorization: async () => bearer(await mint(impostors.get("RS256")!, claims(), { header: { kid: "rotated-2031" } })),
    },
    // Oversized tokens that are invalid anyway: both refuse (ours before reading them).
    {
      name: "oversized (>8 KiB) with a bad signature",
      expect: "deny",
      authorization: async () => bearer(tamperSignature(await oversized(key("RS256"), claims(), 9 * 1024))),
    },
    { name: "oversized (>8 KiB) garbage", expect: "deny", authorization: () => bearer("x".repeat(9 * 1024)) },
    {
      name: "oversized (>8 KiB) three segments that are not JSON",
      expect: "deny",
      authorization: () => bearer(["a", "b", "c"].map((c) => c.repeat(3 * 1024)).join(".")),
    },
    { name: "missing token", expect: "deny", authorization: () => undefined },
    { name: "empty bearer", expect: "deny", authorization: () => "Bearer " },
    { name: "another scheme (Basic)", expect: "deny", authorization: () => "Basic dXNlcjpwYXNz" },
  );
  for (const [name, build] of Object.entries(malformedTokensFrom())) {
    cases.push({ name: `malformed: ${name}`, expect: "deny", authorization: async () => bearer(await build()) });
  }
  return cases;
}

/** Malformed variants of a fresh good RS256 token, built lazily (keys exist only after beforeAll). */
function malformedTokensFrom(): Record<string, () => Promise<string>> {
  const names = Object.keys(malformedTokens("a.b.c"));
  return Object.fromEntries(names.map((n) => [n, async () => malformedTokens(await mint(key("RS256"), claims()))[n]!]));
}

const CASES = corpus();

beforeAll(async () => {
  keys = await generateKeys(JWT_AUTH_ALGORITHMS, "main");
  impostors = await generateKeys(["RS256", "PS256", "ES256", "ES384", "HS256", "EdDSA"], "impostor");
  kidless = await generateKey("ES256", "kidless");
  const jwks = { keys: [...jwksOf(keys.values()).keys, { ...kidless.jwk, kid: undefined }] };
  const up = await upstream();
  const ours: Json = wasmJwtFilter({
    providers: [{ name: "idp", issuer: ISSUER, audiences: [AUDIENCE], jwks, clock_skew_s: SKEW, require_exp: true, forward_token: false }],
    rules: [{ match: { path: { prefix: "/" } }, requires: ["idp"] }],
  });
  const native: Json = {
    name: "envoy.filters.http.jwt_authn",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
      providers: {
        idp: {
          issuer: ISSUER,
          audiences: [AUDIENCE],
          local_jwks: { inline_string: JSON.stringify(jwks) },
          forward: false,
          require_expiration: true,
          clock_skew_seconds: SKEW,
        },
      },
      rules: [{ match: { prefix: "/" }, requires: { provider_name: "idp" } }],
    },
  };
  e = await envoy({
    name: "jwt-auth-vs-native",
    config: bootstrap({
      listeners: [httpListener({ name: "ours", httpFilters: [ours] }), httpListener({ name: "native", httpFilters: [native] })],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);

function wasmJwtFilter(configuration: object): Json {
  return wasmHttpFilter({ file: filterWasm("jwt-auth"), name: "jwt_auth", rootId: "jwt-auth", configuration });
}

async function through(listener: "ours" | "native", authorization: string | undefined): Promise<HttpResponse> {
  const headers: [string, string][] = [["host", HOST]];
  if (authorization !== undefined) headers.push(["authorization", authorization]);
  return request(e.url("/resource?x=1", listener), { headers });
}

const verdict = (r: HttpResponse): "allow" | "deny" | "error" =>
  r.status === 200 ? "allow" : r.status === 401 || r.status === 403 ? "deny" : "error";

const codeTable: { name: string; ours: number; native: number }[] = [];

afterAll(() => {
  const differing = codeTable.filter((r) => r.ours !== r.native);
  console.info(
    `jwt-auth vs jwt_authn: ${codeTable.length} tokens, ${differing.length} with different status codes` +
      (differing.length ? `:\n${differing.map((r) => `  ${r.name}: ours ${r.ours}, native ${r.native}`).join("\n")}` : ""),
  );
});

describe("jwt-auth vs native jwt_authn (oracle), same JWKS", () => {
  for (const c of CASES) {
    it(`${c.expect === "allow" ? "allows" : "denies"} alike: ${c.name}`, async () => {
      const authorization = await c.authorization();
      const native = await through("native", authorization);
      const ours = await through("ours", authorization);
      codeTable.push({ name: c.name, ours: ours.status, native: native.status });
      const detail = `token case "${c.name}": native ${native.status} ${native.body.slice(0, 120)} | ours ${ours.status} ${ours.body.slice(0, 200)}`;
      // Never an error status from ours, whatever the token.
      expect(verdict(ours), detail).not.toBe("error");
      expect({ ours: verdict(ours), native: verdict(native) }, detail).toEqual({ ours: c.expect, native: c.expect });
      if (verdict(ours) === "allow") {
        // forward: false / forward_token: false on both sides: the upstream never sees the token.
        expect(echoedHeader(parseEcho(ours.body), "authorization"), detail).toEqual([]);
        expect(echoedHeader(parseEcho(native.body), "authorization"), detail).toEqual([]);
      }
    });
  }

  it("the corpus is not vacuous: allowed tokens reach the upstream, denied ones do not", async () => {
    const good = await mint(key("EdDSA"), claims({ sub: "alice" }));
    const ok = await through("ours", bearer(good));
    expect(ok.status).toBe(200);
    expect(parseEcho(ok.body).path).toBe("/resource?x=1");
    expect(decodePayload(good).sub).toBe("alice");
    const bad = await through("ours", bearer(tamperSignature(good)));
    expect(bad.status).toBe(401);
    expect(bad.body).not.toContain("/resource");
    // A fresh key nobody published is refused by both, with a kid the JWKS does not know.
    const stranger = await generateKey("RS256", "stranger");
    const s = await mint(stranger, claims());
    expect(verdict(await through("ours", bearer(s)))).toBe("deny");
    expect(verdict(await through("native", bearer(s)))).toBe("deny");
  });
});

// Deliberate differences, documented in filters/jwt-auth/README.md ("Differences from jwt_authn").
describe("documented differences from jwt_authn (each side asserted)", () => {
  it("a correctly signed token over max_token_bytes (8 KiB default): ours 401 'Jwt is too large', native 200 (it has no bound)", async () => {
    const t = await oversized(key("RS256"), claims(), 9 * 1024);
    const native = await through("native", bearer(t));
    const ours = await through("ours", bearer(t));
    expect(native.status, native.body.slice(0, 200)).toBe(200);
    expect(ours.status).toBe(401);
    expect(JSON.parse(ours.body)).toEqual({ error: "invalid_token", error_description: "Jwt is too large" });
    // Under the bound the same token shape is accepted by both: the size is the only reason.
    const fits = await oversized(key("RS256"), claims(), 7 * 1024);
    expect((await through("ours", bearer(fits))).status).toBe(200);
    expect((await through("native", bearer(fits))).status).toBe(200);
  });

  // b64: false (RFC 7797) is signed here over the base64url payload, as a verifier that ignores b64
  // checks it: native accepts it, ours refuses it for the header alone.
  it.each([
    ["crit", { crit: ["exp"], exp: nowSeconds() + 3600 }],
    ["b64: false (RFC 7797) with crit: [b64]", { b64: false, crit: ["b64"] }],
    ["b64: false (RFC 7797) without crit", { b64: false }],
  ])(
    "a correctly signed token whose header has %s: ours 401 (RFC 7515 §4.1.11), native 200 (jwt_verify_lib ignores it)",
    async (_what, extra) => {
      const k = key("ES256");
      const t = assemble({ alg: "ES256", kid: k.kid, typ: "JWT", ...extra }, claims(), {
        alg: "ES256",
        key: k.signingKey,
      });
      const native = await through("native", bearer(t));
      const ours = await through("ours", bearer(t));
      expect(native.status, native.body.slice(0, 200)).toBe(200);
      expect(ours.status).toBe(401);
      expect(JSON.parse(ours.body)).toEqual({
        error: "invalid_token",
        error_description: "Jwt header has an unsupported critical parameter",
      });
    },
  );
});
