// Consumers end to end with the real auth filter (#15): the control plane serving key-auth,
// an ACL (Envoy's RBAC on the identity key-auth leaves in filter state) and rate-limit keyed on
// the consumer, to a real Envoy. What a user of the admin API notices:
//  - a consumer created through /consumers authenticates within a second, on a connection
//    opened before the change, with no listener change and nothing drained;
//  - GET never shows the key; a deleted consumer's key is refused;
//  - a group ACL admits gold and refuses free;
//  - each consumer has its own bucket, and a gold consumer's limit differs from a free one's;
//  - a client's own x-consumer-* headers never reach the upstream as identity.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  echoedHeader,
  parseEcho,
  pollUntil,
  request,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
} from "../../../test/support/index.js";
import { generateKey, jwksOf, mint, type TestKey } from "../../../test/support/jwt.js";
import { ANY_NODE } from "../../src/xds/cache.js";
import { TypeUrl } from "../../src/xds/types.js";
import { startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { openKeepAlive } from "../support/keep-alive.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
const NODE = "envoy-consumers-live";
const ADA_KEY = "ada-live-key-0001";
const BOB_KEY = "bob-live-key-0001";
const CY_KEY = "cy-live-key-00001";
const NEW_KEY = "carol-live-key-001";
const ISSUER = "https://idp.live.test";
let signer: TestKey;

let gw: TestGateway;
let envoy: Envoy;
let port: number;
let up: EchoUpstream;

const yaml = (p: number) => `
listeners:
  - { name: edge, address: 127.0.0.1, port: ${p} }
routes:
  - { name: gold, match: { path: { prefix: /gold/ } }, upstream: echo, plugins: [keys, gold-only] }
  - { name: limited, match: { path: { prefix: /limited/ } }, upstream: echo, plugins: [keys, tiers] }
  - { name: either, match: { path: { prefix: /either/ } }, upstream: echo, plugins: [keys-or, tokens-or] }
  - { name: any, match: { path: { prefix: / } }, upstream: echo, plugins: [keys] }
upstreams:
  - { name: echo, endpoints: ["127.0.0.1:${up.port}"] }
consumers:
  - { name: ada, groups: [gold], credentials: { keys: [{ id: ada-1, key: ${ADA_KEY} }] } }
  - { name: bob, groups: [free], credentials: { keys: [{ id: bob-1, key: ${BOB_KEY} }] } }
  - { name: cy, groups: [free], credentials: { keys: [{ id: cy-1, key: ${CY_KEY} }] } }
  - { name: dee, credentials: { jwt: [{ issuer: "${ISSUER}", subject: dee }] } }
  - { name: guest, groups: [free] }
plugins:
  - { name: keys, filter: key-auth, config: { stat_prefix: live } }
  - { name: keys-or, filter: key-auth, config: { stat_prefix: either, anonymous: guest } }
  - name: tokens-or
    filter: jwt-auth
    config:
      anonymous: guest
      providers: [{ name: idp, issuer: "${ISSUER}", jwks: ${JSON.stringify(jwksOf([signer]))} }]
      rules: [{ match: {}, requires: [idp] }]
  - { name: gold-only, filter: acl, config: { allow: { groups: [gold] } } }
  - name: tiers
    filter: rate-limit
    config:
      rules:
        - { name: gold, match: { consumer_groups: [gold] }, requests: 1, period: 1h, burst: 4, key: [{ consumer: true }] }
        - { name: free, match: { consumer_groups: [free] }, requests: 1, period: 1h, burst: 2, key: [{ consumer: true }] }
`;

const admin = (path: string, method = "GET", body?: unknown) =>
  fetch(`http://127.0.0.1:${gw.cp.httpPort}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const withKey = (path: string, key?: string, extra: Record<string, string> = {}) =>
  request(`http://127.0.0.1:${port}${path}`, { headers: { ...(key ? { "x-api-key": key } : {}), ...extra }, timeoutMs: 10_000 });

async function statuses(path: string, key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await withKey(path, key)).status);
  return out;
}

beforeAll(async () => {
  signer = await generateKey("ES256", "live");
  up = await echo();
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return yaml(p);
    },
    nodes: [{ id: NODE, opts: { extraArgs: ["--drain-time-s", "1"] } }],
    start: envoys,
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
});

describe("a consumer managed through the admin API", () => {
  it("authenticates within a second of its PUT, on an open connection, with nothing drained; GET never shows the key", async () => {
    const listenerVersion = () => gw.cp.cache.get(ANY_NODE)?.types[TypeUrl.Listener]?.version;
    const drains = async () => {
      const s = await envoy.stats("listener_manager\\.");
      return [s.get("listener_manager.listener_modified") ?? 0, s.get("listener_manager.total_filter_chains_draining") ?? 0];
    };
    const conn = openKeepAlive(port);
    try {
      expect((await conn.get("/x", { "x-api-key": NEW_KEY })).status, "unknown before the PUT").toBe(401);
      const versionBefore = listenerVersion();
      const drainsBefore = await drains();

      const put = await admin("/consumers/carol", "PUT", { groups: ["gold"], credentials: { keys: [{ id: "carol-1", key: NEW_KEY }] } });
      expect(put.status).toBe(201);
      const answered = await put.text();
      expect(answered).not.toContain(NEW_KEY);
      const putAt = Date.now();
      const admitted = await pollUntil(
        () => conn.get("/x", { "x-api-key": NEW_KEY }),
        (r) => r.status === 200,
        { timeoutMs: 5_000, intervalMs: 20, what: "the new consumer's key admitted" },
      );
      const tookMs = Date.now() - putAt;
      expect(tookMs, "admitted within a second of the PUT's answer").toBeLessThan(1_000);
      expect(admitted.reused, "on the connection opened before the PUT").toBe(true);
      const seen = parseEcho((await withKey("/x", NEW_KEY)).body);
      expect(echoedHeader(seen, "x-consumer-name"), "the upstream is told who called").toEqual(["carol"]);
      expect(listenerVersion(), "no listener change").toBe(versionBefore);
      expect(await drains(), "listener_modified and total_filter_chains_draining unchanged").toEqual(drainsBefore);
      expect(conn.closed()).toBe(false);

      const got = await admin("/consumers/carol");
      const shown = await got.text();
      expect(got.status).toBe(200);
      expect(JSON.parse(shown).credentials).toEqual({ keys: [{ id: "carol-1" }] });
      expect(shown).not.toContain(NEW_KEY);
    } finally {
      conn.close();
    }
  });

  it("refuses a deleted consumer's key", async () => {
    expect((await withKey("/x", NEW_KEY)).status).toBe(200);
    expect((await admin("/consumers/carol", "DELETE")).status).toBe(204);
    await pollUntil(
      async () => (await withKey("/x", NEW_KEY)).status,
      (status) => status === 401,
      { timeoutMs: 5_000, intervalMs: 20, what: "the deleted consumer's key refused" },
    );
    await waitSynced(gw.cp, NODE);
    expect((await withKey("/x", NEW_KEY)).status).toBe(401);
    expect((await withKey("/x", ADA_KEY)).status, "the others still pass").toBe(200);
  });
});

describe("groups and buckets", () => {
  it("a group ACL admits gold and refuses free (403) and a request without a key (401)", async () => {
    expect((await withKey("/gold/x", ADA_KEY)).status).toBe(200);
    expect((await withKey("/gold/x", BOB_KEY)).status).toBe(403);
    expect((await withKey("/gold/x")).status).toBe(401);
  });

  it("each consumer has its own bucket, and gold's limit is not free's", async () => {
    expect(await statuses("/limited/x", ADA_KEY, 5), "ada, gold: burst 4").toEqual([200, 200, 200, 200, 429]);
    expect(await statuses("/limited/x", BOB_KEY, 3), "bob, free: burst 2").toEqual([200, 200, 429]);
    expect(await statuses("/limited/x", CY_KEY, 3), "cy, free too: a bucket of its own").toEqual([200, 200, 429]);
  });
});

describe("identity headers a client sends", () => {
  it("never reach the upstream as identity: the upstream sees the consumer of the key", async () => {
    const r = await withKey("/x", BOB_KEY, {
      "x-consumer-name": "ada",
      "X-Consumer-Groups": "gold",
      "x-credential-identifier": "key:ada-1",
    });
    expect(r.status).toBe(200);
    const rec = parseEcho(r.body);
    expect(echoedHeader(rec, "x-consumer-name")).toEqual(["bob"]);
    expect(echoedHeader(rec, "x-consumer-groups")).toEqual(["free"]);
    expect(echoedHeader(rec, "x-credential-identifier")).toEqual(["key:bob-1"]);
    expect(echoedHeader(rec, "x-api-key"), "the key itself is not forwarded").toEqual([]);
  });
});

describe("a key or a token: key-auth then jwt-auth, both with anonymous (docs/consumers.md)", () => {
  const who = async (headers: Record<string, string>) => {
    const r = await request(`http://127.0.0.1:${port}/either/x`, { headers, timeoutMs: 10_000 });
    if (r.status !== 200) return [r.status];
    const rec = parseEcho(r.body);
    return [r.status, ...["x-consumer-name", "x-consumer-groups", "x-credential-identifier"].map((h) => echoedHeader(rec, h)[0])];
  };
  const token = (sub: string) => mint(signer, { iss: ISSUER, sub, exp: Math.floor(Date.now() / 1000) + 600 });

  it("admits either credential as its consumer, neither as the anonymous one, and refuses a wrong one", async () => {
    expect(await who({ "x-api-key": ADA_KEY }), "a key: through jwt-auth as ada").toEqual([200, "ada", "gold", "key:ada-1"]);
    expect(await who({ authorization: `Bearer ${await token("dee")}` }), "a token: dee replaces the anonymous guest").toEqual([
      200,
      "dee",
      undefined,
      "jwt:idp",
    ]);
    expect(await who({}), "neither").toEqual([200, "guest", "free", "anonymous"]);
    expect(await who({ "x-api-key": "not-a-key-0000001" }), "a wrong key").toEqual([401]);
    expect(await who({ "x-api-key": ADA_KEY, authorization: "Bearer not.a.token" }), "a bad token").toEqual([401]);
  });
});
