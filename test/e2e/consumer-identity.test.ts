// One caller identity through a real Envoy 1.40 chain (docs/consumers.md): jwt-auth maps a
// verified token to a consumer (or admits a request without one as the anonymous consumer) and
// leaves it in Envoy's filter state; rate-limit keys on it ({ consumer: true }) with a rule per
// group (gold and free get different limits, each consumer its own bucket); header-rewrite tells
// the upstream with ${consumer.name}; client-sent consumer headers never reach the upstream; and
// a claim jwt-auth writes to filter state (claims_to_filter_state) is what Envoy's own RBAC
// filter matches, as the gateway's ACLs do.
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoedHeader,
  filterWasm,
  generateKey,
  httpListener,
  jwksOf,
  mint,
  nowSeconds,
  parseEcho,
  request,
  staticCluster,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
  type EchoUpstream,
  type HttpResponse,
  type Json,
  type TestKey,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const ISSUER = "https://idp.example.com";
const HOST = "api.example.test";

let e: Envoy;
let up: EchoUpstream;
let idp: TestKey;

const wasm = (filter: string, name: string, configuration: object): Json =>
  wasmHttpFilter({ file: filterWasm(filter), name, rootId: filter, vmId: name, configuration });

function jwtAuth(): Json {
  return wasm("jwt-auth", "jwt_auth", {
    providers: [{ name: "idp", issuer: ISSUER, jwks: jwksOf([idp]) }],
    rules: [{ match: {}, requires: ["idp"] }],
    consumers: [
      { name: "alice", groups: ["gold", "beta"], jwt: [{ issuer: ISSUER, subject: "alice@example.com" }] },
      { name: "amy", groups: ["gold"], jwt: [{ issuer: ISSUER, subject: "amy@example.com" }] },
      { name: "gus", groups: ["gold"], jwt: [{ issuer: ISSUER, subject: "gus@example.com" }] },
      { name: "bob", groups: ["free"], jwt: [{ issuer: ISSUER, claim: "client_id", value: "bobs-app" }] },
      { name: "guest", groups: ["free"] },
    ],
    anonymous: "guest",
    claims_to_filter_state: ["role"],
  });
}

const GOLD = 4;
const FREE = 2;

beforeAll(async () => {
  idp = await generateKey("ES256", "idp-es");
  up = await upstream();
  const main = httpListener({
    name: "main",
    httpFilters: [
      jwtAuth(),
      wasm("rate-limit", "rate_limit", {
        rules: [
          { name: "gold", match: { consumer_groups: ["gold"] }, requests: GOLD, period: "1h", key: [{ consumer: true }] },
          { name: "free", match: { consumer_groups: ["free"] }, requests: FREE, period: "1h", key: [{ consumer: true }] },
        ],
      }),
      wasm("header-rewrite", "header_rewrite", { rules: [{ request: { set: { "x-user": "${consumer.name}" } } }] }),
    ],
  });
  // Envoy's RBAC reading what jwt-auth wrote: only a token whose role claim holds "admin" passes.
  const rbac: Json = {
    name: "envoy.filters.http.rbac",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
      rules: {
        action: "ALLOW",
        policies: {
          admins: {
            permissions: [{ any: true }],
            principals: [{ filter_state: { key: "wasm.portico_claim_role", string_match: { contains: ",admin," } } }],
          },
          gold: {
            permissions: [{ any: true }],
            principals: [{ filter_state: { key: "wasm.portico_consumer_groups", string_match: { contains: ",gold," } } }],
          },
        },
      },
    },
  };
  const acl = httpListener({ name: "acl", httpFilters: [jwtAuth(), rbac] });
  e = await envoy({
    name: "consumer-identity",
    concurrency: 2,
    config: bootstrap({ listeners: [main, acl], clusters: [staticCluster("upstream", up.port)] }),
  });
}, 120_000);

const token = (claims: Record<string, unknown>) => {
  const now = nowSeconds();
  return mint(idp, { iss: ISSUER, sub: "someone", iat: now, exp: now + 3600, ...claims });
};

type Headers = [string, string][];
const send = (path: string, headers: Headers = [], listener = "main"): Promise<HttpResponse> =>
  request(e.url(path, listener), { headers: [["host", HOST], ...headers] });
const bearer = (t: string): [string, string] => ["authorization", `Bearer ${t}`];

/** How many requests pass before the first 429 (at most `max`); each admitted one reached the upstream. */
async function admitted(headers: Headers, path: string, max = 10): Promise<number> {
  for (let i = 0; i < max; i++) {
    const r = await send(path, headers);
    if (r.status === 429) return i;
    expect(r.status, r.body).toBe(200);
  }
  return max;
}

describe("jwt-auth consumers in Envoy", () => {
  it("tells the upstream who called (x-consumer-* and header-rewrite's ${consumer.name}), never what the client claimed", async () => {
    const forged: Headers = [
      ["x-consumer-name", "admin"],
      ["X_Consumer_Name", "admin"],
      ["x-consumer_groups", "gold"],
      ["X-Credential-Identifier", "key:admin"],
      ["x-user", "admin"],
    ];
    const r = await send("/who", [bearer(await token({ sub: "alice@example.com" })), ...forged]);
    expect(r.status, r.body).toBe(200);
    const seen = parseEcho(r.body);
    expect(echoedHeader(seen, "x-consumer-name")).toEqual(["alice"]);
    expect(echoedHeader(seen, "x-consumer-groups")).toEqual(["gold,beta"]);
    expect(echoedHeader(seen, "x-credential-identifier")).toEqual(["jwt:idp"]);
    expect(echoedHeader(seen, "x-user")).toEqual(["alice"]);
    const spellings = seen.headers
      .map(([k]) => k.toLowerCase().replace(/_/g, "-"))
      .filter((k) => k.startsWith("x-consumer") || k.startsWith("x-credential"));
    expect(spellings.sort()).toEqual(["x-consumer-groups", "x-consumer-name", "x-credential-identifier"]);
  });

  it("keeps a separate bucket per consumer, with the gold group's limit above the free group's", async () => {
    const [gus, amy, bob] = await Promise.all([
      token({ sub: "gus@example.com" }),
      token({ sub: "amy@example.com" }),
      token({ client_id: "bobs-app" }),
    ]);
    expect(await admitted([bearer(gus)], "/limited/a")).toBe(GOLD);
    expect(await admitted([bearer(amy)], "/limited/b")).toBe(GOLD);
    expect(await admitted([bearer(bob)], "/limited/c")).toBe(FREE);
    const refused = await send("/limited/c", [bearer(bob)]);
    expect(refused.status).toBe(429);
    expect(refused.json<{ rule: string }>().rule).toBe("free");
    // The anonymous consumer (no token) is in the free group, in a bucket of its own; a forged
    // consumer header does not move it into someone else's.
    expect(await admitted([["x-consumer-name", "amy"]], "/limited/d")).toBe(FREE);
    expect((await send("/limited/e")).status).toBe(429);
    // A valid token no mapping names passes unidentified: no rule applies, nothing is written.
    const nobody = await send("/limited/f", [bearer(await token({ sub: "nobody" }))]);
    expect(nobody.status).toBe(200);
    expect(echoedHeader(parseEcho(nobody.body), "x-consumer-name")).toEqual([]);
  });

  it("refuses a bad token with 401 even though anonymous callers are admitted", async () => {
    const expired = await mint(idp, { iss: ISSUER, sub: "alice@example.com", iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
    expect((await send("/x", [bearer(expired)])).status).toBe(401);
  });

  it("leaves claims and groups in filter state where Envoy's RBAC filter matches them", async () => {
    const viaAcl = async (claims: Record<string, unknown>) => (await send("/acl", [bearer(await token(claims))], "acl")).status;
    expect(await viaAcl({ role: "admin" })).toBe(200);
    expect(await viaAcl({ role: ["user", "admin"] })).toBe(200);
    expect(await viaAcl({ role: "administrator" })).toBe(403);
    expect(await viaAcl({ role: "user" })).toBe(403);
    expect(await viaAcl({ sub: "amy@example.com" })).toBe(200); // gold group
    expect(await viaAcl({ client_id: "bobs-app" })).toBe(403); // free group
    expect((await send("/acl", [], "acl")).status).toBe(403); // anonymous: free
  });
});
