// The admin API on a real control plane with a real Envoy: writes reach Envoy, conflicts and
// bad input are refused without touching what serves, dry runs show the Envoy diff, and what
// the API wrote survives a control-plane restart.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEcho, request, useEchoUpstream, useEnvoy, type EchoUpstream, type Envoy } from "../../../test/support/index.js";
import { startGatewayOnFreshPort, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
let gw: TestGateway;
let envoy: Envoy;
let up: EchoUpstream;
let port: number;

const yaml = () => `# managed through the admin API in this test
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
routes:
  - name: all
    match: { path: { prefix: /all/ } }
    upstream: echo
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
plugins:
  - name: stamp
    filter: header-rewrite
    config: { rules: [{ name: s, response: { set: { x-stamp: one } } }] }
`;

const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  fetch(`http://127.0.0.1:${gw.cp.httpPort}${path}`, {
    method: init.method ?? "GET",
    headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
const get = (path: string) => request(envoy.url(path, "public"), { timeoutMs: 10_000 });

beforeAll(async () => {
  up = await echo();
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return yaml();
    },
    nodes: [{ id: "api-envoy", opts: { concurrency: 1 } }],
    start: envoys,
  }));
}, 60_000);
afterAll(async () => {
  await gw?.stop();
});

describe("admin API on a live gateway", () => {
  it("a route PUT through the API is served by Envoy, with its plugin", async () => {
    const res = await api("/routes/web", {
      method: "PUT",
      body: { match: { path: { prefix: "/web/" } }, upstream: "echo", plugins: ["stamp"] },
    });
    expect(res.status).toBe(201);
    const etag = res.headers.get("etag");
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    await waitSynced(gw.cp, "api-envoy");
    const r = await get("/web/x");
    expect(r.status).toBe(200);
    expect(r.header("x-stamp")).toBe("one");
    expect(parseEcho(r.body).path).toBe("/web/x");
    // The file is the record: the route is in it, the comment is still there.
    const text = readFileSync(gw.configPath, "utf8");
    expect(text).toContain("# managed through the admin API in this test");
    expect(text).toContain("name: web");
  });

  it("a stale If-Match is refused with 412 and changes nothing", async () => {
    const first = await api("/routes/web");
    const etag = first.headers.get("etag")!;
    expect(
      (await api("/routes/web", { method: "PATCH", body: { match: { path: { prefix: "/web2/" } } }, headers: { "if-match": etag } }))
        .status,
    ).toBe(200);
    const stale = await api("/routes/web", {
      method: "PATCH",
      body: { match: { path: { prefix: "/web3/" } } },
      headers: { "if-match": etag },
    });
    expect(stale.status).toBe(412);
    await waitSynced(gw.cp, "api-envoy");
    expect((await get("/web2/x")).status).toBe(200);
    expect((await get("/web3/x")).status).toBe(404);
  });

  it("bad input is a 400 naming the field; Envoy keeps the last good config", async () => {
    const res = await api("/routes/broken", { method: "PUT", body: { upstream: "nowhere" } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors.map((e) => `${e.path}: ${e.message}`).join("\n")).toMatch(/routes\[\d\]\.upstream: no upstream named "nowhere"/);
    expect((await get("/web2/x")).status).toBe(200);
    expect(readFileSync(gw.configPath, "utf8")).not.toContain("broken");
  });

  it("DELETE refuses while referenced (409), then works once nothing uses it", async () => {
    const refused = await api("/plugins/stamp", { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(JSON.stringify(await refused.json())).toContain("routes[1] (web)");
    expect((await api("/routes/web", { method: "PATCH", body: { plugins: [] } })).status).toBe(200);
    expect((await api("/plugins/stamp", { method: "DELETE" })).status).toBe(204);
    await waitSynced(gw.cp, "api-envoy");
    expect((await get("/web2/x")).header("x-stamp")).toBeUndefined();
  });

  it("a dry run shows the Envoy resources that would change and applies nothing", async () => {
    const res = await api("/upstreams/echo?dry_run=true", { method: "PATCH", body: { endpoints: ["127.0.0.1:9"] } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dry_run: boolean; valid: boolean; diff: Record<string, { changed: string[] }> };
    expect(body).toMatchObject({ dry_run: true, valid: true });
    expect(body.diff).toEqual({ ClusterLoadAssignment: { added: [], removed: [], changed: ["echo"] } });
    expect((await get("/all/x")).status).toBe(200);
  });

  it("what the API wrote is served after the control plane restarts", async () => {
    await gw.cp.stop();
    gw = await gw.startAgain();
    await waitSynced(gw.cp, "api-envoy");
    const r = await get("/web2/y");
    expect(r.status).toBe(200);
    expect(((await (await api("/routes/web")).json()) as { name: string }).name).toBe("web");
  }, 60_000);
});

describe("admin API beyond loopback", () => {
  it("needs the token (401 without it or with a wrong one, 200 with it), and the control plane refuses to start without one", async () => {
    // Port 0: the control plane binds it and reports the port it got.
    const tokenGw = await startTestGateway({ yaml: yaml(), http: { host: "0.0.0.0", port: 0 }, adminToken: "s3cret-token" });
    const p = tokenGw.cp.httpPort;
    try {
      expect((await fetch(`http://127.0.0.1:${p}/routes`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${p}/routes`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      const ok = await fetch(`http://127.0.0.1:${p}/routes`, { headers: { authorization: "Bearer s3cret-token" } });
      expect(ok.status).toBe(200);
    } finally {
      await tokenGw.stop();
    }
    await expect(startTestGateway({ yaml: yaml(), http: { host: "0.0.0.0", port: 0 } })).rejects.toThrow(/token/);
  });
});
