// Observability end to end: a real Prometheus server (the Debian package), configured with the
// scrape config and alert rules docs/observability.md gives, scrapes the control plane's
// /metrics and two Envoys' /stats/prometheus, and is queried over its HTTP API the way a
// dashboard or an alert would: the control plane's metrics, Envoy's own, and each suite
// plugin's. Every query of the Grafana dashboard in docs/ is evaluated against it. Also: Envoy's
// JSON access log read back from its file, and `portico status` against the live control plane.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  generateKey,
  onFreshPort,
  jwksOf,
  mint,
  pollUntil,
  prometheusPath,
  request,
  standardClaims,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
  type TestKey,
} from "../../../test/support/index.js";
import { signalGroup, trackGroup, untrackGroup, waitGroupGone } from "../../../test/support/procs.js";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { statusCommand } from "../../src/cli/status.js";
import { OBSERVABILITY_DOC_PATH, dashboardQueries, metricSelectors, readDashboard, withGrafanaVariables } from "../support/promql.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");

const ISSUER = "https://idp.portico.test";

let gw: TestGateway;
let e1: Envoy;
let e2: Envoy;
let up: EchoUpstream;
let port: number;
let key: TestKey;
let prom: PrometheusServer;
let workDir: string;
let accessLogPath: string;
/** What the header-rewrite plugin stamps on responses now (an edit changes it). */
let stamp = "v1";

function config(): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
    access_log:
      path: ${accessLogPath}
      fields: { tenant: "%REQ(X-TENANT)%" }
routes:
  - name: open
    match: { path: { prefix: /open/ } }
    upstream: echo
    plugins: [stamp, limit]
  - name: secure
    match: { path: { prefix: /secure/ } }
    upstream: echo
    plugins: [stamp, auth]
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
plugins:
  - name: auth
    filter: jwt-auth
    config:
      providers:
        - name: idp
          issuer: ${ISSUER}
          jwks: ${JSON.stringify(jwksOf([key]))}
      rules:
        - { match: {}, requires: [idp] }
  - name: limit
    filter: rate-limit
    config:
      rules:
        - { name: burst, requests: 2, period_s: 3600 }
  - name: stamp
    filter: header-rewrite
    config:
      rules:
        - { name: stamp, response: { set: { x-stamp: "${stamp}" } } }
`;
}

// ---------------------------------------------------------------------------------------------
// Prometheus: its own process group (stopped whole, never outliving the run), a generated config,
// storage in a temp dir, the web API on a free port.

interface PrometheusServer {
  url: string;
  stop(): Promise<void>;
}

/** The YAML code block of docs/observability.md that contains `marker`. */
function docYaml(marker: string): Record<string, unknown> {
  const blocks = [...readFileSync(OBSERVABILITY_DOC_PATH, "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes(marker));
  if (!block) throw new Error(`docs/observability.md has no yaml block with ${marker}`);
  return parseYaml(block) as Record<string, unknown>;
}

interface ScrapeJob {
  job_name: string;
  static_configs: { targets: string[] }[];
}

/** Prometheus binds its web port itself: a port taken before it did means a fresh port and a new start. */
const startPrometheus = (targets: Record<string, string[]>): Promise<PrometheusServer> =>
  onFreshPort((webPort) => startPrometheusOn(webPort, targets));

async function startPrometheusOn(webPort: number, targets: Record<string, string[]>): Promise<PrometheusServer> {
  const bin = prometheusPath();
  const dir = mkdtempSync(join(tmpdir(), "portico-prometheus-"));
  // The documented config and alert rules, with this test's targets and a 1 s interval so the
  // test waits seconds, not minutes.
  const config = docYaml("scrape_configs") as { global: Record<string, string>; scrape_configs: ScrapeJob[]; rule_files: string[] };
  config.global = { ...config.global, scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" };
  for (const job of config.scrape_configs) {
    const t = targets[job.job_name];
    if (!t) throw new Error(`no targets for the documented job ${job.job_name}`);
    job.static_configs = [{ targets: t }];
  }
  writeFileSync(join(dir, config.rule_files[0]!), toYaml(docYaml("groups:")));
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, toYaml(config));
  const child = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      "--log.level=warn",
    ],
    { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${bin}`);
  trackGroup(pid);
  let buffer = "";
  // Its output (warnings and errors only) goes into the error if it fails to start.
  for (const s of [child.stdout!, child.stderr!])
    s.setEncoding("utf8").on("data", (d: string) => {
      buffer += d;
    });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${webPort}`;
  const server: PrometheusServer = {
    url,
    stop: async () => {
      signalGroup(pid, "SIGTERM");
      if (!(await waitGroupGone(pid, 10_000))) {
        signalGroup(pid, "SIGKILL");
        await waitGroupGone(pid, 5_000);
      }
      untrackGroup(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await pollUntil(
      async () => {
        if (exited) throw new Error(`prometheus exited:\n${buffer}`);
        return (await request(`${url}/-/ready`, { timeoutMs: 1_000 }).catch(() => ({ status: 0 }))).status;
      },
      (s) => s === 200,
      { timeoutMs: 30_000, intervalMs: 100, what: "prometheus /-/ready" },
    );
  } catch (e) {
    await server.stop();
    throw new Error(`${(e as Error).message}\nprometheus output:\n${buffer.slice(-4_000)}`);
  }
  return server;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query over Prometheus's HTTP API; throws with Prometheus's error for a bad query. */
async function query(expr: string): Promise<Sample[]> {
  const r = await request(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { timeoutMs: 5_000 });
  const body = JSON.parse(r.body) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  if (body.status !== "success") throw new Error(`query ${expr}: ${body.error ?? r.body}`);
  if (body.data!.resultType !== "vector") throw new Error(`query ${expr}: a ${body.data!.resultType}, not a vector`);
  return body.data!.result;
}

/** Polls `expr` until it has a sample satisfying `accept` (scrapes come every second). */
async function eventually(expr: string, accept: (v: number) => boolean = (v) => v > 0, timeoutMs = 20_000): Promise<number> {
  const samples = await pollUntil(
    () => query(expr),
    (s) => s.some((x) => accept(Number(x.value[1]))),
    { timeoutMs, intervalMs: 250, what: expr },
  );
  return Number(samples.find((x) => accept(Number(x.value[1])))!.value[1]);
}

const get = (path: string, headers: Record<string, string> = {}) =>
  request(`http://127.0.0.1:${port}${path}`, { headers, timeoutMs: 10_000 });

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "portico-observability-"));
  accessLogPath = join(workDir, "access.log");
  up = await echo({ record: false });
  key = await generateKey("ES256", "obs");
  // Envoy flushes access log files every 10 s by default; a test need not wait that long.
  const flushFast = { extraArgs: ["--file-flush-interval-msec", "200"] };
  ({
    gw,
    envoys: [e1, e2],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return config();
    },
    nodes: [
      { id: "envoy-1", opts: flushFast },
      { id: "envoy-2", opts: flushFast },
    ],
    start: envoys,
  }));
  prom = await startPrometheus({
    "portico-control-plane": [`127.0.0.1:${gw.cp.httpPort}`],
    envoy: [e1, e2].map((e) => e.adminUrl.replace(/^http:\/\//, "")),
  });
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  await gw?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("Prometheus scrapes the control plane", () => {
  it("every target is up", async () => {
    expect(await eventually('sum(up{job="envoy"})', (v) => v === 2)).toBe(2);
    expect(await eventually('up{job="portico-control-plane"}', (v) => v === 1)).toBe(1);
  });

  it("sees both Envoys connected, their ACKs, the pushes and the config version", async () => {
    expect(await eventually("portico_connected_envoys", (v) => v === 2)).toBe(2);
    expect(await eventually("sum(portico_xds_acks_total)")).toBeGreaterThanOrEqual(2 * 5);
    expect(await eventually('portico_xds_acks_total{type="Listener"}')).toBeGreaterThanOrEqual(2);
    expect(await eventually("sum(portico_xds_nacks_total)", (v) => v === 0)).toBe(0);
    expect(await eventually("portico_config_pushes_total")).toBeGreaterThanOrEqual(1);
  });

  it("counts requests to the control plane's HTTP port by route template: its own scrapes, an admin API call", async () => {
    expect(await eventually('portico_admin_requests_total{method="GET",route="/metrics",status="200"}')).toBeGreaterThanOrEqual(1);
    expect((await request(`http://127.0.0.1:${gw.cp.httpPort}/routes/open`)).status).toBe(200);
    expect((await request(`http://127.0.0.1:${gw.cp.httpPort}/routes/nowhere`)).status).toBe(404);
    expect(await eventually('portico_admin_requests_total{method="GET",route="/routes/{name}",status="200"}')).toBe(1);
    expect(await eventually('portico_admin_requests_total{method="GET",route="/routes/{name}",status="404"}')).toBe(1);
  });

  it("an edit is a push: pushes and version go up, and each Envoy's ACK lands in the latency histogram", async () => {
    const version = await eventually("portico_config_version");
    const before = await eventually('sum(portico_xds_push_latency_seconds_count{type="TypedExtensionConfig"})', () => true);
    stamp = "v2";
    gw.write(config());
    await pollUntil(
      async () => gw.cp.gateway.pushCount,
      (n) => n >= version + 1,
      { what: "the edit pushed" },
    );
    await Promise.all([waitSynced(gw.cp, "envoy-1"), waitSynced(gw.cp, "envoy-2")]);
    expect(await eventually("portico_config_version", (v) => v === version + 1)).toBe(version + 1);
    // A plugin config edit is an ECDS push, ACKed by both Envoys: two observations, in the buckets up to 30 s.
    const count = await eventually('sum(portico_xds_push_latency_seconds_count{type="TypedExtensionConfig"})', (v) => v >= before + 2);
    expect(count).toBe(before + 2);
    expect(await eventually('sum(portico_xds_push_latency_seconds_bucket{type="TypedExtensionConfig",le="30"})', (v) => v === count)).toBe(
      count,
    );
    const p99 = await eventually(
      'histogram_quantile(0.99, sum by (le) (portico_xds_push_latency_seconds_bucket{type="TypedExtensionConfig"}))',
      (v) => v > 0,
    );
    expect(p99).toBeLessThan(5);
  });
});

/** Sum of a metric over both Envoys, as Prometheus has it now (0 when absent). */
async function total(expr: string): Promise<number> {
  const r = await query(`sum(${expr})`);
  return r.length ? Number(r[0]!.value[1]) : 0;
}

describe("Prometheus scrapes each Envoy: Envoy's own metrics and every plugin's", () => {
  it("counts what each suite plugin did, exactly, across both Envoys", async () => {
    const names = {
      hrRequests: "portico_header_rewrite_requests_total",
      hrApplied: "portico_header_rewrite_rules_applied_total",
      rlAllowed: "portico_rate_limit_burst_allowed_total",
      rlLimited: "portico_rate_limit_burst_limited_total",
      jwtAllowed: "portico_jwt_auth_idp_allowed_total",
      jwtMissing: "portico_jwt_auth_denied_missing_total",
      jwtExpired: "portico_jwt_auth_idp_denied_expired_total",
      rq: 'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="public"}',
    };
    // Every plugin metric exists (at 0) from the filter's start: wait until both Envoys' are scraped.
    for (const n of Object.values(names)) await eventually(`count(${n})`, (v) => v === 2);
    const before = Object.fromEntries(await Promise.all(Object.entries(names).map(async ([k, n]) => [k, await total(n)] as const)));

    const open = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`/open/${i}`)));
    const good = await mint(key, standardClaims(ISSUER));
    const expired = await mint(key, standardClaims(ISSUER, { exp: Math.floor(Date.now() / 1000) - 600 }));
    const secure = [
      await get("/secure/a", { authorization: `Bearer ${good}` }),
      await get("/secure/b"),
      await get("/secure/c", { authorization: `Bearer ${expired}` }),
    ];
    const allowed = open.filter((r) => r.status === 200).length;
    const limited = open.filter((r) => r.status === 429).length;
    expect(allowed + limited, "every /open request was allowed or limited").toBe(10);
    // Each Envoy keeps its own bucket (burst 2), and the burst of 10 creates it: with 2 workers per
    // Envoy the creation race can admit one more per Envoy, once (filters/rate-limit/README.md,
    // "the creation race"). So at most 2 x (2 + 1) of the 10 get through.
    expect(limited).toBeGreaterThanOrEqual(4);
    expect(secure.map((r) => r.status)).toEqual([200, 401, 401]);
    for (const r of [...open.filter((x) => x.status === 200), secure[0]!]) expect(r.header("x-stamp")).toBe(stamp);

    const delta = async (k: keyof typeof names, want: number) =>
      (await eventually(`sum(${names[k]})`, (v) => v - before[k]! >= want)) - before[k]!;
    expect(await delta("rlAllowed", allowed)).toBe(allowed);
    expect(await delta("rlLimited", limited)).toBe(limited);
    expect(await delta("jwtAllowed", 1)).toBe(1);
    expect(await delta("jwtMissing", 1)).toBe(1);
    expect(await delta("jwtExpired", 1)).toBe(1);
    // header-rewrite comes last in the chain: it sees the requests the other two let through.
    expect(await delta("hrRequests", allowed + 1)).toBe(allowed + 1);
    expect(await delta("hrApplied", allowed + 1)).toBe(allowed + 1);
    expect(await delta("rq", 13)).toBe(13);
    expect(
      await eventually('sum(envoy_http_downstream_rq_xx{envoy_http_conn_manager_prefix="public",envoy_response_code_class="4"})'),
    ).toBeGreaterThanOrEqual(limited + 2);
    expect(await eventually('count(envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix="public"})')).toBeGreaterThan(0);
    expect(await eventually('sum(envoy_cluster_membership_healthy{envoy_cluster_name="echo"})', (v) => v === 2)).toBe(2);
  });

  it("every query of the Grafana dashboard evaluates, on metrics Prometheus has", async () => {
    const queries = dashboardQueries(readDashboard());
    // Envoy's histograms reach /stats/prometheus on its next stats flush after traffic, and
    // Prometheus on its next scrape: wait for the names rather than rely on the test above.
    const wanted = [...new Set(queries.flatMap((q) => metricSelectors(q.expr).names))];
    const names = async () => (JSON.parse((await request(`${prom.url}/api/v1/label/__name__/values`)).body) as { data: string[] }).data;
    const known = await pollUntil(names, (k) => wanted.every((n) => k.includes(n)), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: "every dashboard metric in Prometheus",
    }).catch(() => names()); // on timeout, the check below reports what is missing
    const problems: string[] = [];
    const empty: string[] = [];
    for (const q of queries) {
      const expr = withGrafanaVariables(q.expr);
      const s = metricSelectors(q.expr);
      for (const n of s.names) if (!known.includes(n)) problems.push(`${q.panel}: ${n} is not in Prometheus`);
      for (const p of s.patterns) if (!known.some((n) => p.test(n))) problems.push(`${q.panel}: nothing matches ${p}`);
      try {
        if ((await query(expr)).length === 0) empty.push(q.panel);
      } catch (e) {
        problems.push(`${q.panel}: ${(e as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    // The plugin panels have data (the traffic above went through every suite plugin), and so do
    // the control plane's (an edit was pushed, admin API calls were made).
    for (const panel of [
      "header-rewrite",
      "jwt-auth: allowed and denied by provider",
      "jwt-auth: denials by reason",
      "rate-limit: allowed and limited by rule",
      "Plugin VM memory",
      "Admin API requests",
      "Push latency by type",
    ]) {
      expect(empty, `panel "${panel}" has no data`).not.toContain(panel);
    }
  });

  it("loads the documented alert rules, and none fires on a healthy gateway", async () => {
    type Rule = { name: string; health: string; state: string; lastEvaluation: string };
    const rules = await pollUntil(
      async () => {
        const r = JSON.parse((await request(`${prom.url}/api/v1/rules`)).body) as { data: { groups: { rules: Rule[] }[] } };
        return r.data.groups.flatMap((g) => g.rules);
      },
      (rs) => rs.length > 0 && rs.every((x) => !x.lastEvaluation.startsWith("0001")),
      { what: "alert rules evaluated" },
    );
    expect(rules.map((x) => x.name).sort()).toEqual([
      "PorticoConfigRejected",
      "PorticoEnvoyRejectedConfig",
      "PorticoGatewayErrors",
      "PorticoNoEnvoyConnected",
      "PorticoSlowPush",
    ]);
    expect(rules.filter((x) => x.health !== "ok")).toEqual([]);
    expect(rules.filter((x) => x.state !== "inactive").map((x) => x.name)).toEqual([]);
  });
});

describe("access log", () => {
  /** Lines of the access log (both Envoys append to it) whose path is `path`, once they are there. */
  async function logged(path: string): Promise<Record<string, unknown>[]> {
    await pollUntil(
      async () => (existsSync(accessLogPath) ? readFileSync(accessLogPath, "utf8") : "").split("\n").filter((l) => l.includes(`"${path}"`)),
      (ls) => ls.length > 0,
      { timeoutMs: 10_000, what: `an access log line for ${path}` },
    );
    // Flushed every 200 ms here: give a duplicate (there must be none) a few flushes to show up.
    await new Promise((r) => setTimeout(r, 1_000));
    return readFileSync(accessLogPath, "utf8")
      .split("\n")
      .filter((l) => l.includes(`"${path}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it("writes one JSON line per request, with its status, path, route and the added field", async () => {
    const id = Math.random().toString(36).slice(2);
    const token = await mint(key, standardClaims(ISSUER));
    const ok = await get(`/secure/ok-${id}?q=1`, { authorization: `Bearer ${token}`, "x-tenant": "acme", "user-agent": "portico-e2e" });
    const denied = await get(`/secure/denied-${id}`);
    expect([ok.status, denied.status]).toEqual([200, 401]);

    const [line, ...more] = await logged(`/secure/ok-${id}?q=1`);
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      method: "GET",
      path: `/secure/ok-${id}?q=1`,
      status: 200,
      protocol: "HTTP/1.1",
      route_name: "secure",
      upstream_cluster: "echo",
      upstream_host: `127.0.0.1:${up.port}`,
      tenant: "acme",
      user_agent: "portico-e2e",
      client_ip: "127.0.0.1",
      authority: `127.0.0.1:${port}`,
      response_flags: "-",
      response_code_details: "via_upstream",
    });
    expect(typeof line!.duration_ms).toBe("number");
    expect(line!.x_request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(line!.start_time))).toBeGreaterThan(Date.now() - 60_000);

    const [refused, ...again] = await logged(`/secure/denied-${id}`);
    expect(again).toEqual([]);
    // Refused by the jwt-auth plugin: no upstream, no tenant header sent.
    expect(refused).toMatchObject({ path: `/secure/denied-${id}`, status: 401, upstream_host: null, tenant: null });
  });
});

describe("portico status against the live control plane", () => {
  it("shows both Envoys connected, every type ACKED", async () => {
    await Promise.all([waitSynced(gw.cp, "envoy-1"), waitSynced(gw.cp, "envoy-2")]);
    const out: string[] = [];
    expect(
      await statusCommand({ url: `http://127.0.0.1:${gw.cp.httpPort}`, out: (t) => void out.push(t), err: (t) => void out.push(t) }),
    ).toBe(0);
    const text = out.join("");
    expect(text).toContain("2 connected, 0 disconnected");
    const rows = text.split("\n").filter((l) => / (ACKED|pending|NACKED|not ACKed|-)$/.test(l) && !l.startsWith("NODE"));
    expect(rows.length).toBeGreaterThanOrEqual(2 * 5);
    expect(rows.filter((l) => !l.endsWith(" ACKED"))).toEqual([]);
    expect(rows.filter((l) => /^envoy-\d /.test(l)).map((l) => l.split(/\s+/)[0])).toEqual(["envoy-1", "envoy-2"]);
  });
});
