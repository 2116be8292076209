// The Envoy side of `portico run`, with the real func-e and Envoy 1.40: the rendered bootstrap is
// one Envoy accepts and dials the control plane with; the supervisor brings a killed Envoy back
// and leaves no process behind when stopped.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bootstrapYaml, renderBootstrap, type BootstrapOptions } from "../../src/envoy/bootstrap.js";
import { machineOverloadLimits } from "../../src/envoy/overload.js";
import { EnvoySupervisor, type EnvoyStateChange } from "../../src/envoy/supervisor.js";
import {
  bootstrap,
  configText,
  envoyPath,
  funcEPath,
  httpListener,
  isAlive,
  livePidsInGroup,
  request,
  validateEnvoyConfig,
} from "../../../test/support/index.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "portico-supervisor-e2e-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Supervised {
  sup: EnvoySupervisor;
  changes: EnvoyStateChange[];
  logs: string[];
}

function supervise(config: object | string): Supervised {
  const dir = tempDir();
  const bootstrapPath = join(dir, "envoy.yaml");
  writeFileSync(bootstrapPath, configText(config));
  const changes: EnvoyStateChange[] = [];
  const logs: string[] = [];
  const sup = new EnvoySupervisor({
    funcE: funcEPath(),
    envoyPath: envoyPath(),
    bootstrapPath,
    workDir: join(dir, "work"),
    concurrency: 1,
    onState: (c) => changes.push(c),
    onLog: (line) => logs.push(line),
  });
  cleanups.push(() => sup.stop());
  return { sup, changes, logs };
}

const joinOptions = (host: string, port: number): BootstrapOptions => ({
  nodeId: "edge-1",
  nodeCluster: "edge",
  xds: { host, port },
  admin: { address: "127.0.0.1", port: 0 },
  overload: machineOverloadLimits(),
});

describe("bootstrap", () => {
  it("is accepted by `envoy --mode validate`, with IP literals and with host names", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const result = await validateEnvoyConfig(bootstrapYaml(joinOptions(host, 18000)));
      expect(result.ok, result.output).toBe(true);
    }
  });

  it("makes Envoy dial the xDS server over HTTP/2", async () => {
    // A stand-in xDS server that only records what the first connection sends.
    const firstBytes = new Promise<string>((resolve) => {
      const server: Server = createServer((socket: Socket) => {
        let got = "";
        socket.on("data", (d) => {
          got += d.toString("latin1");
          if (got.length >= 24) resolve(got.slice(0, 24));
        });
        socket.on("error", () => undefined);
      });
      cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
      server.listen(0, "127.0.0.1", () => {
        const { sup } = supervise(renderBootstrap(joinOptions("127.0.0.1", (server.address() as AddressInfo).port)));
        sup.start();
      });
    });
    expect(await firstBytes).toBe("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); // the HTTP/2 connection preface
  });
});

describe("EnvoySupervisor", () => {
  // Static: ready without a control plane (a bootstrap with ADS only gets ready once its initial
  // CDS and LDS fetches time out, 15 s each).
  const staticConfig = () => bootstrap({ listeners: [httpListener({ name: "direct", directResponse: { status: 200, body: "up\n" } })] });

  it("brings a SIGKILLed Envoy back, reports the restart, and stops leaving no process behind", async () => {
    const { sup, changes, logs } = supervise(staticConfig());
    sup.start();
    await sup.ready({ timeoutMs: 30_000 });
    expect(logs.some((l) => l.includes("starting main dispatch loop"))).toBe(true); // Envoy's log reaches onLog
    const [firstGroup, firstEnvoy] = [sup.pid!, sup.envoyPid()!];
    expect(firstEnvoy).toBeGreaterThan(0);

    process.kill(firstEnvoy, "SIGKILL");
    await vi.waitFor(() => expect(changes.filter((c) => c.state === "running")).toHaveLength(2), { timeout: 10_000, interval: 20 });
    const backoff = changes.find((c) => c.state === "backoff")!;
    expect(backoff.restartInMs).toBe(250);
    expect(backoff.exit!.code).not.toBe(0); // func-e reports Envoy's death by failing
    expect(changes.at(-1)).toMatchObject({ state: "running", restarts: 1 });
    expect(livePidsInGroup(firstGroup)).toEqual([]);

    await sup.ready({ timeoutMs: 30_000 });
    const [group, envoy] = [sup.pid!, sup.envoyPid()!];
    expect(envoy).not.toBe(firstEnvoy);
    expect((await (await fetch(`${sup.adminUrl}/ready`)).text()).trim()).toBe("LIVE");

    await sup.stop();
    expect(changes.map((c) => c.state)).toEqual(["running", "backoff", "running", "stopping", "stopped"]);
    expect(livePidsInGroup(group)).toEqual([]);
    expect(isAlive(envoy)).toBe(false);
    // SIGTERM reached Envoy itself (func-e would have SIGKILLed it): it shut down in order.
    expect(logs.some((l) => l.includes("caught ENVOY_SIGTERM"))).toBe(true);
    expect(sup.state).toBe("stopped");
  });

  it("serves traffic once ready, and a second supervisor can run beside it", async () => {
    const a = supervise(staticConfig());
    const b = supervise(staticConfig());
    a.sup.start();
    b.sup.start();
    await Promise.all([a.sup.ready({ timeoutMs: 30_000 }), b.sup.ready({ timeoutMs: 30_000 })]);
    for (const { sup } of [a, b]) {
      const listeners = JSON.parse(await (await fetch(`${sup.adminUrl}/listeners?format=json`)).text()) as {
        listener_statuses: { local_address: { socket_address: { port_value: number } } }[];
      };
      const port = listeners.listener_statuses[0]!.local_address.socket_address.port_value;
      const res = await request(`http://127.0.0.1:${port}/`);
      expect(res.body).toBe("up\n");
    }
  });
});
