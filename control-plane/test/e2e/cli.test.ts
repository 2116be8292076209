// The `portico` command as a user runs it: validate (with the filter's own verdict on plugin
// configs), bootstrap (accepted by `envoy --mode validate`), and run (control plane + a local
// Envoy through func-e, serving the file's routes; SIGTERM stops everything).
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { NodeStatus } from "../../src/xds/server.js";
import { TypeUrl } from "../../src/xds/types.js";
import { NATIVE_POLICY_NAMES } from "../../src/policies/index.js";
import {
  isAlive,
  onFreshPort,
  parseEcho,
  pollUntil,
  repoRoot,
  request,
  useEchoUpstream,
  validateEnvoyConfig,
} from "../../../test/support/index.js";
import { generateCertificate } from "../support/tls.js";

const BIN = join(repoRoot, "bin/portico.mjs");
const dir = mkdtempSync(join(tmpdir(), "portico-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const echo = useEchoUpstream("all");

/** The environment without an admin token, so only what a test passes counts. */
function envWithout(): NodeJS.ProcessEnv {
  const { PORTICO_ADMIN_TOKEN: _, ...env } = process.env;
  return env;
}

function portico(args: string[], env = envWithout()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: repoRoot, env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("portico validate", () => {
  it("accepts the example gateway.yaml", async () => {
    // A copy: the repository's gateway.yaml is the user's to edit (by hand or through the admin
    // API of a `portico run` on it), so the counts expected are the copy's own, not fixed numbers.
    const text = readFileSync(join(repoRoot, "gateway.yaml"), "utf8");
    const m = parse(text) as Record<string, unknown[] | undefined>;
    const count = (k: string) => (m[k] ?? []).length;
    const path = file("gateway.yaml", text);
    const r = await portico(["validate", "-c", path]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `gateway.yaml: valid (${count("listeners")} listeners, ${count("routes")} routes, ${count("upstreams")} upstreams, ${count("plugins")} plugins)`,
    );
  });

  it("reports every error with file, line and path, and exits 1", async () => {
    const path = file(
      "bad.yaml",
      [
        "listeners:",
        "  - { name: public, port: 8080 }",
        "routes:",
        "  - name: r",
        "    upstream: missing",
        "upstreams:",
        '  - { name: u, endpoints: ["127.0.0.1:9"], lb: fastest }',
      ].join("\n"),
    );
    const r = await portico(["validate", "-c", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.yaml:5:15: routes[0].upstream: no upstream named "missing"');
    expect(r.stderr).toMatch(/bad\.yaml:7:\d+: upstreams\[0\]\.lb: /);
    expect(r.stderr).toContain("2 error(s); nothing would be applied");
  });

  it("--filters DIR takes the suite filters from DIR: a filter missing there is refused at its line", async () => {
    const path = file(
      "filters.yaml",
      [
        "plugins:",
        "  - name: limit",
        "    filter: rate-limit",
        "    config:",
        "      rules: [{ name: r, match: {}, requests: 10, period_s: 1, key: [{ client_ip: true }] }]",
      ].join("\n"),
    );
    // The default filters dir has rate-limit, so the file is valid...
    expect((await portico(["validate", "-c", path])).code).toBe(0);
    // ...and an empty one does not.
    const empty = join(dir, "no-filters");
    mkdirSync(empty, { recursive: true });
    const r = await portico(["validate", "-c", path, "--filters", empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `filters.yaml:3:13: plugins[0].filter: unknown filter "rate-limit" (native policies: ${NATIVE_POLICY_NAMES.join(", ")}; suite Wasm filters: none found in ${empty})`,
    );
  });

  it("gives the filter's own verdict on a plugin config, at the config's line", async () => {
    const path = file(
      "plugin.yaml",
      [
        "plugins:",
        "  - name: limit",
        "    filter: rate-limit",
        "    config:",
        "      rules: [{ name: r, match: {}, requests: -1, period_s: 1, key: [{ client_ip: true }] }]",
      ].join("\n"),
    );
    const r = await portico(["validate", "-c", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/plugin\.yaml:5:\d+: plugins\[0\]\.config: .*rules\[0\]\.requests/);
  });
});

describe("portico bootstrap", () => {
  it("prints a bootstrap Envoy accepts, naming the node and the control plane", async () => {
    const r = await portico(["bootstrap", "--node", "edge-7", "--xds", "cp.internal:18000"]);
    expect(r.code).toBe(0);
    const b = parse(r.stdout);
    expect(b.node.id).toBe("edge-7");
    expect(JSON.stringify(b.static_resources.clusters)).toContain("cp.internal");
    const v = await validateEnvoyConfig(r.stdout);
    expect(v.ok, v.output).toBe(true);
  });

  it("refuses without --node", async () => {
    const r = await portico(["bootstrap"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--node NAME is required");
  });

  it("sizes the overload manager for the Envoy's machine with --max-heap and --max-downstream-connections", async () => {
    const r = await portico(["bootstrap", "--node", "edge-7", "--max-heap", "1.5GiB", "--max-downstream-connections", "20000"]);
    expect(r.code).toBe(0);
    const monitors = parse(r.stdout).overload_manager.resource_monitors;
    expect(monitors.map((m: { typed_config: Record<string, number> }) => m.typed_config)).toMatchObject([
      { max_heap_size_bytes: 1.5 * 2 ** 30 },
      { max_active_downstream_connections: 20000 },
    ]);
    const v = await validateEnvoyConfig(r.stdout);
    expect(v.ok, v.output).toBe(true);
  });

  it("refuses a bad --max-heap or --max-downstream-connections, naming the flag", async () => {
    const heap = await portico(["bootstrap", "--node", "e", "--max-heap", "lots"]);
    expect(heap.code).toBe(2);
    expect(heap.stderr).toContain('--max-heap: expected a size in bytes or with a unit (536870912, 512MiB, 2GiB), got "lots"');
    const small = await portico(["bootstrap", "--node", "e", "--max-heap", "1MiB"]);
    expect(small.stderr).toContain("--max-heap: must be at least 64MiB");
    const conns = await portico(["bootstrap", "--node", "e", "--max-downstream-connections", "1.5"]);
    expect(conns.code).toBe(2);
    expect(conns.stderr).toContain('--max-downstream-connections: expected a whole number of connections (at least 1), got "1.5"');
  });
});

interface PorticoRun {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  listen: number;
  http: string;
  admin: string;
}

/**
 * `portico run` on `path(listenPort)`: the control plane's own ports and Envoy's admin port are 0
 * (each is bound by whoever owns it, and printed); the listener port is in the config, so it is
 * picked free and, should Envoy NACK the listener because the port was taken meanwhile, the run is
 * stopped and started again on a fresh port.
 */
function startPorticoRun(path: (listen: number) => string, extraArgs: string[] = []): Promise<PorticoRun> {
  return onFreshPort(async (listen) => {
    const { child, exited, output } = await spawnRunning(
      ["-c", path(listen), "--xds", "127.0.0.1:0", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--concurrency", "1", ...extraArgs],
      process.env,
      60_000,
    );
    const out = output();
    try {
      const http = /admin API: +(http:\/\/[^/\s]+)\/routes/.exec(out)?.[1];
      const admin = /Envoy admin: +(http:\/\/\S+)/.exec(out)?.[1];
      if (!http || !admin) throw new Error(`portico run did not print its addresses:\n${out}`);
      // Envoy is ready; its listener is bound once the listener's version is ACKed (or NACKed).
      await pollUntil(
        async () => {
          const st = JSON.parse((await request(`${http}/status`)).body) as { envoys: NodeStatus[] };
          const lds = st.envoys[0]?.types[TypeUrl.Listener];
          if (lds?.lastNack && lds.lastNack.version === lds.versionSent)
            throw new Error(`Envoy NACKed the listener: ${lds.lastNack.message}`);
          return lds;
        },
        (lds) => lds !== undefined && lds.versionAcked !== null && lds.versionAcked === lds.versionSent,
        { timeoutMs: 20_000, intervalMs: 50, what: "the listener ACKed" },
      );
      return { child, exited, output, listen, http, admin };
    } catch (e) {
      child.kill("SIGTERM");
      await exited;
      throw e;
    }
  });
}

describe("portico run", () => {
  it("serves the file's routes through a supervised Envoy and stops cleanly on SIGTERM", async () => {
    const up = await echo();
    const run = await startPorticoRun(
      (listen) =>
        file(
          "run.yaml",
          [
            `listeners: [{ name: public, address: 127.0.0.1, port: ${listen} }]`,
            "routes: [{ name: all, upstream: echo, plugins: [stamp] }]",
            `upstreams: [{ name: echo, endpoints: ["127.0.0.1:${up.port}"] }]`,
            "plugins:",
            "  - { name: stamp, filter: header-rewrite, config: { rules: [{ name: s, request: { set: { x-via: portico-run } } }] } }",
          ].join("\n"),
        ),
      ["--max-heap", "1GiB", "--max-downstream-connections", "4321"],
    );
    const { child, listen } = run;
    try {
      expect(run.output()).toContain(`listener public: http://127.0.0.1:${listen}/`);
      const r = await request(`http://127.0.0.1:${listen}/hello`);
      expect(r.status).toBe(200);
      expect(parseEcho(r.body).headers).toContainEqual(["x-via", "portico-run"]);
      const status = JSON.parse((await request(`${run.http}/status`)).body);
      expect(status.envoys.map((n: { nodeId: string }) => n.nodeId)).toEqual(["portico-local"]);
      // The overload flags reach the supervised Envoy's bootstrap.
      const dump = JSON.parse((await request(`${run.admin}/config_dump`)).body) as { configs: Record<string, unknown>[] };
      const boot = dump.configs.find((c) => String(c["@type"]).endsWith("BootstrapConfigDump")) as {
        bootstrap: { overload_manager: { resource_monitors: { typed_config: Record<string, unknown> }[] } };
      };
      const [heap, conns] = boot.bootstrap.overload_manager.resource_monitors.map((m) => m.typed_config);
      expect(Number(heap?.max_heap_size_bytes)).toBe(2 ** 30);
      expect(Number(conns?.max_active_downstream_connections)).toBe(4321);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
    expect(child.pid && isAlive(child.pid)).toBe(false);
    // No Envoy left behind: its admin port is closed.
    await expect(request(`${run.admin}/ready`, { timeoutMs: 1000 })).rejects.toThrow();
  }, 90_000);
});

/** `portico run --no-envoy` (control plane only, every port 0) with `args`; resolves once it says it runs. */
async function startControlPlaneOnly(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; exited: Promise<number | null>; adminPort: number; output: () => string }> {
  const path = file("cp-only.yaml", 'upstreams: [{ name: a, endpoints: ["127.0.0.1:9"] }]\n');
  const { child, exited, output } = await spawnRunning(["-c", path, "--no-envoy", "--xds", "127.0.0.1:0", ...args], env, 30_000);
  const out = output();
  const port = /admin API: +https?:\/\/[^/\s]+:(\d+)\/routes/.exec(out)?.[1];
  if (!port) throw new Error(`portico run did not print the admin API's address:\n${out}`);
  return { child, exited, adminPort: Number(port), output };
}

/** `portico run ARGS`; resolves once it says it is running (a process that exits first fails it, with its output). */
async function spawnRunning(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ child: ChildProcess; exited: Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, [BIN, "run", ...args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    await pollUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`portico run exited with ${child.exitCode}:\n${out}`);
        return out;
      },
      (o) => o.includes("portico is running."),
      { timeoutMs, intervalMs: 50, what: "portico run to come up" },
    );
  } catch (e) {
    child.kill("SIGTERM");
    await exited;
    throw e;
  }
  return { child, exited, output: () => out };
}

/** GET over HTTPS trusting only `ca`, as "localhost". */
function httpsGet(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, servername: "localhost", headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("portico run: the admin API's flags", () => {
  const TOKEN = "cli-admin-token";
  const upstreams = (port: number, token?: string) =>
    request(`http://127.0.0.1:${port}/upstreams`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it("refuses to bind the admin API beyond loopback without a token", async () => {
    const path = file("no-token.yaml", 'upstreams: [{ name: a, endpoints: ["127.0.0.1:9"] }]\n');
    const r = await portico(["run", "-c", path, "--no-envoy", "--xds", "127.0.0.1:0", "--http", "0.0.0.0:0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("portico: the admin API may listen on 0.0.0.0 (not a loopback address) only with a token");
    expect(r.stdout).not.toContain("portico is running.");
  });

  it.each([
    ["--admin-token", ["--admin-token", TOKEN], {}],
    ["$PORTICO_ADMIN_TOKEN", [], { PORTICO_ADMIN_TOKEN: TOKEN }],
  ] as const)(
    "binds beyond loopback with %s, and asks for it: 401 without, 200 with",
    async (_, flags, extraEnv) => {
      const run = await startControlPlaneOnly(["--http", "0.0.0.0:0", ...flags], { ...envWithout(), ...extraEnv });
      try {
        expect(run.output()).toMatch(/admin API: +http:\/\/0\.0\.0\.0:\d+\/routes/);
        expect((await upstreams(run.adminPort)).status).toBe(401);
        expect((await upstreams(run.adminPort, "wrong")).status).toBe(401);
        const ok = await upstreams(run.adminPort, TOKEN);
        expect(ok.status).toBe(200);
        expect(ok.body).toContain('"name": "a"');
      } finally {
        run.child.kill("SIGTERM");
      }
      expect(await run.exited).toBe(0);
    },
    60_000,
  );

  it("--admin-tls-cert/--admin-tls-key serve the admin API over HTTPS only", async () => {
    const tlsDir = mkdtempSync(join(dir, "tls-"));
    const cert = generateCertificate(join(tlsDir, "cert.pem"), join(tlsDir, "key.pem"), "localhost");
    const run = await startControlPlaneOnly(
      ["--http", "127.0.0.1:0", "--admin-tls-cert", cert.certPath, "--admin-tls-key", cert.keyPath],
      envWithout(),
    );
    try {
      expect(run.output()).toContain(`admin API:     https://127.0.0.1:${run.adminPort}/routes`);
      const r = await httpsGet(`https://127.0.0.1:${run.adminPort}/upstreams/a`, readFileSync(cert.certPath));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).name).toBe("a");
      // Plain HTTP on the same port gets no answer.
      await expect(upstreams(run.adminPort).then((x) => x.status)).rejects.toThrow();
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
  }, 60_000);
});
