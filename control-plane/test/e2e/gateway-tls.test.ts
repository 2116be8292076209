// TLS termination through the gateway: a listener with a certificate chosen by SNI and a default
// one, delivered to a real Envoy over SDS. What a user notices: each client gets the certificate
// for the name it asked for, ALPN picks HTTP/2 or HTTP/1.1, requests reach the upstream; and a
// certificate renewed on disk (new files renamed over the old ones) is served to new connections
// within moments, without restarting Envoy, touching the listener or dropping open connections.
// A renewal that leaves a broken file is refused and the last good certificate stays in service.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type SecureVersion, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  echoedHeader,
  isAlive,
  livePidsInGroup,
  parseEcho,
  useEchoUpstream,
  freePort,
  useEnvoy,
  type EchoRecord,
  type EchoUpstream,
  type Envoy,
} from "../../../test/support/index.js";
import { TypeUrl } from "../../src/xds/types.js";
import { nextOutcome, startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { generateCertificate, rotateCertificate, tlsHandshake, type CertificateFiles } from "../support/tls.js";

const NODE = "tls-envoy";
const API = "api.example.com";
const envoys = useEnvoy("all"); // stopped after the file; its log tail is printed if a test failed
const echo = useEchoUpstream("all");

let dir: string;
let gw: TestGateway;
let envoy: Envoy;
let upstream: EchoUpstream;
let port: number;
/** A second listener, with min_version "1.3". */
let port13: number;
let api: CertificateFiles;
let fallback: CertificateFiles;

function config(): string {
  return `
listeners:
  - name: tls
    address: 127.0.0.1
    port: ${port}
    tls:
      certificates:
        - { cert: certs/api.pem, key: certs/api.key, sni: [${API}] }
        - { cert: certs/default.pem, key: certs/default.key }
  - name: tls13
    address: 127.0.0.1
    port: ${port13}
    tls:
      min_version: "1.3"
      certificates:
        - { cert: certs/v13.pem, key: certs/v13.key }
routes:
  - name: all
    upstream: echo
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${upstream.port}"]
`;
}

const presented = async (servername?: string) => (await tlsHandshake(port, { servername })).fingerprint256;

interface Answer {
  status: number;
  echo: EchoRecord;
  reusedSocket: boolean;
  socket: TLSSocket;
  connection: string | undefined;
}

/** GET over HTTP/1.1 and TLS (SNI api.example.com), on `agent`'s connection when it has one. */
function getHttp1(path: string, agent: Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, servername: API, rejectUnauthorized: false, agent, timeout: 5_000 });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
    req.on("response", (res) => {
      // Taken now: once the response ends, a keep-alive socket goes back to the agent and off `res`.
      const socket = res.socket as TLSSocket;
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          echo: parseEcho(body),
          reusedSocket: req.reusedSocket,
          socket,
          connection: res.headers.connection,
        }),
      );
    });
    req.end();
  });
}

/** GET over HTTP/2 and TLS (SNI api.example.com, ALPN h2). */
function getHttp2(path: string): Promise<{ status: number; echo: EchoRecord; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { servername: API, rejectUnauthorized: false });
    session.on("error", reject);
    const req = session.request({ ":path": path });
    let status = 0;
    let body = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("error", reject);
    req.on("end", () => {
      const alpn = (session.socket as TLSSocket).alpnProtocol ?? false;
      session.close();
      resolve({ status, echo: parseEcho(body), alpn });
    });
    req.end();
  });
}

/** The TLS version a handshake limited to [min, max] agrees on, or the client's error message. */
function negotiated(p: number, minVersion: SecureVersion, maxVersion: SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: p, servername: API, rejectUnauthorized: false, minVersion, maxVersion });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timed out");
    }, 5_000);
    socket.on("secureConnect", () => {
      clearTimeout(timer);
      resolve(socket.getProtocol() ?? "none");
      socket.end();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`error ${e.code ?? e.message}`);
    });
  });
}

/** TLS contexts of the listener rebuilt because a secret arrived over SDS. */
async function sdsContextUpdates(): Promise<number> {
  return (await envoy.stat(`listener.127.0.0.1_${port}.server_ssl_socket_factory.ssl_context_update_by_sds`)) ?? -1;
}

async function listenerStats(): Promise<Record<string, number>> {
  const s = await envoy.stats("^listener_manager\\.");
  const get = (n: string) => s.get(`listener_manager.${n}`) ?? -1; // -1: a stat that vanished fails the comparison
  return {
    modified: get("listener_modified"),
    inPlaceUpdated: get("listener_in_place_updated"),
    removed: get("listener_removed"),
    draining: get("total_filter_chains_draining"),
    listenersDraining: get("total_listeners_draining"),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "portico-tls-"));
  mkdirSync(join(dir, "certs"));
  api = generateCertificate(join(dir, "certs/api.pem"), join(dir, "certs/api.key"), API);
  fallback = generateCertificate(join(dir, "certs/default.pem"), join(dir, "certs/default.key"), "default.example.com");
  generateCertificate(join(dir, "certs/v13.pem"), join(dir, "certs/v13.key"), "v13.example.com");
  upstream = await echo();
  port13 = await freePort();
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return config();
    },
    dir,
    nodes: [{ id: NODE }],
    start: envoys,
  }));
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("TLS termination", () => {
  it("presents the certificate chosen by SNI, and the default one for any other name or none", async () => {
    expect(api.fingerprint256).not.toBe(fallback.fingerprint256);
    const asked = await tlsHandshake(port, { servername: API });
    expect(asked.fingerprint256).toBe(api.fingerprint256);
    expect(asked.commonName).toBe(API);
    expect(await presented("other.example.com")).toBe(fallback.fingerprint256);
    expect(await presented(undefined)).toBe(fallback.fingerprint256);
  });

  it("negotiates HTTP/2 through ALPN when offered, HTTP/1.1 otherwise", async () => {
    for (const servername of [API, "other.example.com"]) {
      expect((await tlsHandshake(port, { servername, alpn: ["h2", "http/1.1"] })).alpnProtocol).toBe("h2");
      expect((await tlsHandshake(port, { servername, alpn: ["http/1.1", "h2"] })).alpnProtocol).toBe("h2"); // the server's preference
      expect((await tlsHandshake(port, { servername, alpn: ["http/1.1"] })).alpnProtocol).toBe("http/1.1");
    }
  });

  it("forwards requests arriving over TLS to the upstream, over HTTP/1.1 and HTTP/2", async () => {
    const h1 = await getHttp1("/over/h1");
    expect(h1.status).toBe(200);
    expect(h1.socket.alpnProtocol).toBe(false); // node's https offers no ALPN: plain HTTP/1.1
    expect(h1.echo.path).toBe("/over/h1");
    expect(echoedHeader(h1.echo, "x-forwarded-proto")).toEqual(["https"]);

    const h2 = await getHttp2("/over/h2");
    expect(h2.alpn).toBe("h2");
    expect(h2.status).toBe(200);
    expect(h2.echo.path).toBe("/over/h2");
    expect(echoedHeader(h2.echo, "x-forwarded-proto")).toEqual(["https"]);
    expect(upstream.requests.map((r) => r.path)).toEqual(expect.arrayContaining(["/over/h1", "/over/h2"]));
  });
});

describe("listener tls.min_version", () => {
  it('min_version: "1.3" refuses a TLS 1.2 client and accepts TLS 1.3; the default ("1.2") accepts both', async () => {
    const [old13, new13, old12, new12] = await Promise.all([
      negotiated(port13, "TLSv1.2", "TLSv1.2"),
      negotiated(port13, "TLSv1.3", "TLSv1.3"),
      negotiated(port, "TLSv1.2", "TLSv1.2"),
      negotiated(port, "TLSv1.3", "TLSv1.3"),
    ]);
    // Envoy answers a TLS 1.2 ClientHello with a protocol_version alert: the handshake fails.
    expect(old13).toBe("error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
    expect(new13).toBe("TLSv1.3");
    expect(old12).toBe("TLSv1.2");
    expect(new12).toBe("TLSv1.3");
    expect(await envoy.stat(`listener.127.0.0.1_${port13}.ssl.connection_error`)).toBeGreaterThanOrEqual(1);
  });
});

describe("certificate rotation", () => {
  it("serves a renewed certificate to new connections without restarting Envoy or touching the listener", async () => {
    // A keep-alive connection opened before the renewal.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await getHttp1("/before", agent);
      expect(first.status).toBe(200);
      expect(first.socket.getPeerCertificate().fingerprint256).toBe(api.fingerprint256);

      const pids = livePidsInGroup(envoy.pid);
      const stats = await listenerStats();
      expect(stats).toMatchObject({ modified: 0, draining: 0 });
      const sdsUpdates = await sdsContextUpdates();
      expect(sdsUpdates).toBeGreaterThan(0); // the certificates it started with came over SDS too
      const listenerVersion = gw.cp.xds.status()[0]!.types[TypeUrl.Listener]?.versionAcked;
      const before = gw.cp.source.last;

      const renewed = rotateCertificate(api, API);
      expect(renewed.fingerprint256).not.toBe(api.fingerprint256);
      const outcome = await nextOutcome(gw.cp, before);
      expect(outcome.ok, outcome.error).toBe(true);
      expect(outcome.changedTypes).toEqual([TypeUrl.Secret]); // only the secret: listeners name it, not embed it

      await vi.waitFor(async () => expect(await presented(API)).toBe(renewed.fingerprint256), { timeout: 10_000 });
      expect(await presented(undefined)).toBe(fallback.fingerprint256); // the other certificate is untouched
      await waitSynced(gw.cp, NODE);

      // Same Envoy process; the listener was neither replaced nor updated, nothing drained.
      expect(isAlive(envoy.envoyPid)).toBe(true);
      expect(livePidsInGroup(envoy.pid)).toEqual(pids);
      expect(await listenerStats()).toEqual(stats);
      expect(await sdsContextUpdates()).toBeGreaterThan(sdsUpdates);
      expect(gw.cp.xds.status()[0]!.types[TypeUrl.Listener]?.versionAcked).toBe(listenerVersion);

      // The connection from before is still open and still works (with the certificate it started with).
      const after = await getHttp1("/after", agent);
      expect(after.status).toBe(200);
      expect(after.echo.path).toBe("/after");
      expect(after.reusedSocket).toBe(true);
      expect(after.socket).toBe(first.socket);
      expect(after.connection).not.toBe("close"); // a draining listener asks clients to close (the stats above are the sure sign)
      expect(after.socket.getPeerCertificate().fingerprint256).toBe(api.fingerprint256);

      api = renewed;
    } finally {
      agent.destroy();
    }
  });

  it("refuses a renewal that leaves a broken key, keeps serving the last good certificate, and recovers", async () => {
    const served = api.fingerprint256;
    const secretVersion = gw.cp.xds.status()[0]!.types[TypeUrl.Secret]?.versionAcked;
    const before = gw.cp.source.last;
    writeFileSync(`${api.keyPath}.next`, "this is not a PEM key\n");
    renameSync(`${api.keyPath}.next`, api.keyPath);

    const outcome = await nextOutcome(gw.cp, before);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain(api.keyPath);
    expect(outcome.error).toMatch(/not a PEM private key/);
    expect(gw.cp.gateway.lastOutcome?.ok).toBe(false);
    // Nothing went out; the previous certificate is still what clients get.
    expect(gw.cp.xds.status()[0]!.types[TypeUrl.Secret]?.versionAcked).toBe(secretVersion);
    expect(await presented(API)).toBe(served);
    expect((await getHttp1("/still-up")).status).toBe(200);

    // Fixing the files (a complete renewal) is picked up like any other.
    const fixedBefore = gw.cp.source.last;
    const fixed = rotateCertificate(api, API);
    expect(fixed.fingerprint256).not.toBe(served);
    const recovered = await nextOutcome(gw.cp, fixedBefore);
    expect(recovered.ok, recovered.error).toBe(true);
    await vi.waitFor(async () => expect(await presented(API)).toBe(fixed.fingerprint256), { timeout: 10_000 });
    api = fixed;

    // Half a renewal: a new certificate over the old one, its key left behind. Envoy would NACK
    // the pair; the control plane refuses it first and names both files.
    const stray = generateCertificate(`${api.certPath}.stray`, `${api.keyPath}.stray`, API);
    const halfBefore = gw.cp.source.last;
    renameSync(stray.certPath, api.certPath);
    const half = await nextOutcome(gw.cp, halfBefore);
    expect(half.ok).toBe(false);
    expect(half.error).toContain(`${api.keyPath} is not the private key of ${api.certPath}`);
    expect(await presented(API)).toBe(fixed.fingerprint256);
    // The key arriving completes the renewal.
    const completeBefore = gw.cp.source.last;
    renameSync(stray.keyPath, api.keyPath);
    expect((await nextOutcome(gw.cp, completeBefore)).ok).toBe(true);
    await vi.waitFor(async () => expect(await presented(API)).toBe(stray.fingerprint256), { timeout: 10_000 });
    api = { ...stray, certPath: api.certPath, keyPath: api.keyPath };
  });
});
