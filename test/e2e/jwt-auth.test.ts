// jwt-auth in a real Envoy 1.40: where tokens are read from and that they are stripped, claims
// forwarded as headers (and client-sent copies removed), rules, failure responses exactly as
// documented, metrics, two worker threads, remote JWKS (rotation, IdP down, first fetch failing),
// refused configurations, and the shipped example config against the demo upstream.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  algNone,
  assemble,
  bootstrap,
  echoedHeader,
  filterWasm,
  generateKey,
  hmacWithPublicKey,
  httpListener,
  jwksOf,
  loadExampleConfig,
  malformedTokens,
  mint,
  nowSeconds,
  oversized,
  parseEcho,
  payloadSegment,
  pollUntil,
  repoRoot,
  request,
  staticCluster,
  startEnvoyExpectFailure,
  startJwksServer,
  tamperSignature,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Claims,
  type EchoRecord,
  type Envoy,
  type EchoUpstream,
  type HttpResponse,
  type JwksServer,
  type Json,
  type TestKey,
} from "../support/index.js";

const WASM = filterWasm("jwt-auth");
const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const HOST = "api.example.test";
const IDP = "https://idp.example.com";
const PARTNER = "https://partner.example.com";
const SCOPED = "https://scoped.example.com";

function jwtFilter(config: object, name = "jwt_auth"): Json {
  return wasmHttpFilter({ file: WASM, name, rootId: "jwt-auth", vmId: name, configuration: config });
}

/** A route with a name (for `routes` rules). */
const namedRoute = (name: string, prefix: string): Json => ({ name, match: { prefix }, route: { cluster: "upstream" } });

let idpRsa: TestKey, idpEs: TestKey, partnerEd: TestKey, scopedRsa: TestKey, scopedEs: TestKey, stranger: TestKey;

const idpClaims = (extra: Claims = {}, now = nowSeconds()): Claims => ({
  iss: IDP,
  aud: "api",
  sub: "user-1",
  iat: now,
  exp: now + 3600,
  ...extra,
});
const partnerClaims = (extra: Claims = {}, now = nowSeconds()): Claims => ({
  iss: PARTNER,
  sub: "partner-7",
  iat: now,
  exp: now + 3600,
  ...extra,
});
const scopedClaims = (extra: Claims = {}, now = nowSeconds()): Claims => ({
  iss: SCOPED,
  aud: "scoped-api",
  sub: "s-1",
  email: "s@example.com",
  iat: now,
  exp: now + 3600,
  ...extra,
});

function mainConfig(): object {
  return {
    providers: [
      {
        name: "idp",
        issuer: IDP,
        audiences: ["api"],
        jwks: jwksOf([idpRsa, idpEs]),
        from: [{ header: "authorization", prefix: "Bearer " }, { header: "x-token" }, { query: "access_token" }, { cookie: "jwt" }],
        required_claims: ["sub"],
        claims_to_headers: [
          { claim: "sub", header: "x-jwt-sub" },
          { claim: "email", header: "x-jwt-email" },
          { claim: "realm.roles", header: "x-jwt-roles" },
          { claim: "realm", header: "x-jwt-realm" },
          { claim: "tenant.id", header: "x-jwt-tenant" },
          { claim: "admin", header: "x-jwt-admin" },
        ],
        payload_header: "x-jwt-payload",
      },
      {
        name: "partner",
        issuer: PARTNER,
        jwks: jwksOf([partnerEd]),
        claims_to_headers: [{ claim: "sub", header: "x-partner-sub" }],
      },
      {
        name: "scoped",
        issuer: SCOPED,
        audiences: ["scoped-api"],
        algorithms: ["RS256"],
        jwks: jwksOf([scopedRsa, scopedEs]),
        required_claims: ["email"],
      },
    ],
    rules: [
      { match: { path: { prefix: "/public/" } }, requires: [] },
      { match: { path: { prefix: "/optional/" } }, requires: ["idp"], allow_missing: true },
      { match: { path: { prefix: "/api/" }, methods: ["POST", "DELETE"] }, requires: ["partner"] },
      { match: { routes: ["partner-route"] }, requires: ["partner"] },
      { match: { path: { prefix: "/any/" } }, requires: ["idp", "partner"] },
      { match: { path: { prefix: "/api/" } }, requires: ["idp"] },
      { match: { path: { prefix: "/scoped/" } }, requires: ["scoped"] },
      { match: { headers: [{ name: "x-require-jwt", present: true }] }, requires: ["idp"] },
    ],
  };
}

function fwdConfig(): object {
  return {
    stat_prefix: "fwd",
    providers: [
      {
        name: "idp",
        issuer: IDP,
        jwks: jwksOf([idpRsa]),
        from: [{ header: "x-token" }, { query: "access_token" }],
        forward_token: true,
        require_exp: false,
        clock_skew_s: 0,
        max_token_bytes: 2048,
      },
    ],
    rules: [{ match: {}, requires: ["idp"] }],
  };
}

let e: Envoy;
let up: EchoUpstream;

beforeAll(async () => {
  [idpRsa, idpEs, partnerEd, scopedRsa, scopedEs, stranger] = await Promise.all([
    generateKey("RS256", "idp-rs"),
    generateKey("ES256", "idp-es"),
    generateKey("EdDSA", "partner-ed"),
    generateKey("RS256", "scoped-rs"),
    generateKey("ES256", "scoped-es"),
    generateKey("RS256", "idp-rs"),
  ]);
  up = await upstream();
  const main = httpListener({
    name: "main",
    httpFilters: [jwtFilter(mainConfig())],
    routes: [namedRoute("partner-route", "/partner-route/"), namedRoute("default", "/")],
  });
  main.stat_prefix = "main"; // per-worker listener stats under listener.main.worker_<n>.
  e = await envoy({
    name: "jwt-auth",
    concurrency: 2,
    config: bootstrap({
      listeners: [main, httpListener({ name: "fwd", httpFilters: [jwtFilter(fwdConfig(), "jwt_fwd")] })],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);

type Headers = [string, string][];

async function send(path: string, headers: Headers = [], o: { method?: string; listener?: string } = {}): Promise<HttpResponse> {
  return request(e.url(path, o.listener ?? "main"), { method: o.method ?? "GET", headers: [["host", HOST], ...headers] });
}

/** Sends and expects the request to reach the upstream; returns what the upstream saw. */
async function allowed(path: string, headers: Headers = [], o: { method?: string; listener?: string } = {}): Promise<EchoRecord> {
  const res = await send(path, headers, o);
  expect(res.status, `${o.method ?? "GET"} ${path}: ${res.body}`).toBe(200);
  return parseEcho(res.body);
}

const bearer = (t: string): [string, string] => ["authorization", `Bearer ${t}`];

interface Failure {
  status: number;
  error: string;
  description: string;
  wwwAuthenticate: string;
}

/** Checks the documented shape of a refusal and returns its parts. */
function refusal(res: HttpResponse): Failure {
  const www = res.header("www-authenticate") ?? "";
  let body: Record<string, unknown> = {};
  try {
    body = res.json<Record<string, unknown>>();
  } catch {
    throw new Error(`refusal body is not JSON: ${res.status} ${res.body}`);
  }
  expect(Object.keys(body).sort(), res.body).toEqual(["error", "error_description"]);
  return { status: res.status, error: String(body.error), description: String(body.error_description), wwwAuthenticate: www };
}

function expectInvalidToken(res: HttpResponse, what: string): Failure {
  expect(res.status, `${what}: ${res.body}`).toBe(401);
  const f = refusal(res);
  expect(f.error, what).toBe("invalid_token");
  expect(f.description.length, what).toBeGreaterThan(0);
  expect(f.wwwAuthenticate, what).toBe(`Bearer realm="${HOST}", error="invalid_token", error_description="${f.description}"`);
  return f;
}

function expectInsufficientScope(res: HttpResponse, what: string): Failure {
  expect(res.status, `${what}: ${res.body}`).toBe(403);
  const f = refusal(res);
  expect(f.error, what).toBe("insufficient_scope");
  expect(f.wwwAuthenticate, what).toBe(`Bearer realm="${HOST}", error="insufficient_scope", error_description="${f.description}"`);
  return f;
}

function expectMissing(res: HttpResponse, what: string): void {
  expect(res.status, `${what}: ${res.body}`).toBe(401);
  expect(res.header("www-authenticate"), what).toBe(`Bearer realm="${HOST}"`);
  expect(res.json(), what).toEqual({ error: "missing_token", error_description: "Jwt is missing" });
}

describe("jwt-auth token sources", () => {
  it("reads a Bearer token from Authorization and strips it", async () => {
    const seen = await allowed("/api/items", [bearer(await mint(idpRsa, idpClaims()))]);
    expect(echoedHeader(seen, "authorization")).toEqual([]);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["user-1"]);
  });

  it("reads a token from a custom header and strips it", async () => {
    const seen = await allowed("/api/items", [
      ["x-token", await mint(idpEs, idpClaims())],
      ["x-other", "kept"],
    ]);
    expect(echoedHeader(seen, "x-token")).toEqual([]);
    expect(echoedHeader(seen, "x-other")).toEqual(["kept"]);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["user-1"]);
  });

  it("reads a token from a query parameter and removes only that parameter", async () => {
    const t = await mint(idpRsa, idpClaims());
    const seen = await allowed(`/api/items?a=1&access_token=${t}&b=two`);
    expect(seen.path).toBe("/api/items?a=1&b=two");
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["user-1"]);
    const alone = await allowed(`/api/items?access_token=${t}`);
    expect(alone.path).not.toContain("access_token");
    expect(alone.path.startsWith("/api/items")).toBe(true);
  });

  it("reads a token from a cookie and removes only that cookie", async () => {
    const t = await mint(idpRsa, idpClaims());
    const seen = await allowed("/api/items", [["cookie", `a=1; jwt=${t}; b=2`]]);
    expect(echoedHeader(seen, "cookie").join("; ")).toBe("a=1; b=2");
    const alone = await allowed("/api/items", [["cookie", `jwt=${t}`]]);
    expect(echoedHeader(alone, "cookie").join(";")).not.toContain("jwt=");
    expect(echoedHeader(alone, "x-jwt-sub")).toEqual(["user-1"]);
  });

  it("does not take a token from a source the provider does not list", async () => {
    // The partner provider reads only Authorization: Bearer (the default).
    const t = await mint(partnerEd, partnerClaims());
    expectMissing(await send("/api/items", [["x-token", t]], { method: "POST" }), "partner token in x-token");
    expect((await send("/api/items", [bearer(t)], { method: "POST" })).status).toBe(200);
  });

  it("keeps the token where it was found with forward_token", async () => {
    const t = await mint(idpRsa, idpClaims());
    const seen = await allowed("/x", [["x-token", t]], { listener: "fwd" });
    expect(echoedHeader(seen, "x-token")).toEqual([t]);
    const q = await allowed(`/x?access_token=${t}&z=1`, [], { listener: "fwd" });
    expect(q.path).toBe(`/x?access_token=${t}&z=1`);
  });
});

describe("jwt-auth claims to headers", () => {
  it("forwards plain, nested, numeric, boolean, array and object claims", async () => {
    const seen = await allowed("/api/items", [
      bearer(
        await mint(
          idpRsa,
          idpClaims({
            email: "u@example.com",
            realm: { roles: ["admin", "dev"] },
            tenant: { id: 42 },
            admin: true,
          }),
        ),
      ),
    ]);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["user-1"]);
    expect(echoedHeader(seen, "x-jwt-email")).toEqual(["u@example.com"]);
    expect(JSON.parse(echoedHeader(seen, "x-jwt-roles")[0] ?? "null")).toEqual(["admin", "dev"]);
    expect(JSON.parse(echoedHeader(seen, "x-jwt-realm")[0] ?? "null")).toEqual({ roles: ["admin", "dev"] });
    expect(echoedHeader(seen, "x-jwt-tenant")).toEqual(["42"]);
    expect(echoedHeader(seen, "x-jwt-admin")).toEqual(["true"]);
  });

  it("removes client-sent copies of the claim headers, also when the token lacks the claim", async () => {
    const t = await mint(idpRsa, idpClaims()); // no email, realm, tenant or admin claim
    const seen = await allowed("/api/items", [
      bearer(t),
      ["x-jwt-sub", "forged"],
      ["x-jwt-sub", "forged-2"],
      ["x-jwt-email", "ceo@example.com"],
      ["X-JWT-Roles", '["admin"]'],
      ["x-jwt-tenant", "1"],
      ["x-jwt-admin", "true"],
      ["x-jwt-payload", "forged"],
    ]);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["user-1"]);
    expect(echoedHeader(seen, "x-jwt-email")).toEqual([]);
    expect(echoedHeader(seen, "x-jwt-roles")).toEqual([]);
    expect(echoedHeader(seen, "x-jwt-tenant")).toEqual([]);
    expect(echoedHeader(seen, "x-jwt-admin")).toEqual([]);
    expect(echoedHeader(seen, "x-jwt-payload")).toEqual([payloadSegment(t)]);
  });

  // Envoy's default headers_with_underscores_action (ALLOW, as in this static config) forwards
  // `x_jwt_sub`; an upstream that folds `_` into `-` (CGI, PHP-FPM, WSGI, nginx with
  // underscores_in_headers) would read it as the verified subject.
  it("removes client-sent spellings that fold to a claim header (x_jwt_sub, X_Jwt-Sub, x-jwt_sub)", async () => {
    const t = await mint(idpRsa, idpClaims());
    const spoofed: Headers = [
      ["x_jwt_sub", "admin"],
      ["X_Jwt-Sub", "admin"],
      ["x-jwt_sub", "admin"],
      ["x_jwt_email", "ceo@example.com"],
      ["x_jwt_payload", "e30"],
    ];
    const folded = (seen: EchoRecord) => seen.headers.filter(([n]) => /^x[-_]jwt[-_]/i.test(n));
    const verified = await allowed("/api/items", [bearer(t), ...spoofed, ["x_other", "kept"]]);
    expect(folded(verified)).toEqual([
      ["x-jwt-sub", "user-1"],
      ["x-jwt-payload", payloadSegment(t)],
    ]);
    expect(echoedHeader(verified, "x_other"), "a header that is not an identity header stays").toEqual(["kept"]);
    // Also where no token is verified: an open route and an optional token left out.
    for (const path of ["/public/x", "/optional/x"]) expect(folded(await allowed(path, spoofed)), path).toEqual([]);
  });

  it("forwards the payload as in the token (base64url) with payload_header", async () => {
    const t = await mint(idpEs, idpClaims({ email: "p@example.com" }));
    const seen = await allowed("/api/items", [bearer(t)]);
    const forwarded = echoedHeader(seen, "x-jwt-payload");
    expect(forwarded).toEqual([payloadSegment(t)]);
    expect(JSON.parse(Buffer.from(forwarded[0]!, "base64url").toString("utf8"))).toMatchObject({ email: "p@example.com", iss: IDP });
  });
});

describe("jwt-auth rules", () => {
  it("lets /public/ through without any check, even with a bad token", async () => {
    await allowed("/public/logo.png");
    await allowed("/public/logo.png", [bearer("garbage")]);
  });

  it("lets a request that matches no rule through without checks", async () => {
    await allowed("/elsewhere");
    await allowed("/elsewhere", [bearer(tamperSignature(await mint(idpRsa, idpClaims())))]);
  });

  it("allow_missing: no token passes, a good one is verified, a bad one is refused", async () => {
    await allowed("/optional/feed");
    const seen = await allowed("/optional/feed", [bearer(await mint(idpRsa, idpClaims()))]);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["user-1"]);
    expectInvalidToken(await send("/optional/feed", [bearer(tamperSignature(await mint(idpRsa, idpClaims())))]), "bad token on optional");
    expectInvalidToken(
      await send("/optional/feed", [bearer(await mint(idpRsa, idpClaims({ exp: nowSeconds() - 600 })))]),
      "expired token on optional",
    );
  });

  it("matches on method: POST /api/ needs the partner, GET /api/ the idp", async () => {
    const idp = await mint(idpRsa, idpClaims());
    const partner = await mint(partnerEd, partnerClaims());
    const seen = await allowed("/api/items", [bearer(partner)], { method: "POST" });
    expect(echoedHeader(seen, "x-partner-sub")).toEqual(["partner-7"]);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual([]);
    expectInvalidToken(await send("/api/items", [bearer(idp)], { method: "POST" }), "idp token on POST /api/");
    expectInvalidToken(await send("/api/items", [bearer(idp)], { method: "DELETE" }), "idp token on DELETE /api/");
    await allowed("/api/items", [bearer(idp)], { method: "GET" });
    expectInvalidToken(await send("/api/items", [bearer(partner)]), "partner token on GET /api/");
  });

  it("matches on Envoy's route name", async () => {
    await allowed("/partner-route/x", [bearer(await mint(partnerEd, partnerClaims()))]);
    expectInvalidToken(await send("/partner-route/x", [bearer(await mint(idpRsa, idpClaims()))]), "idp token on partner route");
    expectMissing(await send("/partner-route/x"), "no token on partner route");
  });

  it("matches on a request header", async () => {
    expectMissing(await send("/other", [["x-require-jwt", "1"]]), "x-require-jwt without token");
    await allowed("/other", [["x-require-jwt", "1"], bearer(await mint(idpRsa, idpClaims()))]);
  });

  it("accepts any of the listed providers", async () => {
    const a = await allowed("/any/thing", [bearer(await mint(idpRsa, idpClaims()))]);
    expect(echoedHeader(a, "x-jwt-sub")).toEqual(["user-1"]);
    const b = await allowed("/any/thing", [bearer(await mint(partnerEd, partnerClaims()))]);
    expect(echoedHeader(b, "x-partner-sub")).toEqual(["partner-7"]);
    expect(echoedHeader(b, "authorization")).toEqual([]);
    expectInvalidToken(await send("/any/thing", [bearer(await mint(scopedRsa, scopedClaims()))]), "token of a provider not listed");
    expectMissing(await send("/any/thing"), "no token on any-of");
  });
});

describe("jwt-auth failure responses", () => {
  it("answers a missing token with 401, a bare Bearer challenge and missing_token", async () => {
    expectMissing(await send("/api/items"), "no Authorization");
    expectMissing(await send("/api/items", [["authorization", "Basic dXNlcjpwYXNz"]]), "Basic credentials");
  });

  it("answers every kind of invalid token with 401 invalid_token, never a 5xx", async () => {
    const now = nowSeconds();
    const good = await mint(idpRsa, idpClaims());
    const tokens: Record<string, string> = {
      expired: await mint(idpRsa, idpClaims({ exp: now - 3600 })),
      "not yet valid (nbf)": await mint(idpRsa, idpClaims({ nbf: now + 3600 })),
      "issued in the future (iat)": await mint(idpRsa, idpClaims({ iat: now + 3600 })),
      "no exp": await mint(idpRsa, (({ exp: _, ...c }) => c)(idpClaims())),
      "wrong issuer": await mint(idpRsa, idpClaims({ iss: "https://evil.example.com" })),
      "bad signature": tamperSignature(good),
      "wrong key with the trusted kid": await mint(stranger, idpClaims()),
      "unknown kid": await mint(idpRsa, idpClaims(), { header: { kid: "nope" } }),
      "alg none": algNone(idpClaims()),
      "alg none with kid": algNone(idpClaims(), { kid: idpRsa.kid }),
      "HS256 keyed with the RSA public key": hmacWithPublicKey(idpRsa, idpClaims()),
      "HS256 keyed with the EC public key": hmacWithPublicKey(idpEs, idpClaims()),
      "unknown alg": assemble({ alg: "RS1024", kid: idpRsa.kid }, idpClaims(), { alg: "RS256", key: idpRsa.signingKey }),
      "oversized (9 KiB, correctly signed)": await oversized(idpRsa, idpClaims(), 9 * 1024),
      "embedded jwk header with an attacker key": await mint(stranger, idpClaims(), { header: { kid: "attacker", jwk: stranger.jwk } }),
      "jku header pointing elsewhere": await mint(stranger, idpClaims(), {
        header: { kid: "attacker", jku: "http://127.0.0.1:1/jwks.json" },
      }),
      ...Object.fromEntries(Object.entries(malformedTokens(good)).map(([k, v]) => [`malformed: ${k}`, v])),
    };
    const descriptions = new Set<string>();
    for (const [what, t] of Object.entries(tokens)) {
      descriptions.add(expectInvalidToken(await send("/api/items", [bearer(t)]), what).description);
    }
    // The reason is specific, not one catch-all text.
    expect(descriptions.size).toBeGreaterThan(3);
    // Same tokens in the other sources are refused the same way.
    expectInvalidToken(await send("/api/items", [["x-token", tamperSignature(good)]]), "bad signature in x-token");
    expectInvalidToken(await send(`/api/items?access_token=${tamperSignature(good)}`), "bad signature in the query");
    expectInvalidToken(await send("/api/items", [["cookie", `jwt=${tamperSignature(good)}`]]), "bad signature in a cookie");
  });

  it("refuses an algorithm outside the provider's allow-list even though the JWKS has the key", async () => {
    await allowed("/scoped/x", [bearer(await mint(scopedRsa, scopedClaims()))]);
    expectInvalidToken(await send("/scoped/x", [bearer(await mint(scopedEs, scopedClaims()))]), "ES256 with algorithms [RS256]");
  });

  it("answers a valid token failing audience or required claims with 403 insufficient_scope", async () => {
    expectInsufficientScope(await send("/scoped/x", [bearer(await mint(scopedRsa, scopedClaims({ aud: "other" })))]), "wrong audience");
    expectInsufficientScope(
      await send("/scoped/x", [bearer(await mint(scopedRsa, (({ aud: _, ...c }) => c)(scopedClaims())))]),
      "no audience",
    );
    expectInsufficientScope(
      await send("/scoped/x", [bearer(await mint(scopedRsa, (({ email: _, ...c }) => c)(scopedClaims())))]),
      "no email (required)",
    );
    expectInsufficientScope(
      await send("/api/items", [bearer(await mint(idpRsa, (({ sub: _, ...c }) => c)(idpClaims())))]),
      "no sub (required)",
    );
    await allowed("/api/items", [bearer(await mint(idpRsa, idpClaims({ aud: ["x", "api"] })))]);
  });

  it("applies the per-provider options: no skew, exp not required, a smaller size bound", async () => {
    const now = nowSeconds();
    await allowed("/x", [["x-token", await mint(idpRsa, { iss: IDP, sub: "no-exp", iat: now })]], { listener: "fwd" });
    // clock_skew_s 0: five seconds past exp is expired (the default 60s skew would accept it).
    expect((await send("/x", [["x-token", await mint(idpRsa, { iss: IDP, exp: now - 5 })]], { listener: "fwd" })).status).toBe(401);
    expect((await send("/api/items", [bearer(await mint(idpRsa, idpClaims({ exp: now - 5 })))])).status).toBe(200);
    // max_token_bytes 2048.
    expect((await send("/x", [["x-token", await oversized(idpRsa, { iss: IDP, exp: now + 60 }, 2100)]], { listener: "fwd" })).status).toBe(
      401,
    );
    await allowed("/x", [["x-token", await oversized(idpRsa, { iss: IDP, exp: now + 60 }, 1200)]], { listener: "fwd" });
  });
});

describe("jwt-auth metrics", () => {
  const delta = (before: Map<string, number>, after: Map<string, number>, k: string) =>
    (after.get(`wasmcustom.${k}`) ?? 0) - (before.get(`wasmcustom.${k}`) ?? 0);

  it("counts allowed, denied and missing per provider, with stat_prefix, on /stats and /stats/prometheus", async () => {
    const filter = "portico\\.jwt_auth\\.";
    const before = await e.stats(filter);
    const t = await mint(idpRsa, idpClaims());
    await allowed("/api/items", [bearer(t)]);
    await allowed("/api/items", [bearer(t)]);
    await send("/api/items", [bearer(tamperSignature(t))]);
    await send("/api/items"); // missing
    await allowed("/api/items", [bearer(await mint(partnerEd, partnerClaims()))], { method: "POST" });
    await allowed("/x", [["x-token", t]], { listener: "fwd" });
    await send("/x", [], { listener: "fwd" });
    await send("/x", [["x-token", "garbage"]], { listener: "fwd" });
    const after = await e.stats(filter);
    expect(delta(before, after, "portico.jwt_auth.idp.allowed_total")).toBe(2);
    expect(delta(before, after, "portico.jwt_auth.idp.denied_total")).toBe(1);
    expect(delta(before, after, "portico.jwt_auth.denied_missing_total")).toBe(1);
    expect(delta(before, after, "portico.jwt_auth.partner.allowed_total")).toBe(1);
    expect(delta(before, after, "portico.jwt_auth.partner.denied_total")).toBe(0);
    expect(delta(before, after, "portico.jwt_auth.fwd.idp.allowed_total")).toBe(1);
    expect(delta(before, after, "portico.jwt_auth.fwd.idp.denied_total")).toBe(1);
    expect(delta(before, after, "portico.jwt_auth.fwd.denied_missing_total")).toBe(1);
    const prom = await e.promStats();
    for (const name of [
      "portico_jwt_auth_idp_allowed_total",
      "portico_jwt_auth_idp_denied_total",
      "portico_jwt_auth_denied_missing_total",
      "portico_jwt_auth_partner_allowed_total",
      "portico_jwt_auth_fwd_idp_allowed_total",
      "portico_jwt_auth_fwd_denied_missing_total",
    ]) {
      expect(prom).toMatch(new RegExp(`^${name}\\{\\} \\d+$`, "m"));
    }
  });
});

describe("jwt-auth on two worker threads", () => {
  it("verifies on both workers, and the counters add up across them", async () => {
    const filter = "(portico\\.jwt_auth\\.idp\\.allowed_total|listener\\.main\\.worker_)";
    const before = await e.stats(filter);
    const t = await mint(idpEs, idpClaims());
    const results = await Promise.all(Array.from({ length: 40 }, () => send("/api/items", [bearer(t)])));
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    const after = await e.stats(filter);
    const cx = (w: number) =>
      (after.get(`listener.main.worker_${w}.downstream_cx_total`) ?? 0) -
      (before.get(`listener.main.worker_${w}.downstream_cx_total`) ?? 0);
    expect(cx(0), "connections on worker 0").toBeGreaterThan(0);
    expect(cx(1), "connections on worker 1").toBeGreaterThan(0);
    expect(
      (after.get("wasmcustom.portico.jwt_auth.idp.allowed_total") ?? 0) -
        (before.get("wasmcustom.portico.jwt_auth.idp.allowed_total") ?? 0),
    ).toBe(40);
  });
});

// ---- remote JWKS -------------------------------------------------------------------------------

describe("jwt-auth remote JWKS", () => {
  const remoteEnvoy = useEnvoy("each");
  const servers: JwksServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function jwksServer(keys: TestKey[]): Promise<JwksServer> {
    const s = await startJwksServer({ jwks: jwksOf(keys) });
    servers.push(s);
    return s;
  }

  function remoteConfig(o: { timeoutMs?: number; minRefreshS?: number } = {}): object {
    return {
      stat_prefix: "remote",
      providers: [
        {
          name: "idp",
          issuer: IDP,
          audiences: ["api"],
          remote_jwks: {
            cluster: "jwks",
            path: "/.well-known/jwks.json",
            authority: "idp.example.com",
            timeout_ms: o.timeoutMs ?? 2000,
            refresh_s: 300,
            min_refresh_s: o.minRefreshS ?? 1,
          },
          claims_to_headers: [{ claim: "sub", header: "x-jwt-sub" }],
        },
      ],
      rules: [{ match: {}, requires: ["idp"] }],
    };
  }

  async function startRemote(jwks: JwksServer, o: { timeoutMs?: number; minRefreshS?: number } = {}): Promise<Envoy> {
    return remoteEnvoy({
      name: "jwt-auth-remote",
      concurrency: 2,
      config: bootstrap({
        listeners: [httpListener({ name: "remote", httpFilters: [jwtFilter(remoteConfig(o), "jwt_remote")] })],
        clusters: [staticCluster("upstream", up.port), staticCluster("jwks", jwks.port)],
      }),
    });
  }

  /** Resolves once `value` has not changed for `quietMs` (background fetching has settled). */
  async function quiet(value: () => number | Promise<number>, quietMs: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = await value();
    let since = Date.now();
    while (Date.now() - since < quietMs) {
      if (Date.now() > deadline) throw new Error(`still changing after ${timeoutMs} ms (last value ${last})`);
      await new Promise((r) => setTimeout(r, 100));
      const v = await value();
      if (v !== last) [last, since] = [v, Date.now()];
    }
  }

  const call = (r: Envoy, token?: string) =>
    request(r.url("/resource"), { headers: [["host", HOST], ...(token ? [bearer(token)] : [])], timeoutMs: 15_000 });
  const statOf = async (r: Envoy, name: string) =>
    (await r.stats(`portico\\.jwt_auth\\.remote\\.`)).get(`wasmcustom.portico.jwt_auth.remote.${name}`) ?? 0;

  it("fetches the key set through the cluster once, for both workers", async () => {
    const k1 = await generateKey("RS256", "k1");
    const jwks = await jwksServer([k1]);
    jwks.setDelay(500); // the first requests arrive while the fetch is in flight and must wait for it
    const r = await startRemote(jwks);
    const t = await mint(k1, idpClaims());
    const results = await Promise.all(Array.from({ length: 20 }, () => call(r, t)));
    expect(results.map((x) => x.status)).toEqual(Array(20).fill(200));
    expect(echoedHeader(parseEcho(results[0]!.body), "x-jwt-sub")).toEqual(["user-1"]);
    await quiet(() => jwks.fetches, 1500); // no worker fetches again on its own within refresh_s
    const fetched = jwks.requests.filter((q) => q.path === "/.well-known/jwks.json");
    expect(fetched.length, "fetches of the JWKS (shared by both workers)").toBe(1);
    expect(fetched[0]!.method).toBe("GET");
    expect(fetched[0]!.headers.host).toBe("idp.example.com");
    expect(await statOf(r, "idp.jwks_fetch_total")).toBe(1);
    expect(await statOf(r, "idp.jwks_fetch_failure_total")).toBe(0);
    // Configuring declared the cluster (declareClusters, for the control plane's check): Envoy
    // answers that foreign function NotFound and logs nothing about it.
    expect(
      r
        .logs()
        .split("\n")
        .filter((l) => /\[(warning|error|critical)\]\[wasm\]/.test(l) || /foreign|declare_clusters/i.test(l)),
    ).toEqual([]);
  });

  it("picks up a rotated key (new kid) without a restart, and drops the retired one", async () => {
    const [k1, k2] = await Promise.all([generateKey("RS256", "k1"), generateKey("ES256", "k2")]);
    const jwks = await jwksServer([k1]);
    const r = await startRemote(jwks);
    expect((await call(r, await mint(k1, idpClaims()))).status).toBe(200);
    // Let start-up fetching finish (min_refresh_s is 1s), so only the new kid can cause a refetch.
    await quiet(() => jwks.fetches, 1500);
    const fetchesBefore = jwks.fetches;
    jwks.setJwks(jwksOf([k2]));
    const t2 = await mint(k2, idpClaims());
    const first = await call(r, t2);
    // A token with an unknown kid triggers a refetch; it is accepted once the new set is in.
    await pollUntil(
      () => call(r, t2).then((x) => x.status),
      (s) => s === 200,
      { what: `token with the new kid accepted (first answer ${first.status})` },
    );
    expect(jwks.fetches).toBeGreaterThan(fetchesBefore);
    expect(jwks.fetches - fetchesBefore, "refetches for the new kid").toBeLessThanOrEqual(2);
    // Each worker installs the new set from shared data on its next tick (200 ms), so the retired
    // key is refused everywhere within that window. A refused batch of fresh connections proves
    // it only for the workers the kernel gave them to (all 8 can land on one worker), so batches
    // must keep being refused for longer than a tick: by then every worker has ticked since the
    // first refusal, and each has the new set.
    const batch = async () => Promise.all(Array.from({ length: 8 }, async () => call(r, await mint(k1, idpClaims()))));
    let refusedSince: number | undefined;
    const retired = await pollUntil(
      batch,
      (xs) => {
        if (!xs.every((x) => x.status === 401)) {
          refusedSince = undefined;
          return false;
        }
        refusedSince ??= performance.now();
        return performance.now() - refusedSince >= 250;
      },
      { timeoutMs: 3000, intervalMs: 50, what: "retired key refused by every worker for longer than a tick" },
    );
    for (const x of retired) expectInvalidTokenOn(x, "retired key after rotation");
    for (let i = 0; i < 10; i++) expectInvalidTokenOn(await call(r, await mint(k1, idpClaims())), "retired key, later requests");
    if (first.status !== 200) console.info(`remote JWKS: the first request with the new kid got ${first.status}, later ones 200`);
  });

  it("keeps serving the last good key set while the JWKS server is down", async () => {
    const k1 = await generateKey("RS256", "k1");
    const jwks = await jwksServer([k1]);
    const r = await startRemote(jwks);
    const t = await mint(k1, idpClaims());
    expect((await call(r, t)).status).toBe(200);
    await jwks.stop();
    // Right after the first fetch, on either worker (fresh connections spread over both).
    const soon = await Promise.all(Array.from({ length: 10 }, () => call(r, t)));
    expect(
      soon.map((x) => x.status),
      "requests right after the IdP went down",
    ).toEqual(Array(10).fill(200));
    await quiet(async () => statOf(r, "idp.jwks_fetch_total"), 1500);
    // An unknown kid makes the filter try to refetch, which fails: the old keys stay.
    const failuresBefore = await statOf(r, "idp.jwks_fetch_failure_total");
    const unknown = await mint(await generateKey("RS256", "k-unknown"), idpClaims());
    expectInvalidTokenOn(await call(r, unknown), "unknown kid while the JWKS server is down");
    await pollUntil(
      () => statOf(r, "idp.jwks_fetch_failure_total"),
      (n) => n > failuresBefore,
      { what: "jwks_fetch_failure_total increased" },
    );
    const again = await Promise.all(Array.from({ length: 10 }, () => call(r, t)));
    expect(again.map((x) => x.status)).toEqual(Array(10).fill(200));
  });

  it("refuses with 401 when the first fetch fails, and recovers when the server comes back", async () => {
    const k1 = await generateKey("RS256", "k1");
    const jwks = await jwksServer([k1]);
    await jwks.stop(); // the port stays ours to reuse
    const r = await startRemote(jwks, { timeoutMs: 1000, minRefreshS: 1 });
    const t = await mint(k1, idpClaims());
    const started = Date.now();
    const res = await call(r, t);
    expectInvalidTokenOn(res, "token before any successful fetch");
    expect(Date.now() - started, "the request waits at most about timeout_ms").toBeLessThan(1000 + 3000);
    await pollUntil(
      () => statOf(r, "idp.jwks_fetch_failure_total"),
      (n) => n >= 1,
      { what: "a failed fetch counted" },
    );
    await jwks.start();
    await pollUntil(
      () => call(r, t).then((x) => x.status),
      (s) => s === 200,
      { what: "recovery after the JWKS server came back", timeoutMs: 20_000 },
    );
    expect(jwks.fetches).toBeGreaterThanOrEqual(1);
  });

  it("answers 401 after timeout_ms when the JWKS server does not answer in time", async () => {
    const k1 = await generateKey("RS256", "k1");
    const jwks = await jwksServer([k1]);
    jwks.setDelay(8000);
    const r = await startRemote(jwks, { timeoutMs: 1000 });
    const started = Date.now();
    const res = await call(r, await mint(k1, idpClaims()));
    const took = Date.now() - started;
    expectInvalidTokenOn(res, "token while the first fetch times out");
    expect(took, "answered after about timeout_ms, not after the server's 8s").toBeLessThan(5000);
  });

  function expectInvalidTokenOn(res: HttpResponse, what: string) {
    expect(res.status, `${what}: ${res.body}`).toBe(401);
    expect(refusal(res).error, what).toBe("invalid_token");
  }
});

// ---- configuration errors ---------------------------------------------------------------------------

describe("jwt-auth bad configurations", () => {
  const weakRsaJwk = {
    ...(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" }) as object),
    kid: "weak",
    alg: "RS256",
  };
  const jwks = { keys: [{ kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg", kid: "h", alg: "HS256" }] };
  const provider = { name: "idp", issuer: IDP, jwks };
  const rules = [{ match: {}, requires: ["idp"] }];
  // Each config has exactly one problem.
  const bad: { what: string; config: unknown; field: RegExp | string }[] = [
    { what: "a misspelt field", config: { providers: [{ ...provider, isuer: IDP }], rules }, field: "providers[0].isuer: unknown field" },
    { what: "a missing issuer", config: { providers: [{ name: "idp", jwks }], rules }, field: "providers[0].issuer" },
    {
      what: "a provider name with capitals",
      config: { providers: [{ ...provider, name: "IdP" }], rules: [{ match: {}, requires: ["IdP"] }] },
      field: "providers[0].name",
    },
    {
      what: "a rule requiring an unknown provider",
      config: { providers: [provider], rules: [{ match: {}, requires: ["nobody"] }] },
      field: "rules[0].requires",
    },
    { what: "alg none allowed", config: { providers: [{ ...provider, algorithms: ["none"] }], rules }, field: "providers[0].algorithms" },
    { what: "no key source", config: { providers: [{ name: "idp", issuer: IDP }], rules }, field: /providers\[0\].*jwks/ },
    {
      what: "an unknown source kind",
      config: { providers: [{ ...provider, from: [{ body: "token" }] }], rules },
      field: "providers[0].from[0]",
    },
    { what: "not JSON", config: "{providers:", field: /invalid configuration|JSON/ },
    {
      what: "an inline 1024-bit RSA key (README: the RSA floor is 2048 bits)",
      config: { providers: [{ ...provider, jwks: { keys: [weakRsaJwk] } }], rules },
      field: "providers[0].jwks: keys[0]: RSA key is invalid or shorter than 2048 bits",
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.what} at load, naming the field`, async () => {
      const failure = await startEnvoyExpectFailure(
        bootstrap({
          listeners: [
            httpListener({
              name: "bad",
              httpFilters: [wasmHttpFilter({ file: WASM, name: "bad", rootId: "jwt-auth", configuration: b.config as object | string })],
              directResponse: { status: 200 },
            }),
          ],
        }),
        { name: "jwt-auth-bad" },
      );
      expect(failure.code).not.toBe(0);
      const errorLines = failure.logs.split("\n").filter((l) => /\[error\]/.test(l));
      const named = errorLines.filter((l) => (typeof b.field === "string" ? l.includes(b.field) : b.field.test(l)));
      expect(named.length, `an [error] log line naming ${b.field}; error lines:\n${errorLines.join("\n")}`).toBeGreaterThan(0);
    });
  }
});

// ---- the example config and the demo upstream ------------------------------------------------------

describe("jwt-auth example config (envoy-configs/jwt-auth.yaml) with bin/demo-upstream.mjs", () => {
  let demo: ChildProcess | undefined;
  afterAll(async () => {
    if (demo?.pid !== undefined && demo.exitCode === null) {
      const gone = new Promise((r) => demo!.once("exit", r));
      demo.kill("SIGTERM");
      await gone;
    }
  });

  async function startDemoUpstream(): Promise<string> {
    demo = spawn(process.execPath, [join(repoRoot, "bin/demo-upstream.mjs"), "--port", "0", "--quiet"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`demo upstream did not start: ${out}`)), 10_000);
      demo!.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        const m = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      demo!.once("exit", (code) => reject(new Error(`demo upstream exited (${code}): ${out}`)));
    });
  }

  it("accepts a demo token, refuses no token with 401, and leaves /public/ open", async () => {
    const demoUrl = await startDemoUpstream();
    const port = Number(new URL(demoUrl).port);
    const ex = await envoy({ name: "jwt-auth-example", config: loadExampleConfig("jwt-auth.yaml", { upstreamPort: port }) });
    const token = (await request(`${demoUrl}/demo-token`)).body.trim();
    expect(token.split(".")).toHaveLength(3);

    const ok = await request(ex.url("/api/profile"), { headers: [["authorization", `Bearer ${token}`]] });
    expect(ok.status, ok.body).toBe(200);
    const seen = parseEcho(ok.body);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["demo-user"]);
    expect(echoedHeader(seen, "authorization")).toEqual([]);

    const none = await request(ex.url("/api/profile"), { headers: [["host", "gw.test"]] });
    expect(none.status).toBe(401);
    expect(none.header("www-authenticate")).toBe('Bearer realm="gw.test"');
    expect(none.json()).toEqual({ error: "missing_token", error_description: "Jwt is missing" });

    expect((await request(ex.url("/public/hello"))).status).toBe(200);
    const forged = tamperSignature(token);
    expect((await request(ex.url("/api/profile"), { headers: [["authorization", `Bearer ${forged}`]] })).status).toBe(401);
  });
});
