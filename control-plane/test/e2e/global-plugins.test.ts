// Global plugins end to end (#12 item 1): `global: true` enables a plugin on every route
// (docs/gateway-config.md, `plugins`). A global jwt-auth is a security boundary, so it is
// checked on real traffic through a real Envoy: every route, a route listing no plugins
// included, is protected; a global header-rewrite runs everywhere; a route's own plugin runs
// together with the global ones. A request that matches no route (unknown path or host) meets
// the global plugins too, on the 404 route that ends every virtual host.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  echoedHeader,
  freePort,
  generateKey,
  jwksOf,
  mint,
  parseEcho,
  request,
  standardClaims,
  tamperSignature,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
  type HttpResponse,
  type TestKey,
} from "../../../test/support/index.js";
import { joinEnvoy, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const ISSUER = "https://issuer.global-plugins.test";
const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");

let gw: TestGateway;
let envoy: Envoy;
let up: EchoUpstream;
let key: TestKey;
let token: string;

function config(port: number): string {
  return `
listeners:
  - { name: public, address: 127.0.0.1, port: ${port} }
routes:
  - name: bare
    match: { path: { prefix: /bare/ } }
    upstream: echo
  - name: extra
    match: { path: { prefix: /extra/ } }
    upstream: echo
    plugins: [extra]
  - name: hosted
    hosts: [only.example.com]
    match: { path: { prefix: /hosted/ } }
    upstream: echo
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
plugins:
  - name: auth
    filter: jwt-auth
    global: true
    config:
      providers:
        - name: idp
          issuer: ${ISSUER}
          jwks: ${JSON.stringify(jwksOf([key]))}
          claims_to_headers: [{ claim: sub, header: x-user }]
      rules:
        - { match: {}, requires: [idp] }
  - name: stamp
    filter: header-rewrite
    global: true
    config:
      rules:
        - { name: stamp, request: { set: { x-global-request: "yes" } }, response: { set: { x-global: "yes" } } }
  - name: extra
    filter: header-rewrite
    config:
      rules:
        - { name: extra, response: { set: { x-extra: "yes" } } }
`;
}

const get = (path: string, bearer?: string): Promise<HttpResponse> =>
  request(envoy.url(path), { headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, timeoutMs: 10_000 });

beforeAll(async () => {
  up = await echo({ record: false });
  key = await generateKey("ES256");
  token = await mint(key, standardClaims(ISSUER, { sub: "alice" }));
  gw = await startTestGateway({ yaml: config(await freePort()) });
  envoy = await joinEnvoy(gw.cp, "envoy-global", {}, envoys);
  await waitSynced(gw.cp, "envoy-global");
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

describe("a global jwt-auth", () => {
  for (const path of ["/bare/x", "/extra/x"]) {
    it(`protects ${path}: no token 401, a tampered token 401, a valid token 200 with its claims forwarded`, async () => {
      const none = await get(path);
      expect(none.status).toBe(401);
      expect(JSON.parse(none.body)).toMatchObject({ error: "missing_token" });
      expect((await get(path, tamperSignature(token))).status).toBe(401);
      const ok = await get(path, token);
      expect(ok.status).toBe(200);
      expect(echoedHeader(parseEcho(ok.body), "x-user")).toEqual(["alice"]);
    });
  }
});

describe("a global header-rewrite", () => {
  it("runs on every route, the one listing no plugins included, on the request and the response", async () => {
    for (const path of ["/bare/x", "/extra/x"]) {
      const r = await get(path, token);
      expect(r.status, path).toBe(200);
      expect(r.header("x-global"), path).toBe("yes");
      expect(echoedHeader(parseEcho(r.body), "x-global-request"), path).toEqual(["yes"]);
    }
  });
});

describe("route plugins with global ones", () => {
  it("a route's own plugin runs together with the global ones, and only on that route", async () => {
    const extra = await get("/extra/x", token);
    expect(extra.status).toBe(200);
    expect(extra.header("x-extra")).toBe("yes");
    expect(extra.header("x-global")).toBe("yes");
    expect(echoedHeader(parseEcho(extra.body), "x-user")).toEqual(["alice"]);
    const bare = await get("/bare/x", token);
    expect(bare.header("x-extra")).toBeUndefined();
    expect(bare.header("x-global")).toBe("yes");
  });
});

describe("a request that matches no route", () => {
  // Every virtual host ends with the portico_no_route route (src/translate/routes.ts): a 404
  // with the global plugins switched on, so they run before routing fails, as in Kong.
  for (const [what, path, host] of [
    ["an unknown path", "/nowhere", undefined],
    ["a path routed for another host only", "/hosted/x", "unknown.example.com"],
  ] as const) {
    it(`${what}: no token is the global jwt-auth's 401; a valid token is a 404 carrying the global response header`, async () => {
      const send = (bearer?: string) =>
        request(envoy.url(path), {
          headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(host ? { host } : {}) },
          timeoutMs: 10_000,
        });
      const none = await send();
      expect(none.status).toBe(401);
      expect(JSON.parse(none.body)).toMatchObject({ error: "missing_token" });
      const ok = await send(token);
      expect(ok.status).toBe(404);
      expect(ok.body).toBe("");
      expect(ok.header("x-global")).toBe("yes");
      expect(ok.header("x-extra")).toBeUndefined();
      // The host the route is written for does reach it: the 404 is the host's, not the path's.
      if (host)
        expect((await request(envoy.url(path), { headers: { authorization: `Bearer ${token}`, host: "only.example.com" } })).status).toBe(
          200,
        );
    });
  }

  it("is a direct response of the gateway's own route for Envoy's stats, never Envoy's no_route", async () => {
    const before = (await envoy.stat("http.public.rq_direct_response")) ?? 0;
    expect((await get("/nowhere", token)).status).toBe(404);
    expect(await envoy.stat("http.public.rq_direct_response")).toBe(before + 1);
    expect((await envoy.stat("http.public.no_route")) ?? 0).toBe(0);
  });
});
