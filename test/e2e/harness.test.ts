// Proves the e2e harness itself: Envoy through func-e, port discovery, the echo
// upstream, log capture, failure reporting, validation and clean shutdown.
import { describe, expect, it } from "vitest";
import {
  bootstrap,
  echoResponseHeaders,
  echoedHeader,
  envoyPath,
  EnvoyStartError,
  fixtureWasm,
  httpListener,
  isAlive,
  livePidsInGroup,
  parseEcho,
  proxyConfig,
  request,
  startEnvoy,
  startEnvoyExpectFailure,
  useEchoUpstream,
  useEnvoy,
  validateEnvoyConfig,
  wasmHttpFilter,
} from "../support/index.js";

const envoy = useEnvoy();
const upstream = useEchoUpstream();

const directConfig = (body = "hello from envoy\n") =>
  bootstrap({ listeners: [httpListener({ name: "direct", directResponse: { status: 200, body } })] });

// A typed_config whose type Envoy does not know: rejected while loading the bootstrap.
const brokenConfig = () => {
  const cfg = directConfig() as { static_resources: { listeners: { filter_chains: { filters: object[] }[] }[] } };
  cfg.static_resources.listeners[0]!.filter_chains[0]!.filters = [
    { name: "bogus", typed_config: { "@type": "type.googleapis.com/portico.DoesNotExist" } },
  ];
  return cfg;
};

describe("Envoy via func-e", () => {
  it("serves a direct_response listener on a discovered port and exposes admin/stats", async () => {
    const e = await envoy({ config: directConfig(), name: "direct" });
    expect(e.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(e.listenerPort("direct")).toBeGreaterThan(0);
    expect(e.listenerPort()).toBe(e.listeners.direct);

    const res = await request(e.url("/anything"));
    expect(res.status).toBe(200);
    expect(res.body).toBe("hello from envoy\n");

    const stats = await e.stats("^http\\.direct\\.downstream_rq_");
    expect(stats.get("http.direct.downstream_rq_2xx")).toBe(1);
    expect(await e.promStats()).toContain("envoy_http_downstream_rq_total");
    expect((await e.admin("/server_info")).body).toContain('"state": "LIVE"');
    // func-e really is in the loop: it logs which binary it started.
    expect(e.logs()).toContain(`starting: ${envoyPath()}`);
    expect(await e.waitForLog("starting main dispatch loop")).toContain("[main]");
  });

  it("proxies to the echo upstream, keeping header order and duplicates both ways", async () => {
    const up = await upstream();
    const e = await envoy({ config: proxyConfig({ upstreamPort: up.port }), name: "proxy" });

    const res = await request(e.url("/echo?x=1"), {
      method: "POST",
      headers: [
        ["x-dup", "one"],
        ["x-dup", "two"],
        ["content-type", "text/plain"],
        echoResponseHeaders([
          ["x-resp", "a"],
          ["x-resp", "b"],
        ]),
        ["x-echo-status", "201"],
      ],
      body: "payload",
    });
    expect(res.status).toBe(201);
    expect(res.headerAll("x-resp")).toEqual(["a", "b"]);
    expect(res.header("server")).toBe("envoy");

    const seen = parseEcho(res.body);
    expect(seen).toMatchObject({ method: "POST", path: "/echo?x=1", body: "payload" });
    expect(echoedHeader(seen, "x-dup")).toEqual(["one", "two"]);
    expect(echoedHeader(seen, "x-envoy-expected-rq-timeout-ms")).toHaveLength(1); // added by Envoy
    expect(up.requests).toHaveLength(1);
    expect(up.requests[0]!.path).toBe("/echo?x=1");
  });

  it("stop() leaves neither func-e nor Envoy running", async () => {
    const e = await startEnvoy({ config: directConfig(), name: "stop" });
    expect(e.envoyPid).toBeGreaterThan(0);
    expect(isAlive(e.pid)).toBe(true);
    expect(isAlive(e.envoyPid)).toBe(true);

    const exit = await e.stop();
    expect(exit).toEqual({ code: 0, signal: null }); // Envoy exited cleanly, so func-e did too
    expect(isAlive(e.pid)).toBe(false);
    expect(isAlive(e.envoyPid)).toBe(false);
    expect(livePidsInGroup(e.pid)).toEqual([]);
    // Envoy got the SIGTERM itself and shut down in order.
    expect(e.logs()).toMatch(/caught (SIGTERM|ENVOY_SIGTERM)/);
    await expect(request(e.url("/"), { timeoutMs: 2_000 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("runs two Envoys at the same time", async () => {
    const [a, b] = await Promise.all([
      envoy({ config: directConfig("A\n"), name: "a" }),
      envoy({ config: directConfig("B\n"), name: "b" }),
    ]);
    expect(a.listenerPort()).not.toBe(b.listenerPort());
    expect(a.adminUrl).not.toBe(b.adminUrl);
    expect((await request(a.url())).body).toBe("A\n");
    expect((await request(b.url())).body).toBe("B\n");
  });

  it("loads a Wasm module on the V8 runtime (hello fixture adds `hello: world`)", async () => {
    const up = await upstream();
    const e = await envoy({
      name: "wasm-hello",
      config: proxyConfig({
        upstreamPort: up.port,
        httpFilters: [wasmHttpFilter({ file: fixtureWasm("hello"), name: "hello", rootId: "x" })],
      }),
    });
    const res = await request(e.url("/"));
    expect(res.status).toBe(200);
    expect(res.headerAll("hello")).toEqual(["world"]);
  });
});

describe("failure reporting", () => {
  it("startEnvoyExpectFailure returns the exit code and the reason from the log", async () => {
    const t0 = Date.now();
    const failure = await startEnvoyExpectFailure(brokenConfig());
    expect(failure.code).not.toBe(0);
    expect(failure.logs).toContain("portico.DoesNotExist");
    expect(Date.now() - t0).toBeLessThan(15_000); // noticed the exit, did not wait for a timeout
  });

  it("startEnvoyExpectFailure reports a Wasm filter whose module cannot be loaded", async () => {
    const failure = await startEnvoyExpectFailure(
      proxyConfig({ upstreamPort: 1, httpFilters: [wasmHttpFilter({ file: "/nonexistent/plugin.wasm" })] }),
    );
    expect(failure.code).not.toBe(0);
    expect(failure.logs).toContain("/nonexistent/plugin.wasm");
  });

  it("startEnvoyExpectFailure rejects when Envoy accepts the config", async () => {
    await expect(startEnvoyExpectFailure(directConfig())).rejects.toThrow(/accepted a config/);
  });

  it("startEnvoy rejects with the log tail when Envoy exits during startup", async () => {
    const err = await startEnvoy({ config: brokenConfig(), name: "broken" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvoyStartError);
    expect((err as EnvoyStartError).message).toMatch(/exited during startup[\s\S]*portico\.DoesNotExist/);
  });

  it("validateEnvoyConfig accepts a good config and rejects a bad one", async () => {
    const good = await validateEnvoyConfig(directConfig());
    expect(good.output).toContain("OK");
    expect(good.ok).toBe(true);

    const bad = await validateEnvoyConfig(brokenConfig());
    expect(bad.ok).toBe(false);
    expect(bad.output).toContain("portico.DoesNotExist");

    const yamlText = "static_resources:\n  listeners: [{name: x}]\n"; // listener without address
    expect((await validateEnvoyConfig(yamlText)).ok).toBe(false);
  });

  it("a missing Envoy is an error that says how to install it", () => {
    const saved = process.env.ENVOY_PATH;
    process.env.ENVOY_PATH = "/nonexistent/envoy";
    try {
      expect(() => envoyPath()).toThrow(/install-tools\.sh/);
    } finally {
      if (saved === undefined) delete process.env.ENVOY_PATH;
      else process.env.ENVOY_PATH = saved;
    }
  });
});
