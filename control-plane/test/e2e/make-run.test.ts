// `make run` as a user meets it: scripts/run.sh on the example gateway.yaml (ports and the working
// copy's directory moved through its environment variables), then every `# try:` line it prints,
// run as the equivalent requests, holding each to what its `expect:` line promises; then SIGTERM
// (what Ctrl-C amounts to for the script) and nothing left running.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, onFreshPort, parseEcho, pollUntil, repoRoot, request, type HttpResponse } from "../../../test/support/index.js";
import { livePidsInGroup, waitGroupGone } from "../../../test/support/procs.js";
import type { NodeStatus } from "../../src/xds/server.js";
import { TypeUrl } from "../../src/xds/types.js";

const runDir = mkdtempSync(join(tmpdir(), "portico-make-run-"));
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

interface Ports {
  listen: number;
  up1: number;
  up2: number;
  xds: number;
  http: number;
  admin: number;
}
interface Run {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  output(): string;
  ports: Ports;
}

const LAST_HINT = /try: curl -s \S+\/stats\/prometheus \| grep portico_\n/;

/**
 * scripts/run.sh on free ports. Every one of them is bound by another process (demo upstreams,
 * portico, Envoy), so a port taken before its bind fails the start (the script's own "already
 * in use" check, EADDRINUSE, or Envoy's NACK of the listener), and the whole run starts again on
 * fresh ports.
 */
function startRunScript(): Promise<Run> {
  return onFreshPort(async (listen) => {
    const [up1, up2, xds, http, admin] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const ports = { listen, up1, up2, xds, http, admin };
    rmSync(join(runDir, "gateway.yaml"), { force: true }); // a first run: the copy is made from the example
    const child = spawn("bash", [join(repoRoot, "scripts/run.sh")], {
      cwd: repoRoot,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PORTICO_RUN_DIR: runDir,
        CONCURRENCY: "1",
        LISTEN_PORT: String(listen),
        UPSTREAM_PORT: String(up1),
        UPSTREAM2_PORT: String(up2),
        XDS_PORT: String(xds),
        HTTP_PORT: String(http),
        ADMIN_PORT: String(admin),
      },
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const run: Run = { child, pid: child.pid!, exited, output: () => out, ports };
    try {
      await pollUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`scripts/run.sh exited with ${child.exitCode}:\n${out}`);
          return out;
        },
        (o) => LAST_HINT.test(o),
        { timeoutMs: 25_000, intervalMs: 50, what: "scripts/run.sh to print its hints" },
      );
      // Envoy is ready; the listener is bound once its version is ACKed (a NACK: the port was taken).
      await pollUntil(
        async () => {
          const st = JSON.parse((await request(`http://127.0.0.1:${http}/status`)).body) as { envoys: NodeStatus[] };
          const lds = st.envoys[0]?.types[TypeUrl.Listener];
          if (lds?.lastNack && lds.lastNack.version === lds.versionSent)
            throw new Error(`Envoy NACKed the listener: ${lds.lastNack.message}`);
          return lds;
        },
        (lds) => lds !== undefined && lds.versionAcked !== null && lds.versionAcked === lds.versionSent,
        { timeoutMs: 10_000, intervalMs: 50, what: "the listener ACKed" },
      );
      return run;
    } catch (e) {
      await stop(run);
      throw e;
    }
  });
}

async function stop(run: Run): Promise<number | null> {
  try {
    process.kill(run.pid, "SIGTERM");
  } catch {
    /* already gone */
  }
  return run.exited;
}

// ------------------------------------------------------------------------------------------
// The hints' shell, as far as they use it: `curl` with -s -i -o -w -H, `VAR=$(curl ...)`, `;`,
// `for i in $(seq N); do ...; done` and `| grep WORD`. Anything else fails the test, so a new
// hint is either in this subset or teaches it.

interface Curl {
  url: string;
  headers: Record<string, string>;
  include: boolean;
  writeOut?: string;
  discard: boolean;
  grep?: string;
}
interface Done {
  res: HttpResponse;
  curl: Curl;
  stdout: string;
}

function words(text: string, vars: Record<string, string>): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of text.matchAll(re)) {
    const expand = (s: string) => s.replace(/\$(\w+)/g, (_, v: string) => vars[v] ?? "");
    out.push(m[1] !== undefined ? m[1] : expand(m[2] ?? m[3]!));
  }
  return out;
}

function parseCurl(text: string, vars: Record<string, string>): Curl {
  const [cmd, grep] = text.split(/\s*\|\s*/);
  const w = words(cmd!, vars);
  if (w.shift() !== "curl") throw new Error(`not a curl command: ${text}`);
  const c: Curl = { url: "", headers: {}, include: false, discard: false };
  if (grep !== undefined) {
    const g = words(grep, vars);
    if (g[0] !== "grep" || g.length !== 2) throw new Error(`unknown pipe: ${grep}`);
    c.grep = g[1];
  }
  while (w.length) {
    const a = w.shift()!;
    if (/^-[si]+$/.test(a)) {
      if (a.includes("i")) c.include = true;
    } else if (a === "-o") {
      if (w.shift() !== "/dev/null") throw new Error(`curl -o other than /dev/null: ${text}`);
      c.discard = true;
    } else if (a === "-w") c.writeOut = w.shift();
    else if (a === "-H") {
      const [k, ...v] = w.shift()!.split(":");
      c.headers[k!.trim()] = v.join(":").trim();
    } else if (/^https?:\/\//.test(a)) c.url = a;
    else throw new Error(`curl option this test does not know: ${a} (in: ${text})`);
  }
  if (!c.url) throw new Error(`no URL in: ${text}`);
  return c;
}

async function runCurl(c: Curl): Promise<Done> {
  const res = await request(c.url, { headers: c.headers, timeoutMs: 10_000 });
  let stdout = c.discard
    ? ""
    : (c.include ? `HTTP/1.1 ${res.status}\n${res.headers.map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n` : "") + res.body;
  if (c.writeOut !== undefined) stdout += c.writeOut.replace("%{http_code}", String(res.status));
  if (c.grep !== undefined)
    stdout = stdout
      .split("\n")
      .filter((l) => l.includes(c.grep!))
      .join("\n");
  return { res, curl: c, stdout };
}

/** Runs one `try:` line; returns every curl it made, in order. */
async function follow(line: string): Promise<Done[]> {
  const loop = /^for i in \$\(seq (\d+)\); do (.+); done$/.exec(line);
  if (loop) {
    const done: Done[] = [];
    for (let i = 0; i < Number(loop[1]); i++) done.push(...(await follow(loop[2]!)));
    return done;
  }
  const vars: Record<string, string> = {};
  const done: Done[] = [];
  for (const stmt of line.split(/;\s*/)) {
    const assign = /^(\w+)=\$\((curl .+)\)$/.exec(stmt);
    if (assign) vars[assign[1]!] = (await runCurl(parseCurl(assign[2]!, vars))).stdout;
    else done.push(await runCurl(parseCurl(stmt, vars)));
  }
  return done;
}

/** The statuses an `expect:` line starts with ("200 200 429 ..."), or none. */
const expectedStatuses = (expect: string): number[] => (/^((?:\d{3}\b[ ,]*)+)/.exec(expect)?.[1] ?? "").match(/\d{3}/g)?.map(Number) ?? [];

describe("make run (scripts/run.sh on the example gateway.yaml)", () => {
  it("runs on a copy of the example, does what each printed `# try:` line's `expect:` says, and stops cleanly", async () => {
    const example = readFileSync(join(repoRoot, "gateway.yaml"), "utf8");
    const run = await startRunScript();
    const { ports } = run;
    let code: number | null;
    try {
      // The example is not what runs: a copy in the run dir, with this run's ports, and the script says so.
      expect(run.output()).toContain(`running on ${join(runDir, "gateway.yaml")}, a copy of gateway.yaml made now`);
      expect(readFileSync(join(repoRoot, "gateway.yaml"), "utf8")).toBe(example);
      expect(readFileSync(join(runDir, "gateway.yaml"), "utf8")).toContain(`port: ${ports.listen}`);

      const lines = run
        .output()
        .split("\n")
        .map((l) => /^\s+(try|expect): (.*)$/.exec(l))
        .filter((m) => m !== null);
      const tries = lines.flatMap((m, i) =>
        m[1] === "try" ? [{ line: m[2]!, expect: lines[i + 1]?.[1] === "expect" ? lines[i + 1]![2]! : undefined }] : [],
      );
      expect(
        tries.map(
          (t) => t.line.includes(`127.0.0.1:${ports.listen}`) || t.line.includes(`:${ports.http}/`) || t.line.includes(`:${ports.admin}/`),
        ),
      ).toEqual(tries.map(() => true)); // every hint names this run's ports, none the defaults
      expect(tries.length).toBeGreaterThanOrEqual(6);

      // Times of 200 answers per bucket: a rate-limited route (its first path segment) and who
      // asks (the API key, when a hint sends one: the /keys/ limits are per consumer).
      const okTimes = new Map<string, number[]>();
      const bucketOf = (c: Curl) => `${new URL(c.url).pathname.split("/")[1]}|${c.headers["x-api-key"] ?? ""}`;
      for (const t of tries) {
        const at = Date.now();
        const done = await follow(t.line);
        const what = `try: ${t.line}\nexpect: ${t.expect}\ngot: ${done.map((d) => `${d.res.status} ${d.stdout.slice(0, 200)}`).join("\n     ")}`;
        const statuses = done.map((d) => d.res.status);
        for (const d of done) {
          if (d.res.status !== 200) continue;
          const times = okTimes.get(bucketOf(d.curl)) ?? [];
          okTimes.set(bucketOf(d.curl), [...times, at]);
        }
        const last = done[done.length - 1]!;
        const want = t.expect ? expectedStatuses(t.expect) : [];
        if (want.length > 1) {
          // A sequence from the rate limit: answers first, then 429s; how many answers depends
          // on the client's earlier requests within the window ("requests above count too").
          const limit = /(\d+) per (\d+) s/.exec(t.expect!);
          expect(limit, what).not.toBeNull();
          const [n, periodS] = [Number(limit![1]), Number(limit![2])];
          expect(statuses.join(" "), what).toMatch(/^(200 )*(429 ?)+$/);
          const okTimesHere = okTimes.get(bucketOf(done[0]!.curl)) ?? [];
          const okInWindow = okTimesHere.filter((x) => x >= Date.now() - periodS * 1000).length;
          const refilled = Math.ceil(((Date.now() - okTimesHere[0]!) / 1000) * (n / periodS));
          expect(okInWindow, what).toBeGreaterThanOrEqual(n);
          expect(okInWindow, what).toBeLessThanOrEqual(n + refilled);
          expect(statuses.length, what).toBe(want.length);
        } else if (want.length === 1) {
          expect(last.res.status, what).toBe(want[0]);
        } else {
          expect(last.res.status, what).toBeGreaterThanOrEqual(200); // no expect line: the request works
          expect(last.res.status, what).toBeLessThan(300);
        }
        // "name: value" promises: a response header, or "in the echoed headers" a request header the upstream saw.
        for (const m of (t.expect ?? "").matchAll(/\b((?:x|access-control)-[a-z-]+): ([\w:/.-]+)/g)) {
          if (t.expect!.includes(`${m[0]} in the echoed headers`))
            expect(parseEcho(last.res.body).headers, what).toContainEqual([m[1], m[2]]);
          else expect(last.res.header(m[1]!), what).toBe(m[2]);
        }
        const error = /\{"error":"(\w+)"/.exec(t.expect ?? "");
        if (error) expect(last.res.json<{ error: string }>().error, what).toBe(error[1]);
        if (last.curl.grep !== undefined) expect(last.stdout, what).toContain(last.curl.grep); // grep found lines
      }
    } finally {
      code = await stop(run);
    }
    expect(code).toBe(143); // the script's own exit on SIGTERM, after its cleanup
    // Nothing left: not the script's children (its process group), not portico's Envoy (its own group).
    expect(await waitGroupGone(run.pid, 5_000), `left running: ${livePidsInGroup(run.pid).join(",")}`).toBe(true);
    for (const port of [ports.listen, ports.admin, ports.http, ports.up1, ports.up2]) {
      await expect(request(`http://127.0.0.1:${port}/`, { timeoutMs: 1_000 })).rejects.toThrow();
    }
    expect(existsSync(join(runDir, "gateway.yaml"))).toBe(true); // the copy stays for the next run
  }, 60_000);
});
