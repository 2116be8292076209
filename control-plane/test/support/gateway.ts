// e2e support for the whole control plane: a ControlPlane in this process following a YAML
// file in a temp dir, and real Envoys (func-e) joining it with the bootstrap `portico
// bootstrap` prints. Readiness is polled: "synced" means an Envoy ACKed the current version of
// every type the snapshot holds resources for (sync.ts).
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlPlane } from "../../src/control-plane.js";
import type { SupervisedRateLimitService } from "../../src/rate-limit-service/supervised.js";
import { renderBootstrap } from "../../src/envoy/bootstrap.js";
import type { ApplyOutcome } from "../../src/gateway/gateway.js";
import type { LogFn } from "../../src/log.js";
import { ANY_NODE } from "../../src/xds/cache.js";
import type { TypeUrlValue } from "../../src/xds/types.js";
import { syncState } from "./sync.js";
import { onFreshPort, pollUntil, repoRoot, startEnvoy, type Envoy, type StartEnvoyOptions } from "../../../test/support/index.js";

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
  /** The rate limit service to supervise for global rate limits (ControlPlaneOptions.rateLimitService). */
  rateLimitService?: SupervisedRateLimitService;
}

export function startTestGateway(o: TestGatewayOptions): Promise<TestGateway> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "portico-gw-"));
  return start(o, o.yaml, dir, !o.dir, { xds: 0, http: o.http?.port ?? 0 });
}

async function start(
  o: TestGatewayOptions,
  yaml: string | undefined,
  dir: string,
  ownsDir: boolean,
  ports: { xds: number; http: number },
): Promise<TestGateway> {
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
    configPath,
    filtersDir: join(repoRoot, "dist/filters"),
    log,
    xds: { host: "127.0.0.1", port: ports.xds },
    http: { host: o.http?.host ?? "127.0.0.1", port: ports.http },
    adminToken: o.adminToken,
    debounce: o.debounce ?? { quietMs: 50, maxDelayMs: 500 },
    rateLimitService: o.rateLimitService,
  });
  try {
    await cp.start();
  } catch (e) {
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    cp,
    dir,
    configPath,
    logs,
    write,
    startAgain: (next) => start(o, next, dir, ownsDir, { xds: cp.xdsPort, http: cp.httpPort }),
    stop: async () => {
      await cp.stop();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WaitSyncedOptions {
  timeoutMs?: number;
  /** The types that must be ACKed; default: every type the snapshot holds resources for (sync.ts). */
  types?: readonly TypeUrlValue[];
  /** Throw as soon as Envoy NACKed the wanted version (e.g. a listener port it could not bind). */
  failOnNack?: boolean;
}

/** Thrown by waitSynced({ failOnNack }) with Envoy's NACK message(s). */
export class NackedError extends Error {
  override name = "NackedError";
}

/**
 * Resolves once Envoy `nodeId` has ACKed the cache's current version of every required type
 * (see syncState: a required type Envoy has not subscribed to yet is not synced).
 */
export async function waitSynced(
  cp: Pick<ControlPlane, "cache" | "xds">,
  nodeId: string,
  o: number | WaitSyncedOptions = {},
): Promise<void> {
  const { timeoutMs = 20_000, types, failOnNack = false } = typeof o === "number" ? { timeoutMs: o } : o;
  const state = () => {
    const snap = cp.cache.get(nodeId) ?? cp.cache.get(ANY_NODE);
    return syncState(
      snap?.types,
      cp.xds.status().find((n) => n.nodeId === nodeId),
      types,
    );
  };
  await pollUntil(
    async () => {
      const s = state();
      if (failOnNack && s.nacked.length) {
        throw new NackedError(`Envoy ${nodeId} NACKed: ${s.nacked.map((n) => `${n.type}: ${n.message}`).join("; ")}`);
      }
      return s;
    },
    (s) => s.synced,
    { timeoutMs, intervalMs: 25, what: `Envoy ${nodeId} in sync` },
  );
}

/** Resolves with the next reload outcome after `before` (`cp.source.last` before the files changed). */
export async function nextOutcome(cp: ControlPlane, before: ApplyOutcome | undefined, timeoutMs = 10_000): Promise<ApplyOutcome> {
  const last = await pollUntil(
    async () => cp.source.last,
    (o) => o !== before,
    { timeoutMs, intervalMs: 10, what: "a reload after the files changed" },
  );
  return last!;
}

/** Starts a real Envoy that joins `cp` as `nodeId` (the bootstrap `portico bootstrap` prints). */
/** `start` is startEnvoy or a lifecycle-managed starter (useEnvoy) that also stops it. */
export async function joinEnvoy(
  cp: ControlPlane,
  nodeId: string,
  opts: Partial<StartEnvoyOptions> = {},
  start: (o: StartEnvoyOptions) => Promise<Envoy> = startEnvoy,
): Promise<Envoy> {
  const config = renderBootstrap(cp.bootstrapOptions({ nodeId, admin: { address: "127.0.0.1", port: 0 } }));
  return start({ name: nodeId, concurrency: 2, readyTimeoutMs: 30_000, ...opts, config });
}

export interface NodeToJoin {
  id: string;
  opts?: Partial<StartEnvoyOptions>;
}

export interface GatewayOnFreshPortOptions<N extends readonly NodeToJoin[]> extends Omit<TestGatewayOptions, "yaml"> {
  /** The gateway config, given the listener port to put in it. */
  yaml: (port: number) => string;
  /** Envoys to join, by node id, with their options. */
  nodes: N;
  /** startEnvoy or a lifecycle-managed starter (useEnvoy). */
  start?: (o: StartEnvoyOptions) => Promise<Envoy>;
}

export interface GatewayOnFreshPort<N extends readonly NodeToJoin[]> {
  gw: TestGateway;
  port: number;
  envoys: { [K in keyof N]: Envoy };
}

/**
 * A gateway whose listener port must be in its config (Envoy binds it when LDS arrives, so the
 * port cannot be 0 and discovered): picks a free port, starts the control plane and the Envoys,
 * and waits until every Envoy is in sync. When an Envoy NACKs the listener because the port was
 * taken in the meantime, everything is stopped and started again on a fresh port (onFreshPort).
 */
export function startGatewayOnFreshPort<const N extends readonly NodeToJoin[]>(
  o: GatewayOnFreshPortOptions<N>,
): Promise<GatewayOnFreshPort<N>> {
  return onFreshPort(async (port) => {
    const gw = await startTestGateway({ ...o, yaml: o.yaml(port) });
    const envoys: (Envoy | undefined)[] = [];
    try {
      // allSettled: every Envoy that did start is known (and stopped below) when another failed.
      const joined = await Promise.allSettled(
        o.nodes.map(async (n, i) => {
          envoys[i] = await joinEnvoy(gw.cp, n.id, n.opts, o.start);
        }),
      );
      for (const r of joined) if (r.status === "rejected") throw r.reason;
      await Promise.all(o.nodes.map((n) => waitSynced(gw.cp, n.id, { failOnNack: true })));
      return { gw, port, envoys: envoys as { [K in keyof N]: Envoy } };
    } catch (e) {
      await Promise.all(envoys.map((x) => x?.stop()));
      await gw.stop();
      throw e;
    }
  });
}
