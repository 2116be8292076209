// gRPC through the gateway: a grpc-js client talks cleartext HTTP/2 to Envoy's listener (codec
// AUTO), a route on the service's path prefix sends it to an upstream with `protocol: grpc`.
// What a user notices: unary replies, streams in order and complete, error statuses and metadata
// unchanged, streams that outlive Envoy's default 15 s route timeout (the route says `timeout: 0s`),
// and HTTP/2 connections to the upstream that many calls share.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEnvoy, type Envoy } from "../../../test/support/index.js";
import { startGatewayOnFreshPort, type TestGateway } from "../support/gateway.js";
import { PROBE_PREFIX, ProbeClient, startProbeServer, type ProbeServer } from "../support/grpc.js";

const NODE = "grpc-envoy";
const envoys = useEnvoy("all"); // stopped after the file; its log tail is printed if a test failed

let gw: TestGateway;
let envoy: Envoy;
let upstream: ProbeServer;
let client: ProbeClient;

function config(listenerPort: number, upstreamPort: number): string {
  return `
listeners:
  - name: grpc
    address: 127.0.0.1
    port: ${listenerPort}
routes:
  - name: probe
    match: { path: { prefix: ${PROBE_PREFIX} } }
    timeout: 0s
    upstream: probe
upstreams:
  - name: probe
    protocol: grpc
    endpoints: ["127.0.0.1:${upstreamPort}"]
`;
}

const stat = async (name: string): Promise<number> => (await envoy.stat(name)) ?? 0;

beforeAll(async () => {
  upstream = await startProbeServer();
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => config(p, upstream.port),
    nodes: [{ id: NODE }],
    start: envoys,
  }));
  client = new ProbeClient(`127.0.0.1:${envoy.listenerPort("grpc")}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await gw?.stop();
  await upstream?.close();
});

describe("gRPC through the gateway", () => {
  it("a unary call gets its reply, with request metadata in and response metadata out", async () => {
    const md = new grpc.Metadata();
    md.set("x-tag", "abc-123");
    const { reply, headers, trailers } = await client.echo({ text: "hello" }, md);
    expect(reply.text).toBe("hello");
    expect(reply.metadata["x-tag"]).toBe("abc-123");
    // Proof the call went through Envoy: it stamps every request it forwards.
    expect(reply.metadata["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers.get("x-echo-tag")).toEqual(["abc-123"]);
    expect(trailers.get("x-trailer")).toEqual(["echo-done"]);
  });

  it("a server stream delivers all its messages in order and completes with OK", async () => {
    const { messages, status } = await client.count({ n: 50 });
    expect(status.code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.i)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(status.metadata.get("x-count")).toEqual(["50"]);
  });

  it("a bidi stream answers each message as it arrives", async () => {
    const { messages, status } = await client.chat(["one", "two", "three"]);
    expect(status.code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.text)).toEqual(["ONE", "TWO", "THREE"]);
  });

  it("an error status from the server arrives unchanged, with details and trailing metadata", async () => {
    const err = await client.echo({ text: "x", fail: { code: grpc.status.NOT_FOUND, details: 'no widget named "x"' } }).then(
      () => {
        throw new Error("the call succeeded");
      },
      (e: grpc.ServiceError) => e,
    );
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe('no widget named "x"');
    expect(err.metadata.get("x-error-reason")).toEqual(["asked-to-fail"]);
  });

  it("a service the gateway has no route for is UNIMPLEMENTED (Envoy's 404), and never reaches the upstream", async () => {
    const before = upstream.calls.length;
    const err = await client.unknownService();
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(upstream.calls.length).toBe(before);
  });

  it("speaks HTTP/2 to the upstream: many calls, some concurrent, share few connections", async () => {
    const before = upstream.calls.length;
    for (let i = 0; i < 10; i++) await client.echo({ text: `seq-${i}` });
    const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => client.echo({ text: `par-${i}` })));
    expect(concurrent.map((r) => r.reply.text)).toEqual(Array.from({ length: 20 }, (_, i) => `par-${i}`));

    // The upstream's view: each peer address is one connection Envoy opened to it.
    const peers = new Set(upstream.calls.map((c) => c.peer));
    expect(upstream.calls.length - before).toBe(30);
    const cxTotal = await stat("cluster.probe.upstream_cx_total");
    expect(await stat("cluster.probe.upstream_cx_http2_total")).toBe(cxTotal);
    expect(await stat("cluster.probe.upstream_cx_http1_total")).toBe(0);
    expect(peers.size).toBe(cxTotal);
    // One client connection lands on one Envoy worker; each worker pools its own upstream
    // connections (2 workers), so HTTP/1 would have needed up to 20 for the concurrent calls.
    expect(cxTotal).toBeLessThanOrEqual(2);
    expect(await stat("cluster.probe.upstream_rq_total")).toBeGreaterThanOrEqual(upstream.calls.length);
  });

  it("a stream outlives Envoy's default 15 s route timeout (the route has timeout: 0s)", async () => {
    const started = Date.now();
    const { messages, status } = await client.count({ n: 9, intervalMs: 2_000 });
    const elapsed = Date.now() - started;
    expect(status.code, status.details).toBe(grpc.status.OK);
    expect(messages.map((m) => m.i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(elapsed).toBeGreaterThan(16_000);
  }, 60_000);
});
