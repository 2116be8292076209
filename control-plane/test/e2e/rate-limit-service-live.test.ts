// The rate limit service as `portico run` runs it (issue #16): a config with a global rate limit
// makes the control plane start envoyproxy/ratelimit and a development Redis, feed the service
// its domains over the control plane's own ADS server, and keep both running.
//
// - Delivery: the service loads the generated domain (its debug endpoint /rlconfig prints it) and
//   counts it (its /json endpoint, one decision without Envoy); a limit edited through the admin
//   API reaches the same service process live; a killed service is restarted and gets its config
//   again.
// - Enforcement: the gateway's Envoy refuses over the limit through the rate-limit filter's
//   global rule, and an edited limit applies without restarting the service or Envoy.
//
// The service counts in fixed windows aligned to the unit; limits here are per hour and every
// step uses a user of its own, so a step straddles a window boundary only if it starts in the
// last 30 s of an hour, which waitForFreshWindow() waits out.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  freePort,
  isAlive,
  livePidsInGroup,
  pollUntil,
  ratelimitPath,
  redisServerPath,
  repoRoot,
  request,
  startRedis,
  useEchoUpstream,
  useEnvoy,
  waitForFreshWindow,
  type Envoy,
} from "../../../test/support/index.js";
import { freeLoopbackPorts, RATE_LIMIT_SERVICE_NODE, SupervisedRateLimitService } from "../../src/rate-limit-service/supervised.js";
import { joinEnvoy, nextOutcome, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const DOMAIN = "portico.quota";

function plugin(requests: number): object {
  return {
    name: "quota",
    filter: "rate-limit",
    global: true,
    config: { rules: [{ name: "per_user", scope: "global", requests, period: "1h", key: [{ header: "x-user" }] }] },
  };
}

function gatewayYaml(o: { listenPort?: number; upstreamPort?: number; requests: number }): string {
  return [
    ...(o.listenPort !== undefined
      ? [
          `listeners: [{ name: public, address: 127.0.0.1, port: ${o.listenPort} }]`,
          "routes: [{ name: all, upstream: echo }]",
          `upstreams: [{ name: echo, endpoints: ["127.0.0.1:${o.upstreamPort}"] }]`,
        ]
      : []),
    `plugins: [${JSON.stringify(plugin(o.requests))}]`,
    "",
  ].join("\n");
}

async function supervisedService(): Promise<{ service: SupervisedRateLimitService; logs: string[] }> {
  const [grpc, http, debug, redis] = await freeLoopbackPorts(4);
  const logs: string[] = [];
  const service = new SupervisedRateLimitService({
    tools: () => ({ ratelimit: ratelimitPath(), redisServer: redisServerPath() }),
    ports: { grpc: grpc!, http: http!, debug: debug! },
    devRedisPort: redis!,
    log: (level, msg, fields) => logs.push(`${level} ${msg} ${fields ? JSON.stringify(fields) : ""}`),
  });
  return { service, logs };
}

interface ServiceStatus {
  state: string;
  pid: number | null;
  restarts: number;
  http: string;
  debug: string;
  redis: { address: string; development: boolean; pid: number | null };
}

const serviceStatus = (gw: TestGateway): ServiceStatus => (gw.cp.status() as { rateLimitService: ServiceStatus }).rateLimitService;

/** What the service loaded, as its debug endpoint prints it ("<domain>.<key_value>...: unit=HOUR requests_per_unit=3"). */
async function loadedConfig(s: ServiceStatus): Promise<string> {
  return (await request(`http://${s.debug}/rlconfig`, { timeoutMs: 2_000 })).body;
}

/** One decision of the service for `user`, without Envoy: 200 (OK) or 429 (OVER_LIMIT). */
async function decide(s: ServiceStatus, user: string): Promise<number> {
  const r = await request(`http://${s.http}/json`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      domain: DOMAIN,
      descriptors: [
        {
          entries: [
            { key: "rule", value: "per_user" },
            { key: "x-user", value: user },
          ],
        },
      ],
    }),
    timeoutMs: 5_000,
  });
  return r.status;
}

async function decisions(s: ServiceStatus, user: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await decide(s, user));
  return out;
}

/** PUT /plugins/quota through the admin API; resolves once the change is applied. */
async function putLimit(gw: TestGateway, requests: number): Promise<void> {
  const before = gw.cp.source.last;
  const r = await request(`http://127.0.0.1:${gw.cp.httpPort}/plugins/quota`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(plugin(requests)),
  });
  expect(r.status, r.body).toBeLessThan(300);
  expect(await nextOutcome(gw.cp, before)).toMatchObject({ ok: true });
}

const limitLine = (requests: number) => `${DOMAIN}.rule_per_user.x-user: unit=HOUR requests_per_unit=${requests}`;

describe("the supervised rate limit service takes its config live over ADS", () => {
  let gw: TestGateway;
  let logs: string[];

  beforeAll(async () => {
    const s = await supervisedService();
    logs = s.logs;
    gw = await startTestGateway({
      yaml: gatewayYaml({ requests: 3 }),
      rateLimitService: s.service,
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail")
      console.error(`--- control plane and service log ---\n${[...gw.logs, ...logs].join("\n").slice(-6_000)}`);
  });

  it("starts the service and a development Redis, and the service loads the generated domain", async () => {
    const s = serviceStatus(gw);
    expect(s.state).toBe("running");
    expect(s.redis.development).toBe(true);
    expect(logs.join("\n")).toContain("development Redis: counters are not persistent");
    expect(await loadedConfig(s)).toContain(limitLine(3));
    // The service is a node of the ADS server, subscribed to its own type only.
    const node = gw.cp.xds.status().find((n) => n.nodeId === RATE_LIMIT_SERVICE_NODE);
    expect(Object.keys(node?.types ?? {})).toEqual(["type.googleapis.com/ratelimit.config.ratelimit.v3.RateLimitConfig"]);
    // ... and no Envoy: no Envoy has joined this gateway. /status shows it apart from the Envoys.
    expect(await gw.cp.metrics.registry.getSingleMetricAsString("portico_connected_envoys")).toMatch(/^portico_connected_envoys 0$/m);
    const status = gw.cp.status() as { envoys: unknown[]; rateLimitService: { xds?: { nodeId: string } } };
    expect(status.envoys).toEqual([]);
    expect(status.rateLimitService.xds?.nodeId).toBe(RATE_LIMIT_SERVICE_NODE);
    await waitForFreshWindow("hour");
    expect(await decisions(s, "alice", 5)).toEqual([200, 200, 200, 429, 429]);
  });

  it("a dry run of a limit edit shows the service's config changing, and applies nothing", async () => {
    const before = gw.cp.source.last;
    const r = await request(`http://127.0.0.1:${gw.cp.httpPort}/plugins/quota?dry_run=true`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(plugin(4)),
    });
    expect(r.status, r.body).toBe(200);
    const body = JSON.parse(r.body) as { valid: boolean; diff: Record<string, unknown> };
    expect(body.valid).toBe(true);
    expect(JSON.stringify(body.diff)).toContain("RateLimitConfig");
    expect(gw.cp.source.last).toBe(before);
    expect(await loadedConfig(serviceStatus(gw))).toContain(limitLine(3));
  });

  it("a limit edited through the admin API reaches the same service process", async () => {
    const pid = serviceStatus(gw).pid;
    await putLimit(gw, 5);
    const s = serviceStatus(gw);
    await pollUntil(
      () => loadedConfig(s),
      (text) => text.includes(limitLine(5)),
      { timeoutMs: 10_000, what: "the service to load the edited limit" },
    );
    expect(s.pid).toBe(pid);
    expect(s.restarts).toBe(0);
    await waitForFreshWindow("hour");
    expect(await decisions(s, "bob", 7)).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it("a killed service is restarted and gets its config again", async () => {
    const before = serviceStatus(gw);
    process.kill(before.pid!, "SIGKILL");
    const after = await pollUntil(
      async () => serviceStatus(gw),
      (s) => s.state === "running" && s.pid !== null && s.pid !== before.pid,
      { timeoutMs: 15_000, what: "the supervisor to restart the service" },
    );
    expect(after.restarts).toBe(before.restarts + 1);
    // Ready again: the same config over a new ADS stream, and the counters still in Redis.
    await pollUntil(
      () => loadedConfig(after).catch(() => ""),
      (text) => text.includes(limitLine(5)),
      { timeoutMs: 15_000, what: "the restarted service to load its config" },
    );
    await waitForFreshWindow("hour");
    expect(await decisions(after, "carol", 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });
  it("a killed development Redis is restarted on its port, and the service counts in it again", async () => {
    const before = serviceStatus(gw);
    process.kill(before.redis.pid!, "SIGKILL");
    const after = await pollUntil(
      async () => serviceStatus(gw),
      (s) => s.redis.pid !== null && s.redis.pid !== before.redis.pid,
      { timeoutMs: 15_000, what: "the supervisor to restart Redis" },
    );
    expect(after.redis.address).toBe(before.redis.address);
    expect(after.pid, "the service itself was not restarted").toBe(before.pid);
    // The service reconnects by itself (radix backs off up to 4 s), and each pooled connection the
    // crash broke fails one decision when it is next used, which sequential probes may not reach
    // (the pool hands the same connection back). So a probe is a round of concurrent decisions,
    // as many as the service's pool (REDIS_POOL_SIZE, 10 by default), and back means three
    // rounds in a row answered in full.
    const POOL = 10;
    let streak = 0;
    let probes = 0;
    await pollUntil(
      async () => {
        const round = await Promise.all(Array.from({ length: POOL }, () => decide(after, `probe-${++probes}`).catch(() => 0)));
        streak = round.every((st) => st === 200) ? streak + 1 : 0;
        return streak;
      },
      (n) => n >= 3,
      { timeoutMs: 30_000, intervalMs: 50, what: "the service answering from the restarted Redis" },
    );
    await waitForFreshWindow("hour");
    expect(await decisions(after, "grace", 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

describe("stopping the gateway", () => {
  it("stops the service and the development Redis, leaving no process of either", async () => {
    const { service } = await supervisedService();
    const gw = await startTestGateway({
      yaml: gatewayYaml({ requests: 3 }),
      rateLimitService: service,
    });
    const s = serviceStatus(gw);
    const pids = [s.pid!, s.redis.pid!];
    expect(pids.every((p) => livePidsInGroup(p).length > 0)).toBe(true);
    await gw.stop();
    expect(pids.map((p) => livePidsInGroup(p))).toEqual([[], []]);
  });

  it("a config without global rules starts nothing", async () => {
    const { service } = await supervisedService();
    const gw = await startTestGateway({ yaml: 'upstreams: [{ name: a, endpoints: ["127.0.0.1:9"] }]\n', rateLimitService: service });
    try {
      expect(serviceStatus(gw)).toMatchObject({ state: "idle", pid: null });
    } finally {
      await gw.stop();
    }
  });
});

describe("a global rule in the gateway's Envoy (needs the rate-limit filter's scope: global)", () => {
  const envoys = useEnvoy("all");
  const echo = useEchoUpstream("all");
  let gw: TestGateway;
  let e: Envoy;
  let port: number;
  let upstreamPort: number;

  beforeAll(async () => {
    upstreamPort = (await echo({ record: false })).port;
    port = await freePort();
    const { service } = await supervisedService();
    gw = await startTestGateway({ yaml: gatewayYaml({ listenPort: port, upstreamPort, requests: 3 }), rateLimitService: service });
    e = await joinEnvoy(gw.cp, "rls-live", {}, envoys);
    await waitSynced(gw.cp, "rls-live");
  }, 90_000);
  afterAll(async () => {
    await gw?.stop();
  });

  const statuses = async (user: string, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await request(`http://127.0.0.1:${port}/x`, { headers: { "x-user": user } })).status);
    return out;
  };

  it("refuses over the limit with the filter's 429, and an edited limit applies without restarting the service or Envoy", async () => {
    await waitForFreshWindow("hour");
    expect(await statuses("dave", 5)).toEqual([200, 200, 200, 429, 429]);
    const refused = await request(`http://127.0.0.1:${port}/x`, { headers: { "x-user": "dave" } });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ error: "rate_limited", rule: "per_user" });
    expect(Number(refused.header("retry-after"))).toBeGreaterThanOrEqual(1);

    const servicePid = serviceStatus(gw).pid;
    await putLimit(gw, 5);
    await waitSynced(gw.cp, "rls-live");
    const s = serviceStatus(gw);
    await pollUntil(
      () => loadedConfig(s),
      (text) => text.includes(limitLine(5)),
      { timeoutMs: 10_000, what: "the service to load the edited limit" },
    );
    await waitForFreshWindow("hour");
    expect(await statuses("erin", 7)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(serviceStatus(gw).pid).toBe(servicePid);
    expect(isAlive(e.envoyPid), "the same Envoy process").toBe(true);
  });
});

describe("the CLI (needs the rate-limit filter's scope: global)", () => {
  const BIN = join(repoRoot, "bin/portico.mjs");
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "portico-rls-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("portico run --redis: supervises the service against the given Redis, and SIGTERM stops it", async () => {
    const redis = await startRedis();
    const configPath = join(dir, "run.yaml");
    writeFileSync(configPath, gatewayYaml({ requests: 2 }));
    const child = spawn(
      process.execPath,
      [BIN, "run", "-c", configPath, "--no-envoy", "--xds", "127.0.0.1:0", "--http", "127.0.0.1:0", "--redis", `redis://${redis.address}`],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const admin = await pollUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`portico run exited with ${child.exitCode}:\n${out}`);
          return /admin API: +(http:\/\/[^/\s]+)\/routes/.exec(out)?.[1];
        },
        (a) => a !== undefined,
        { timeoutMs: 30_000, what: "portico run to come up" },
      );
      const s = (JSON.parse((await request(`${admin}/status`)).body) as { rateLimitService: ServiceStatus }).rateLimitService;
      expect(s).toMatchObject({ state: "running", redis: { address: redis.address, development: false } });
      expect(out).not.toContain("development Redis");
      await waitForFreshWindow("hour");
      expect(await decisions(s, "frank", 3)).toEqual([200, 200, 429]);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(livePidsInGroup(s.pid!)).toEqual([]);
    } finally {
      child.kill("SIGKILL");
      await redis.stop();
    }
  });

  it("portico ratelimit-config prints the service's YAML, one document per domain", async () => {
    const configPath = join(dir, "external.yaml");
    writeFileSync(configPath, `rate_limit_service: { address: "ratelimit.internal:8081" }\n${gatewayYaml({ requests: 4 })}`);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [BIN, "ratelimit-config", "-c", configPath], { cwd: repoRoot }, (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
      ),
    );
    expect(parseAllDocuments(stdout).map((d) => d.toJS())).toEqual([
      {
        domain: DOMAIN,
        descriptors: [
          { key: "rule", value: "per_user", descriptors: [{ key: "x-user", rate_limit: { unit: "hour", requests_per_unit: 4 } }] },
        ],
      },
    ]);
  });
});
