// wrk as a library for tests and benches: a bounded run against a loopback URL, its summary
// parsed from wrk's own Lua `done` hook (exact counts, not the rounded text report).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wrkPath } from "./tools.js";

export interface WrkResult {
  requests: number;
  durationUs: number;
  rps: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Responses by status code, from the Lua response hook (only when countStatuses). */
  statuses?: Record<string, number>;
}

export interface WrkOptions {
  url: string;
  connections?: number;
  threads?: number;
  durationSec?: number;
  headers?: [string, string][];
  /** Count responses per status (costs some wrk CPU; keep off for throughput runs). */
  countStatuses?: boolean;
  /** Sends `name: <prefix><line>` with the lines of `file` in turn, one per request (cycling). */
  rotateHeader?: { name: string; prefix?: string; file: string };
}

function rotateHook(r: NonNullable<WrkOptions["rotateHeader"]>): string {
  return `
local values = {}
for line in io.lines(${JSON.stringify(r.file)}) do values[#values + 1] = line end
local next_value = 0
request = function()
  next_value = next_value % #values + 1
  wrk.headers[${JSON.stringify(r.name)}] = ${JSON.stringify(r.prefix ?? "")} .. values[next_value]
  return wrk.format(nil)
end
`;
}

const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  if statuses then
    local parts = {}
    for k, v in pairs(statuses) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
    io.write(',"statuses":{' .. table.concat(parts, ",") .. '}')
  end
  io.write("}\\n")
end
`;

// Per-thread status counts are gathered through wrk's thread API.
const STATUS_HOOK = `
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function() counts = {} end
response = function(status) counts[status] = (counts[status] or 0) + 1 end
local done_inner = done
done = function(summary, latency, requests)
  statuses = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do statuses[k] = (statuses[k] or 0) + v end
  end
  done_inner(summary, latency, requests)
end
`;

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "portico-wrk-"));
  const script = join(dir, "hooks.lua");
  writeFileSync(script, DONE_HOOK + (o.countStatuses ? STATUS_HOOK : "") + (o.rotateHeader ? rotateHook(o.rotateHeader) : ""));
  const args = [
    "-t",
    String(o.threads ?? 1),
    "-c",
    String(o.connections ?? 10),
    "-d",
    `${o.durationSec ?? 2}s`,
    "--latency",
    "-s",
    script,
    ...(o.headers ?? []).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    o.url,
  ];
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(wrkPath(), args, { timeout: ((o.durationSec ?? 2) + 30) * 1000 }, (err, out, errOut) =>
        err ? reject(new Error(`wrk failed: ${err.message}\n${errOut}`)) : resolve(out),
      );
    });
    const line = stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const j = JSON.parse(line.slice(8));
    return {
      requests: j.requests,
      durationUs: j.duration,
      rps: j.requests / (j.duration / 1e6),
      errors: { connect: j.connect, read: j.read, write: j.write, status: j.status, timeout: j.timeout },
      latencyUs: { p50: j.p50, p90: j.p90, p99: j.p99, max: j.max, mean: j.mean },
      statuses: j.statuses,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; USER_HZ = 100). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15)
}

/** Resident memory of a process now, in bytes, from /proc (Linux). */
export function processRssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}
