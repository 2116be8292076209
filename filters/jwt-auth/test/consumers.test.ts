// jwt-auth and consumers (docs/consumers.md): a verified token whose issuer and `sub` (or a
// claim's value) a consumer's `jwt` mapping names makes the caller that consumer, in filter state
// (`portico_consumer`, `portico_consumer_groups`, `portico_credential`) and, with
// `upstream_headers`, in x-consumer-* headers; client-sent consumer headers never pass; a valid
// token no mapping names passes unidentified; `anonymous` admits a request without a token;
// `claims_to_filter_state` writes claims for ACLs. Configuration mistakes name their field.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type HeaderList, type HttpStream, type Plugin } from "../../../emulator/index.js";
import { generateKey, jwksOf, mint, type Claims, type TestKey } from "../../../test/support/jwt.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
let idpKey: TestKey;
let otherKey: TestKey;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("jwt-auth")));
  idpKey = await generateKey("ES256", "idp");
  otherKey = await generateKey("ES256", "partner");
}, 180_000);

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;
const IDP = "https://idp.example.com";
const PARTNER = "https://partner.example.com";
const claims = (extra: Claims = {}, iss = IDP): Claims => ({ iss, sub: "user-1", iat: NOW, exp: NOW + 3600, ...extra });

const providers = () => [
  { name: "idp", issuer: IDP, jwks: jwksOf([idpKey]) },
  { name: "partner", issuer: PARTNER, jwks: jwksOf([otherKey]) },
];
const consumers = [
  { name: "alice", groups: ["gold", "beta"], jwt: [{ issuer: IDP, subject: "alice@example.com" }] },
  { name: "mobile", groups: ["free"], jwt: [{ issuer: IDP, claim: "client_id", value: "mobile-app" }] },
  { name: "partner-co", jwt: [{ issuer: PARTNER, subject: "alice@example.com" }], keys: [{ id: "k", sha256: "ab" }], basic: [] },
  { name: "guest", groups: ["free"] },
];
const config = (extra: object = {}) => ({
  providers: providers(),
  rules: [
    { match: { path: { prefix: "/open/" } }, requires: [] },
    { match: { path: { prefix: "/opt/" } }, requires: ["idp"], allow_missing: true },
    { match: {}, requires: ["idp", "partner"] },
  ],
  consumers,
  ...extra,
});

async function plugin(cfg: object): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const vm = await ProxyWasmVm.load(module, { startTime: T0 });
  const p = vm.configurePlugin({ config: JSON.stringify(cfg), rootId: "jwt-auth", name: "jwt" });
  const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(p.ok, errors.join("\n")).toBe(true);
  return { vm, p };
}

interface Outcome {
  status: number;
  /** Filter state the filter left for later filters. */
  state(name: string): string | undefined;
  /** Request headers the upstream would get. */
  upstream(name: string): string[];
  stream: HttpStream;
}

function send(p: Plugin, path: string, token?: string, extra: HeaderList = []): Outcome {
  const s = runHttpRequest(p, {
    requestHeaders: [
      [":method", "GET"],
      [":path", path],
      [":authority", "api.example.test"],
      ...(token ? ([["authorization", `Bearer ${token}`]] as HeaderList) : []),
      ...extra,
    ],
    responseHeaders: [[":status", "200"]],
  });
  return {
    status: s.localResponse?.status ?? 200,
    state: (name) => {
      const v = s.properties.get(name);
      return v === undefined ? undefined : Buffer.from(v).toString("utf8");
    },
    upstream: (name) => s.requestHeaders.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v),
    stream: s,
  };
}

const token = (extra: Claims = {}, key = idpKey, iss = IDP) => mint(key, claims(extra, iss));

describe("a verified token's consumer", () => {
  it("is the consumer whose mapping names the token's issuer and sub: filter state and upstream headers", async () => {
    const { p } = await plugin(config());
    const o = send(p, "/api", await token({ sub: "alice@example.com" }));
    expect(o.status).toBe(200);
    expect([o.state("portico_consumer"), o.state("portico_consumer_groups"), o.state("portico_credential")]).toEqual([
      "alice",
      ",gold,beta,",
      "jwt:idp",
    ]);
    expect(o.upstream("x-consumer-name")).toEqual(["alice"]);
    expect(o.upstream("x-consumer-groups")).toEqual(["gold,beta"]);
    expect(o.upstream("x-credential-identifier")).toEqual(["jwt:idp"]);
  });

  it("matches by a claim's value, and only the same issuer's mappings (the same sub from another issuer is another consumer)", async () => {
    const { p } = await plugin(config());
    const mobile = send(p, "/api", await token({ client_id: "mobile-app" }));
    expect([mobile.state("portico_consumer"), mobile.state("portico_consumer_groups")]).toEqual(["mobile", ",free,"]);
    const partner = send(p, "/api", await token({ sub: "alice@example.com" }, otherKey, PARTNER));
    expect([partner.state("portico_consumer"), partner.state("portico_credential")]).toEqual(["partner-co", "jwt:partner"]);
    expect(partner.upstream("x-consumer-groups")).toEqual([]); // no groups: no header
  });

  it("is the first consumer in config order when several mappings match", async () => {
    const { p } = await plugin(config());
    const o = send(p, "/api", await token({ sub: "alice@example.com", client_id: "mobile-app" }));
    expect(o.state("portico_consumer")).toBe("alice");
    const reversed = await plugin(config({ consumers: [consumers[1], consumers[0]] }));
    expect(send(reversed.p, "/api", await token({ sub: "alice@example.com", client_id: "mobile-app" })).state("portico_consumer")).toBe(
      "mobile",
    );
  });

  it("matches only string claims, exactly", async () => {
    const { p } = await plugin(config());
    for (const extra of [
      { client_id: ["mobile-app"] },
      { client_id: "Mobile-App" },
      { client_id: "mobile-app " },
      { sub: "ALICE@example.com" },
    ]) {
      const o = send(p, "/api", await token(extra));
      expect(o.status, JSON.stringify(extra)).toBe(200);
      expect(o.state("portico_consumer"), JSON.stringify(extra)).toBeUndefined();
    }
  });

  it("passes a valid token no mapping names unidentified (as before consumers), with no consumer headers", async () => {
    const { p } = await plugin(config());
    const o = send(p, "/api", await token({ sub: "nobody" }), [["x-consumer-name", "admin"]]);
    expect(o.status).toBe(200);
    expect(o.state("portico_consumer")).toBeUndefined();
    expect(o.upstream("x-consumer-name")).toEqual([]);
  });

  it("removes client-sent consumer headers in every spelling, identified or not, and with upstream_headers: false writes none", async () => {
    const forged: HeaderList = [
      ["x-consumer-name", "admin"],
      ["X_Consumer_Name", "admin"],
      ["x_consumer-groups", "admin"],
      ["X-Credential_Identifier", "key:admin"],
    ];
    const names = (o: Outcome) => o.stream.requestHeaders.map(([k]) => k.toLowerCase().replace(/_/g, "-"));
    for (const upstream_headers of [true, false]) {
      const { p } = await plugin(config({ upstream_headers }));
      const who = send(p, "/api", await token({ sub: "alice@example.com" }), forged);
      const open = send(p, "/open/x", undefined, forged);
      expect(open.status).toBe(200);
      expect(names(open).filter((n) => n.startsWith("x-consumer") || n.startsWith("x-credential"))).toEqual([]);
      if (upstream_headers) expect(who.upstream("x-consumer-name")).toEqual(["alice"]);
      else expect(names(who).filter((n) => n.startsWith("x-consumer") || n.startsWith("x-credential"))).toEqual([]);
      expect(who.state("portico_consumer")).toBe("alice");
    }
  });

  it("removes them also when the config has no consumers at all", async () => {
    const { p } = await plugin({ providers: providers(), rules: [{ match: {}, requires: ["idp"] }] });
    const o = send(p, "/api", await token({ sub: "alice@example.com" }), [["X_Consumer_Name", "admin"]]);
    expect(o.status).toBe(200);
    expect(o.stream.requestHeaders.filter(([k]) => /consumer/i.test(k))).toEqual([]);
    expect(o.state("portico_consumer")).toBeUndefined();
  });
});

describe("anonymous", () => {
  it("admits a request without a token as the anonymous consumer, on rules that require one", async () => {
    const { p } = await plugin(config({ anonymous: "guest" }));
    for (const path of ["/api", "/opt/x"]) {
      const o = send(p, path);
      expect(o.status, path).toBe(200);
      expect([o.state("portico_consumer"), o.state("portico_consumer_groups"), o.state("portico_credential")], path).toEqual([
        "guest",
        ",free,",
        "anonymous",
      ]);
      expect(o.upstream("x-credential-identifier"), path).toEqual(["anonymous"]);
    }
    // A route that needs no token identifies nobody.
    expect(send(p, "/open/x").state("portico_consumer")).toBeUndefined();
  });

  it("keeps the identity an auth filter earlier in the chain found (an OR between auth methods, as Kong)", async () => {
    const { p } = await plugin(config({ anonymous: "guest" }));
    const s = runHttpRequest(p, {
      requestHeaders: [
        [":method", "GET"],
        [":path", "/api"],
        [":authority", "api.example.test"],
      ],
      properties: { portico_consumer: "carol", portico_consumer_groups: ",gold,", portico_credential: "key:carol-key" },
      responseHeaders: [[":status", "200"]],
    });
    expect(s.localResponse).toBeUndefined();
    expect(Buffer.from(s.properties.get("portico_consumer")!).toString()).toBe("carol");
    expect(Buffer.from(s.properties.get("portico_credential")!).toString()).toBe("key:carol-key");
    expect(s.requestHeader("x-consumer-name")).toBeUndefined(); // written by the filter that identified carol, not here
  });

  it("still refuses a bad token with 401, and without anonymous a missing token too", async () => {
    const { p } = await plugin(config({ anonymous: "guest" }));
    const expired = await mint(idpKey, claims({ exp: NOW - 3600 }));
    expect(send(p, "/api", expired).status).toBe(401);
    expect(send(p, "/api", "not.a.token").status).toBe(401);
    const strict = await plugin(config());
    expect(send(strict.p, "/api").status).toBe(401);
    // allow_missing without anonymous: admitted, unidentified.
    const opt = send(strict.p, "/opt/x");
    expect(opt.status).toBe(200);
    expect(opt.state("portico_consumer")).toBeUndefined();
  });
});

describe("claims_to_filter_state", () => {
  it("writes strings, arrays of strings and scope words between commas; leaves other claims out", async () => {
    const { p } = await plugin(config({ claims_to_filter_state: ["role", "scope", "groups", "level", "tenant", "absent"] }));
    const o = send(
      p,
      "/api",
      await token({ role: "admin", scope: "read  write", groups: ["a", 1, "b,c", "", "d"], level: 3, tenant: { id: "x" } }),
    );
    expect(o.status).toBe(200);
    expect(o.state("portico_claim_role")).toBe(",admin,");
    expect(o.state("portico_claim_scope")).toBe(",read,write,");
    // Only string elements without a comma: "b,c" would read as two values.
    expect(o.state("portico_claim_groups")).toBe(",a,d,");
    expect(o.state("portico_claim_level")).toBeUndefined();
    expect(o.state("portico_claim_tenant")).toBeUndefined();
    expect(o.state("portico_claim_absent")).toBeUndefined();
  });

  it("writes them for a verified token also when no consumer is configured, and never for a refused one", async () => {
    const { p } = await plugin({ providers: providers(), rules: [{ match: {}, requires: ["idp"] }], claims_to_filter_state: ["role"] });
    expect(send(p, "/api", await token({ role: "admin" })).state("portico_claim_role")).toBe(",admin,");
    const refused = send(p, "/api", await mint(idpKey, claims({ role: "admin", exp: NOW - 3600 })));
    expect(refused.status).toBe(401);
    expect(refused.state("portico_claim_role")).toBeUndefined();
  });
});

describe("configuration", () => {
  const refused = async (cfg: object, ...fields: string[]) => {
    const vm = await ProxyWasmVm.load(module, { startTime: T0 });
    const p = vm.configurePlugin({ config: JSON.stringify(cfg), rootId: "jwt-auth" });
    expect(p.ok).toBe(false);
    const log = vm.logs.map((l) => l.message).join("\n");
    for (const f of fields) expect(log).toContain(f);
  };
  const one = (c: object) => config({ consumers: [c] });

  it("names the field of a mapping whose issuer no provider has, or that is incomplete, ambiguous or given twice", async () => {
    await refused(
      one({ name: "a", jwt: [{ issuer: "https://elsewhere", subject: "x" }] }),
      'consumers[0].jwt[0].issuer: no provider has issuer "https://elsewhere"',
    );
    await refused(one({ name: "a", jwt: [{ issuer: IDP }] }), "consumers[0].jwt[0]: needs either subject, or claim and value");
    await refused(
      one({ name: "a", jwt: [{ issuer: IDP, subject: "x", claim: "c", value: "v" }] }),
      "consumers[0].jwt[0]: needs either subject",
    );
    await refused(one({ name: "a", jwt: [{ issuer: IDP, claim: "c" }] }), "consumers[0].jwt[0]: needs either subject");
    await refused(
      one({ name: "a", jwt: [{ issuer: IDP, claim: "a.b", value: "v" }] }),
      'consumers[0].jwt[0].claim: invalid claim name "a.b"',
    );
    await refused(one({ name: "a", jwt: [{ issuer: IDP, claim: "c", value: 1 }] }), "consumers[0].jwt[0].value: must be a string");
    await refused(one({ name: "a", jwt: [{ subject: "x" }] }), "consumers[0].jwt[0].issuer: is required");
    await refused(one({ name: "a", jwt: [{ issuer: IDP, subject: "x", extra: 1 }] }), "consumers[0].jwt[0].extra: unknown field");
    await refused(
      config({
        consumers: [
          { name: "a", jwt: [{ issuer: IDP, subject: "x" }] },
          { name: "b", jwt: [{ issuer: IDP, subject: "x" }] },
        ],
      }),
      'consumers[1].jwt[0]: the same mapping is already given to consumer "a"',
    );
  });

  it("names the field of a bad consumer, anonymous or claims_to_filter_state", async () => {
    await refused(one({ name: "Alice" }), 'consumers[0].name: invalid consumer name "Alice"');
    await refused(config({ anonymous: "nobody" }), 'anonymous: no consumer named "nobody"');
    await refused(
      config({ claims_to_filter_state: ["role", "a.b", 3] }),
      'claims_to_filter_state[1]: invalid claim name "a.b"',
      "claims_to_filter_state[2]: must be a string",
    );
  });

  it("accepts a config without consumers (they are optional) and ignores other filters' credential kinds", async () => {
    await plugin({ providers: providers(), rules: [{ match: {}, requires: ["idp"] }] });
    await plugin(config());
  });
});
