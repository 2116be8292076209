// How many decisions per second the rate limit service (envoyproxy/ratelimit + Redis) makes on
// this machine, without any Envoy: h2load sends one prebuilt ShouldRateLimit request over and
// over to the service's gRPC port (HTTP/2, several streams per connection). h2load cannot read
// gRPC trailers, so an HTTP 200 alone would not prove a decision: the request hits a per-day
// counter, and the counter's change (read over the service's /json endpoint) is the number of
// decisions actually made in Redis.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RateLimitDomainConfig, RateLimitService } from "../test/support/index.js";

/** The domain run.ts gives the service for this measurement. */
export const DECISIONS_DOMAIN: RateLimitDomainConfig = {
  domain: "bench-decisions",
  descriptors: [
    {
      key: "rule",
      value: "decisions",
      descriptors: [{ key: "fixed", value: "global", rate_limit: { unit: "day", requests_per_unit: 1_000_000_000 } }],
    },
  ],
};
const ENTRIES = { rule: "decisions", fixed: "global" };
const METHOD = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";

export interface DecisionsResult {
  /** Decisions Redis counted, per second of h2load's run. */
  decisionsPerSec: number;
  decisions: number;
  seconds: number;
  connections: number;
  streams: number;
  command: string;
}

// --- protobuf, by hand: three message types of strings and one varint.
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}
const field = (tag: number, bytes: Buffer) => Buffer.concat([varint((tag << 3) | 2), varint(bytes.length), bytes]);

/** envoy.service.ratelimit.v3.RateLimitRequest { domain, descriptors: [{ entries }], hits_addend: 1 }, gRPC-framed. */
export function shouldRateLimitFrame(domain: string, entries: Record<string, string>): Buffer {
  const entryMessages = Object.entries(entries).map(([k, v]) =>
    field(1, Buffer.concat([field(1, Buffer.from(k)), field(2, Buffer.from(v))])),
  );
  const message = Buffer.concat([field(1, Buffer.from(domain)), field(2, Buffer.concat(entryMessages)), varint(3 << 3), varint(1)]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1); // byte 0: not compressed
  return Buffer.concat([header, message]);
}

async function remaining(service: RateLimitService): Promise<number> {
  const r = await service.shouldRateLimit(DECISIONS_DOMAIN.domain, ENTRIES);
  const body = JSON.parse(r.body) as { statuses?: { limitRemaining?: number }[] };
  const left = body.statuses?.[0]?.limitRemaining;
  if (r.status !== 200 || typeof left !== "number") throw new Error(`the service's /json answered ${r.status}: ${r.body}`);
  return left;
}

/** Runs h2load for `seconds` against the service and returns the decisions it made per second. */
export async function measureDecisions(
  service: RateLimitService,
  o: { seconds: number; connections?: number; streams?: number },
): Promise<DecisionsResult> {
  const connections = o.connections ?? 4;
  const streams = o.streams ?? 16;
  const dir = mkdtempSync(join(tmpdir(), "portico-h2load-"));
  const body = join(dir, "request.bin");
  writeFileSync(body, shouldRateLimitFrame(DECISIONS_DOMAIN.domain, ENTRIES));
  const url = `http://127.0.0.1:${service.grpcPort}${METHOD}`;
  const args = ["-D", String(o.seconds), "-c", String(connections), "-m", String(streams), "-t", "1"];
  args.push("-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body, url);
  try {
    const before = await remaining(service);
    const out = await new Promise<string>((resolve, reject) =>
      execFile("h2load", args, { timeout: (o.seconds + 30) * 1000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`h2load failed (Debian package nghttp2-client): ${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    // remaining() itself is one decision.
    const decisions = before - (await remaining(service)) - 1;
    const seconds = Number(/finished in ([\d.]+)s/.exec(out)?.[1] ?? o.seconds);
    return {
      decisionsPerSec: decisions / seconds,
      decisions,
      seconds,
      connections,
      streams,
      command: `h2load ${args.slice(0, 6).join(" ")} -t 1 -H 'content-type: application/grpc' -d <ShouldRateLimit frame> ${METHOD}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
