// `portico status`: the table a user reads, and the command against a live HTTP server (the
// shape /status really has comes from the control plane's own status(), checked in the e2e).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { renderStatusTable, statusCommand, statusUrl, type StatusReport } from "../../../src/cli/status.js";
import { TypeUrl } from "../../../src/xds/types.js";

const applied = { ok: true, origin: "file /etc/portico/gateway.yaml", at: "2025-01-02T03:04:05.000Z", kind: "full", changedTypes: [] };

const report: StatusReport = {
  config: {
    path: "/etc/portico/gateway.yaml",
    applied,
    lastAttempt: {
      ok: false,
      origin: "file /etc/portico/gateway.yaml",
      at: "2025-01-02T03:05:00.000Z",
      error: 'gateway.yaml:7:15: routes[0].upstream: no upstream named "nowhere"\nsecond line',
    },
    pushes: 7,
  },
  envoys: [
    {
      nodeId: "edge-2",
      cluster: "portico",
      userAgent: "envoy",
      connectedStreams: 0,
      connectedSince: null,
      types: { [TypeUrl.Listener]: { versionSent: "3-bbbbbbbb", versionAcked: "2-aaaaaaaa", lastNack: null } },
    },
    {
      nodeId: "edge-1",
      cluster: "portico",
      userAgent: "envoy",
      connectedStreams: 1,
      connectedSince: "2025-01-02T03:00:00.000Z",
      types: {
        [TypeUrl.Route]: { versionSent: "5-eeeeeeee", versionAcked: "5-eeeeeeee", lastNack: null },
        [TypeUrl.Cluster]: { versionSent: "4-cccccccc", versionAcked: "4-cccccccc", lastNack: null },
        [TypeUrl.Listener]: {
          versionSent: "3-bbbbbbbb",
          versionAcked: "2-aaaaaaaa",
          lastNack: { version: "3-bbbbbbbb", message: "Error adding/updating listener(s) public: bad", at: "2025-01-02T03:04:06.000Z" },
        },
        [TypeUrl.Endpoints]: { versionSent: "6-dddddddd", versionAcked: "5-dddddddd", lastNack: null },
      },
    },
  ],
};

describe("renderStatusTable", () => {
  const text = renderStatusTable(report);
  const lines = text.split("\n");
  const row = (node: string, type: string) => {
    // Rows after a node's first carry blank node columns: find the node's block, then the type.
    const start = lines.findIndex((l) => l.startsWith(`${node} `));
    const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
    return lines.slice(start, end === -1 ? undefined : end).find((l) => l.includes(type)) ?? "";
  };

  it("shows the config, the rejected last attempt and the push count", () => {
    expect(text).toContain("config:        /etc/portico/gateway.yaml");
    expect(text).toMatch(/last apply: +ok, full at 2025-01-02T03:04:05.000Z/);
    expect(text).toMatch(
      /last attempt: +REJECTED at 2025-01-02T03:05:00.000Z .*: gateway\.yaml:7:15: routes\[0\]\.upstream: no upstream named "nowhere"$/m,
    );
    expect(text).not.toContain("second line");
    expect(text).toMatch(/pushes: +7/);
    expect(text).toContain("1 connected, 1 disconnected");
  });

  it("has one row per node and type, nodes sorted, types in push order, with each type's state", () => {
    const header = lines.find((l) => l.startsWith("NODE"))!;
    expect(header.split(/\s{2,}/)).toEqual(["NODE", "CLUSTER", "STREAMS", "CONNECTED SINCE", "TYPE", "SENT", "ACKED", "STATE"]);
    const body = lines.slice(
      lines.indexOf(header) + 1,
      lines.findIndex((l, i) => i > lines.indexOf(header) && l === ""),
    );
    expect(
      body.map((l) =>
        l
          .trim()
          .split(/\s{2,}/)
          .at(-4),
      ),
    ).toEqual(["CDS Cluster", "EDS ClusterLoadAssignment", "LDS Listener", "RDS RouteConfiguration", "LDS Listener"]);
    expect(body[0]).toMatch(/^edge-1 +portico +1 +2025-01-02T03:00:00.000Z +CDS Cluster +4-cccccccc +4-cccccccc +ACKED$/);
    expect(row("edge-1", "EDS")).toMatch(/6-dddddddd +5-dddddddd +pending$/);
    expect(row("edge-1", "LDS")).toMatch(/3-bbbbbbbb +2-aaaaaaaa +NACKED$/);
    expect(row("edge-2", "LDS")).toMatch(/^edge-2 +portico +0 \(disconnected\) +- +LDS Listener +3-bbbbbbbb +2-aaaaaaaa +not ACKed$/);
    // Columns line up: every row's TYPE starts where the header's does.
    const col = header.indexOf("TYPE");
    for (const l of body) expect(l.slice(col, col + 4), l).toMatch(/^(CDS|EDS|LDS|RDS)/);
  });

  it("lists each NACK with its message under the table", () => {
    expect(text).toMatch(
      /last NACK per node and type.*\n {2}edge-1 {2}LDS Listener {2}3-bbbbbbbb {2}at 2025-01-02T03:04:06.000Z\n {4}Error adding\/updating listener\(s\) public: bad\n$/,
    );
  });

  it("says a superseded NACK is no longer the state", () => {
    const t = renderStatusTable({
      envoys: [
        {
          nodeId: "n",
          connectedStreams: 1,
          types: {
            [TypeUrl.Route]: { versionSent: "4-x", versionAcked: "4-x", lastNack: { version: "3-y", message: "old", at: "t" } },
          },
        },
      ],
    });
    expect(t).toMatch(/4-x +4-x +ACKED/);
    expect(t).toContain("3-y  at t (since superseded)");
  });

  it("shows the rate limit service and its own config's sync state, without counting it as an Envoy", () => {
    const t = renderStatusTable({
      envoys: report.envoys,
      rateLimitService: {
        state: "running",
        pid: 4242,
        grpc: "127.0.0.1:39835",
        xds: {
          nodeId: "portico-ratelimit",
          connectedStreams: 1,
          types: { [TypeUrl.RateLimitConfig]: { versionSent: "2-r", versionAcked: "2-r", lastNack: null } },
        },
      },
    });
    expect(t).toContain("1 connected, 1 disconnected");
    expect(t).toContain("rate limits:   service running (pid 4242) at 127.0.0.1:39835");
    expect(t).toMatch(/^portico-ratelimit +- +1 +- +RLS RateLimitConfig +2-r +2-r +ACKED$/m);
  });

  it("with no Envoy yet, says how to join one", () => {
    expect(renderStatusTable({ config: { path: "g.yaml", applied, pushes: 1 }, envoys: [] })).toContain("no Envoy has connected yet");
  });
});

describe("statusUrl", () => {
  it("accepts a base URL, host:port, or the /status URL itself", () => {
    expect(statusUrl("http://127.0.0.1:18001")).toBe("http://127.0.0.1:18001/status");
    expect(statusUrl("127.0.0.1:18001/")).toBe("http://127.0.0.1:18001/status");
    expect(statusUrl("https://cp.example/portico/status")).toBe("https://cp.example/portico/status");
  });
});

describe("statusCommand", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  /** A stand-in control plane answering /status; records the Authorization header it got. */
  async function serve(status: number, body: string): Promise<{ url: string; auth: () => string | undefined }> {
    let auth: string | undefined;
    server = createServer((req, res) => {
      auth = req.headers.authorization;
      if (req.url !== "/status") return void res.writeHead(404).end();
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth: () => auth };
  }

  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, o: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } };
  };

  it("prints the table, sending the token", async () => {
    const s = await serve(200, JSON.stringify(report));
    const c = capture();
    expect(await statusCommand({ url: s.url, token: "t0k", ...c.o })).toBe(0);
    expect(c.out.join("")).toBe(renderStatusTable(report));
    expect(s.auth()).toBe("Bearer t0k");
  });

  it("--json prints the report as received", async () => {
    const s = await serve(200, JSON.stringify(report));
    const c = capture();
    expect(await statusCommand({ url: s.url, json: true, ...c.o })).toBe(0);
    expect(JSON.parse(c.out.join(""))).toEqual(report);
    expect(s.auth()).toBeUndefined();
  });

  it("exits 1 with the reason when refused or unreachable", async () => {
    const s = await serve(401, JSON.stringify({ error: "unauthorized" }));
    let c = capture();
    expect(await statusCommand({ url: s.url, ...c.o })).toBe(1);
    expect(c.err.join("")).toMatch(/answered 401 \(pass --token.*unauthorized/);
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    c = capture();
    expect(await statusCommand({ url: s.url, ...c.o })).toBe(1);
    expect(c.err.join("")).toMatch(/cannot reach the control plane at http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED/);
    expect(c.out).toEqual([]);
  });
});
