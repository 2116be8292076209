// The admin API on a real control plane with a real Envoy: writes (per resource, POST create,
// If-None-Match: * create-only, whole-config PUT /config in YAML and JSON) reach Envoy, conflicts and
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

  it("a body nesting 5,000 objects is a 400 saying so (not a 500); Envoy keeps the last good config", async () => {
    const before = readFileSync(gw.configPath, "utf8");
    const deep = `{"upstream": "echo", "match": ${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`;
    for (const path of ["/routes/x", "/routes/web"]) {
      const res = await fetch(`http://127.0.0.1:${gw.cp.httpPort}${path}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: deep,
      });
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { error: string; message: string; errors: { line: number; column: number }[] };
      expect(body.error).toBe("too_deep");
      expect(body.message).toBe("the body nests deeper than 64 levels (maps and lists within one another)");
      expect(body.errors[0]).toMatchObject({ line: 1, column: expect.any(Number) });
    }
    expect(readFileSync(gw.configPath, "utf8")).toBe(before);
    await waitSynced(gw.cp, "api-envoy");
    expect((await get("/web2/x")).status).toBe(200);
    expect((await get("/x")).status).toBe(404);
    expect((await api("/routes/web")).status).toBe(200);
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

describe("admin API: whole-config replacement and create-only writes on a live gateway", () => {
  let other: EchoUpstream;
  beforeAll(async () => {
    other = await echo();
  });
  // Which echo upstream answered: each records what it received.
  const servedBy = async (path: string) => {
    const [a, b] = [up.requests.length, other.requests.length];
    const r = await get(path);
    expect(r.status).toBe(200);
    expect(parseEcho(r.body).path).toBe(path);
    return up.requests.length > a ? "echo" : other.requests.length > b ? "other" : "none";
  };
  const replaced = () => `# replaced whole through PUT /config
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
routes:
  - name: all
    match: { path: { prefix: /all/ } }
    upstream: other
  - name: added
    match: { path: { prefix: /added/ } }
    upstream: echo
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
  - name: other
    endpoints: ["127.0.0.1:${other.port}"]
`;
  const putConfig = (text: string) =>
    fetch(`http://127.0.0.1:${gw.cp.httpPort}/config`, { method: "PUT", headers: { "content-type": "application/yaml" }, body: text });

  it("PUT /config (YAML) adding a route and moving another to a new upstream is 200 and Envoy serves both", async () => {
    expect(await servedBy("/all/x")).toBe("echo");
    const res = await putConfig(replaced());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ unchanged: false });
    expect(res.headers.get("etag")).toMatch(/^"[0-9a-f]+"$/);
    await waitSynced(gw.cp, "api-envoy");
    expect(await servedBy("/all/x")).toBe("other");
    expect(await servedBy("/added/x")).toBe("echo");
    expect((await get("/web2/x")).status).toBe(404);
    expect(readFileSync(gw.configPath, "utf8")).toBe(replaced());
  });

  it("PUT /config whose text does not validate is 400 with located errors; Envoy and the file keep the previous config", async () => {
    const bad = replaced().replace("upstream: other", "upstream: nowhere").replace("/added/", "/never/");
    const res = await putConfig(bad);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; errors: { path: string; line?: number; column?: number; message: string }[] };
    expect(body.error).toBe("invalid");
    const line = bad.split("\n").findIndex((l) => l.includes("upstream: nowhere")) + 1;
    expect(body.errors).toContainEqual(
      expect.objectContaining({ path: "routes[0].upstream", line, message: expect.stringMatching(/no upstream named "nowhere"/) }),
    );
    expect(readFileSync(gw.configPath, "utf8")).toBe(replaced());
    await waitSynced(gw.cp, "api-envoy");
    expect(await servedBy("/all/x")).toBe("other");
    expect(await servedBy("/added/x")).toBe("echo");
    expect((await get("/never/x")).status).toBe(404);
  });

  it("POST /routes creates a route Envoy serves; a second POST of the same name is 409 and changes nothing", async () => {
    const created = await api("/routes", {
      method: "POST",
      body: { name: "posted", match: { path: { prefix: "/posted/" } }, upstream: "echo" },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/routes/posted");
    await waitSynced(gw.cp, "api-envoy");
    expect(await servedBy("/posted/x")).toBe("echo");
    const again = await api("/routes", {
      method: "POST",
      body: { name: "posted", match: { path: { prefix: "/posted/" } }, upstream: "other" },
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe("conflict");
    await waitSynced(gw.cp, "api-envoy");
    expect(await servedBy("/posted/x")).toBe("echo");
  });

  it("PUT with If-None-Match: * is 412 on an existing name, 201 on a new one, which Envoy then serves", async () => {
    const exists = await api("/routes/posted", {
      method: "PUT",
      body: { match: { path: { prefix: "/posted/" } }, upstream: "other" },
      headers: { "if-none-match": "*" },
    });
    expect(exists.status).toBe(412);
    const fresh = await api("/routes/fresh", {
      method: "PUT",
      body: { match: { path: { prefix: "/fresh/" } }, upstream: "other" },
      headers: { "if-none-match": "*" },
    });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("location")).toBe("/routes/fresh");
    await waitSynced(gw.cp, "api-envoy");
    expect(await servedBy("/fresh/x")).toBe("other");
    expect(await servedBy("/posted/x")).toBe("echo");
  });

  it("PUT /config with a JSON body is 200 and Envoy serves it", async () => {
    const config = {
      listeners: [{ name: "public", address: "127.0.0.1", port }],
      routes: [{ name: "json", match: { path: { prefix: "/json/" } }, upstream: "other" }],
      upstreams: [{ name: "other", endpoints: [`127.0.0.1:${other.port}`] }],
    };
    const res = await api("/config", { method: "PUT", body: config });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ unchanged: false });
    await waitSynced(gw.cp, "api-envoy");
    expect(await servedBy("/json/x")).toBe("other");
    expect((await get("/fresh/x")).status).toBe(404);
    // The same text again: nothing to push.
    const same = await api("/config", { method: "PUT", body: config });
    expect(same.status).toBe(200);
    expect(await same.json()).toEqual({ unchanged: true });
  });
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
