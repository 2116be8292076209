// e2e support for the whole control plane: a ControlPlane in this process following a YAML
// file in a temp dir, and real Envoys (func-e) joining it with the bootstrap `portico
// bootstrap` prints. Readiness is polled: "synced" means an Envoy ACKed every type of the
// snapshot currently in the cache.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlPlane } from "../../src/control-plane.js";
import { renderBootstrap } from "../../src/envoy/bootstrap.js";
import type { ApplyOutcome } from "../../src/gateway/gateway.js";
import type { LogFn } from "../../src/log.js";
import { ANY_NODE } from "../../src/xds/cache.js";
import { PUSH_ORDER, shortTypeName } from "../../src/xds/types.js";
import { pollUntil, repoRoot, startEnvoy, type Envoy, type StartEnvoyOptions } from "../../../test/support/index.js";

export interface TestGateway {
  cp: ControlPlane;
  dir: string;
  configPath: string;
  logs: string[];
  /** Replaces the config file the way an editor saving it does (write + rename). */
  write(yaml: string): void;
  /**
   * After `cp.stop()`: a control plane "coming back", on the same ports and directory (which it
   * removes on stop() as this one would have), with `yaml` saved first when given (an edit made
   * while it was down).
   */
  startAgain(yaml?: string): Promise<TestGateway>;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  yaml: string;
  /** A directory of the caller's, left in place; by default a temp dir that stop() removes. */
  dir?: string;
  debounce?: { quietMs: number; maxDelayMs: number };
  /** Admin API address (default 127.0.0.1 on a free port) and token. */
  http?: { host: string; port: number };
  adminToken?: string;
}

export function startTestGateway(o: TestGatewayOptions): Promise<TestGateway> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "portico-gw-"));
  return start(o, o.yaml, dir, !o.dir, { xds: 0, http: o.http?.port ?? 0 });
}

async function start(o: TestGatewayOptions, yaml: string | undefined, dir: string, ownsDir: boolean, ports: { xds: number; http: number }): Promise<TestGateway> {
  const configPath = join(dir, "gateway.yaml");
  const logs: string[] = [];
  const log: LogFn = (level, msg, fields) => {
    logs.push(`${level} ${msg} ${fields ? JSON.stringify(fields) : ""}`);
    if (process.env.PORTICO_CP_DEBUG === "1") console.log(level, msg, fields ?? "");
  };
  const write = (text: string) => {
    const tmp = `${configPath}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, configPath);
  };
  if (yaml !== undefined) write(yaml);
  const cp = new ControlPlane({
    configPath, filtersDir: join(repoRoot, "dist/filters"), log,
    xds: { host: "127.0.0.1", port: ports.xds }, http: { host: o.http?.host ?? "127.0.0.1", port: ports.http },
    adminToken: o.adminToken,
    debounce: o.debounce ?? { quietMs: 50, maxDelayMs: 500 },
  });
  try {
    await cp.start();
  } catch (e) {
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    cp, dir, configPath, logs, write,
    startAgain: (next) => start(o, next, dir, ownsDir, { xds: cp.xdsPort, http: cp.httpPort }),
    stop: async () => {
      await cp.stop();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once Envoy `nodeId` has ACKed the cache's current version of every type. */
export async function waitSynced(cp: Pick<ControlPlane, "cache" | "xds">, nodeId: string, timeoutMs = 20_000): Promise<void> {
  await pollUntil(async () => syncLag(cp, nodeId), (lag) => lag === "", { timeoutMs, intervalMs: 25, what: `Envoy ${nodeId} in sync` });
}

/** What Envoy `nodeId` has not ACKed yet ("" when nothing). */
function syncLag(cp: Pick<ControlPlane, "cache" | "xds">, nodeId: string): string {
  const snap = cp.cache.get(nodeId) ?? cp.cache.get(ANY_NODE);
  const node = cp.xds.status().find((n) => n.nodeId === nodeId);
  if (!node) return "never connected";
  if (!snap || node.connectedStreams === 0) return "not connected";
  const behind = PUSH_ORDER.filter((t) => {
    const want = snap.types[t]?.version;
    const s = node.types[t];
    // Named types an Envoy never subscribed to (e.g. no secrets in use) need no ACK.
    return want !== undefined && s !== undefined && s.versionAcked !== want;
  });
  return behind.map((t) => `${shortTypeName(t)} acked ${node.types[t]?.versionAcked} want ${snap.types[t]?.version}`).join(", ");
}

/** Resolves with the next reload outcome after `before` (`cp.source.last` before the files changed). */
export async function nextOutcome(cp: ControlPlane, before: ApplyOutcome | undefined, timeoutMs = 10_000): Promise<ApplyOutcome> {
  const last = await pollUntil(async () => cp.source.last, (o) => o !== before, { timeoutMs, intervalMs: 10, what: "a reload after the files changed" });
  return last!;
}

/** Starts a real Envoy that joins `cp` as `nodeId` (the bootstrap `portico bootstrap` prints). */
/** `start` is startEnvoy or a lifecycle-managed starter (useEnvoy) that also stops it. */
export async function joinEnvoy(
  cp: ControlPlane, nodeId: string, opts: Partial<StartEnvoyOptions> = {},
  start: (o: StartEnvoyOptions) => Promise<Envoy> = startEnvoy,
): Promise<Envoy> {
  const config = renderBootstrap(cp.bootstrapOptions({ nodeId, admin: { address: "127.0.0.1", port: 0 } }));
  return start({ name: nodeId, concurrency: 2, readyTimeoutMs: 30_000, ...opts, config });
}
