// rate-limit driven through the proxy-wasm host emulator, on the emulated clock: the token-bucket
// (GCRA) arithmetic at exact times, against an exact reference model, over 10,000 periods and with
// the largest allowed numbers; every key source; the client address and X-Forwarded-For; rules;
// the 429 response and the RateLimit-* headers exactly; dry run; worker VMs sharing one
// SharedData (including a CAS race forced between two workers); the max_keys memory bound, slot
// reuse and the overflow bucket; metrics; configuration errors naming the field.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  LogLevel,
  MetricsStore,
  ProxyWasmVm,
  SharedData,
  type WasmResult,
  runHttpRequest,
  type HeaderList,
  type HttpStream,
  type Plugin,
  type Properties,
} from "../../../emulator/index.js";
import { builtFilter, exportedCallbacks } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("rate-limit")));
}, 180_000);

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const SECOND = 1000;
const DAY = 86_400 * SECOND;

type Json = Record<string, unknown>;

interface Worker {
  vm: ProxyWasmVm;
  p: Plugin;
}

async function worker(config: Json | string, o: { shared?: SharedData; metrics?: MetricsStore; startTime?: number } = {}): Promise<Worker> {
  const vm = await ProxyWasmVm.load(module, { startTime: o.startTime ?? T0, sharedData: o.shared, metrics: o.metrics, vmId: "rate_limit" });
  const p = vm.configurePlugin({
    config: typeof config === "string" ? config : JSON.stringify(config),
    rootId: "rate-limit",
    name: "rate_limit",
  });
  return { vm, p };
}

/** A plugin that must accept its configuration. */
async function limiter(config: Json, o: Parameters<typeof worker>[1] = {}): Promise<Worker> {
  const w = await worker(config, o);
  const errors = w.vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(w.p.ok, `configuration refused: ${errors.join("\n")}`).toBe(true);
  return w;
}

interface Req {
  path?: string;
  method?: string;
  headers?: HeaderList;
  /** source.address as Envoy reports it ("ip:port"). */
  peer?: string;
  /** xds.route_name */
  route?: string;
}

interface Reply {
  status: number;
  /** First value of a response header as the client receives it. */
  header(name: string): string | undefined;
  /** Every value of a response header. */
  headerAll(name: string): string[];
  body: string;
  stream: HttpStream;
}

const DEFAULT_PEER = "203.0.113.7:50123";

function send(p: Plugin, r: Req = {}): Reply {
  const properties: Properties = { "source.address": r.peer ?? DEFAULT_PEER };
  if (r.route !== undefined) properties["xds.route_name"] = r.route;
  const s = runHttpRequest(p, {
    requestHeaders: [
      [":method", r.method ?? "GET"],
      [":path", r.path ?? "/api/items"],
      [":authority", "api.example.test"],
      [":scheme", "https"],
      ...(r.headers ?? []),
    ],
    properties,
    responseHeaders: [
      [":status", "200"],
      ["content-type", "text/plain"],
    ],
    responseBody: "upstream",
  });
  const all = (name: string) => s.responseHeaders.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
  return {
    status: Number(s.responseHeader(":status")),
    header: (name) => all(name)[0],
    headerAll: all,
    body: s.localResponse ? s.localResponse.body : s.responseBody,
    stream: s,
  };
}

/** Status codes of `n` identical requests. */
const statuses = (p: Plugin, n: number, r: Req = {}): number[] => Array.from({ length: n }, () => send(p, r).status);
/** Sends until the first refusal (at most `max`), returns how many were admitted. */
function admitUntilRefused(p: Plugin, r: Req = {}, max = 100): number {
  for (let i = 0; i < max; i++) if (send(p, r).status !== 200) return i;
  throw new Error(`still admitting after ${max} requests`);
}
const ok = (n: number) => Array<number>(n).fill(200);
const limited = (n: number) => Array<number>(n).fill(429);

const rule = (extra: Json = {}): Json => ({ name: "r", requests: 5, period_s: 10, ...extra });
// Tests that move the clock by hours or more use a small max_keys: the filter refreshes the
// keys_tracked gauge on a 5 s tick by visiting every slot, and the emulator fires every tick.
const ONE_KEY = { max_keys: 1 };
const metric = (w: Worker, name: string) => w.vm.metric(`portico.rate_limit.${name}`) ?? 0;

/**
 * The contract's algorithm, exactly: GCRA with emission interval T = period/requests and capacity
 * burst·T. Times are kept as ms × requests so T is the integer period_ms: exact rationals.
 */
class ReferenceGcra {
  private tat: bigint | undefined;
  constructor(
    private readonly requests: number,
    private readonly periodS: number,
    private readonly burst: number,
  ) {}
  admit(nowMs: number): boolean {
    const r = BigInt(this.requests);
    const T = BigInt(this.periodS) * 1000n;
    const t = BigInt(nowMs) * r;
    const tat = this.tat === undefined || this.tat < t ? t : this.tat;
    if (tat + T - t > BigInt(this.burst) * T) return false;
    this.tat = tat + T;
    return true;
  }
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** keys.ts hashKey: FNV-1a over UTF-16 code units, 32-bit. */
function fnv1a(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return h;
}

// ---- the bucket arithmetic ------------------------------------------------------------------------

describe("token bucket arithmetic on the emulated clock", () => {
  it("admits the burst at once, then one request per emission interval, exactly on time", async () => {
    // 5 per 10 s: one token every 2 s; capacity 5.
    const { vm, p } = await limiter({ rules: [rule({ burst: 5 })] });
    expect(statuses(p, 6)).toEqual([...ok(5), 429]);
    vm.advanceTime(1999);
    expect(statuses(p, 1), "1 ms before the next token").toEqual([429]);
    vm.advanceTime(1);
    expect(statuses(p, 2), "exactly one emission interval after the burst").toEqual([200, 429]);
    vm.advanceTime(3 * 2000);
    expect(statuses(p, 4), "three intervals: three tokens").toEqual([...ok(3), 429]);
    vm.advanceTime(60 * SECOND);
    expect(statuses(p, 6), "idle for a long time: still only the capacity").toEqual([...ok(5), 429]);
  });

  it("takes the period as a duration (`period`), exactly like the legacy `period_s`", async () => {
    for (const period of ["10s", 10, "0m10s", "10000ms"]) {
      const { vm, p } = await limiter({ rules: [{ name: "r", requests: 5, period, burst: 5 }] });
      expect(statuses(p, 6), `period ${JSON.stringify(period)}`).toEqual([...ok(5), 429]);
      vm.advanceTime(1999);
      expect(statuses(p, 1)).toEqual([429]);
      vm.advanceTime(1);
      expect(statuses(p, 2)).toEqual([200, 429]);
    }
    // Sub-second precision the legacy key cannot express: 3 per 1.5 s, one token every 500 ms.
    const { vm, p } = await limiter({ rules: [{ name: "r", requests: 3, period: "1.5s", burst: 1 }] });
    expect(statuses(p, 2)).toEqual([200, 429]);
    vm.advanceTime(499);
    expect(statuses(p, 1)).toEqual([429]);
    vm.advanceTime(1);
    expect(statuses(p, 1)).toEqual([200]);
  });

  it("defaults the capacity to `requests`", async () => {
    const { vm, p } = await limiter({ rules: [{ name: "r", requests: 3, period_s: 60 }] });
    expect(statuses(p, 4)).toEqual([...ok(3), 429]);
    vm.advanceTime(20 * SECOND);
    expect(statuses(p, 2)).toEqual([200, 429]);
  });

  it("caps a burst below `requests` and keeps refilling at requests/period", async () => {
    // 10 per second (one token every 100 ms), capacity 2.
    const { vm, p } = await limiter({ rules: [rule({ requests: 10, period_s: 1, burst: 2 })] });
    expect(statuses(p, 3)).toEqual([200, 200, 429]);
    vm.advanceTime(99);
    expect(statuses(p, 1)).toEqual([429]);
    vm.advanceTime(1);
    expect(statuses(p, 2)).toEqual([200, 429]);
    vm.advanceTime(10 * SECOND);
    expect(statuses(p, 3), "a full second of refill still holds only 2").toEqual([200, 200, 429]);
  });

  it("lets a burst above `requests` absorb a spike, then refills at requests/period", async () => {
    // 1 per second, capacity 5.
    const { vm, p } = await limiter({ rules: [rule({ requests: 1, period_s: 1, burst: 5 })] });
    expect(statuses(p, 6)).toEqual([...ok(5), 429]);
    vm.advanceTime(SECOND);
    expect(statuses(p, 2)).toEqual([200, 429]);
    vm.advanceTime(3 * SECOND);
    expect(statuses(p, 4)).toEqual([...ok(3), 429]);
  });

  it("does not drift: exactly 3 per 7 s, for 10,000 periods, with spare capacity that would reveal any rounding", async () => {
    // T = 7/3 s is not a whole number of ms: a rounded interval gains or loses a token every few
    // thousand periods, and burst 10 > 3 keeps the capacity from hiding it.
    const { vm, p } = await limiter({ ...ONE_KEY, rules: [rule({ requests: 3, period_s: 7, burst: 10 })] });
    expect(admitUntilRefused(p)).toBe(10);
    const perPeriod = new Map<number, number>();
    for (let k = 1; k <= 10_000; k++) {
      vm.advanceTime(7 * SECOND);
      const n = admitUntilRefused(p);
      perPeriod.set(n, (perPeriod.get(n) ?? 0) + 1);
    }
    expect(Object.fromEntries(perPeriod), "admitted per period -> number of periods").toEqual({ 3: 10_000 });
    expect(metric({ vm, p }, "r.allowed_total")).toBe(10 + 3 * 10_000);
    expect(metric({ vm, p }, "r.limited_total")).toBe(1 + 10_000);
  }, 120_000);

  it("handles the largest numbers without overflow: 1e6 requests per 86400 s, now and a century later", async () => {
    // T = 86.4 ms. In 2130, times as ms x requests are about 5e18: near the i64 limit, not over it.
    const CONFIG = { ...ONE_KEY, rules: [rule({ requests: 1_000_000, period_s: 86_400, burst: 10 })] };
    const shared = new SharedData();
    const exactSteps = (w: Worker) => {
      // 432 ms = 5 T exactly: tokens come due every 86.4 ms, 5 in every 432 ms step. A T rounded
      // to whole ms (86 or 87) gains or loses a token within 50 steps.
      const perStep = new Map<number, number>();
      for (let i = 0; i < 500; i++) {
        w.vm.advanceTime(432);
        const n = admitUntilRefused(w.p);
        perStep.set(n, (perStep.get(n) ?? 0) + 1);
      }
      return Object.fromEntries(perStep);
    };
    for (const startTime of [T0, Date.UTC(2130, 0, 1)]) {
      // The 2130 worker shares the store: it finds the 2030 bucket, idle for a century.
      const w = await limiter(CONFIG, { shared, startTime });
      const era = new Date(startTime).getUTCFullYear();
      expect(admitUntilRefused(w.p), `${era}: the capacity, not an overflowed count`).toBe(10);
      w.vm.advanceTime(86);
      expect(statuses(w.p, 1), `${era}: 86 ms < 86.4 ms`).toEqual([429]);
      w.vm.advanceTime(1);
      expect(statuses(w.p, 2), `${era}: 87 ms >= 86.4 ms`).toEqual([200, 429]);
      expect(exactSteps(w), `${era}: admitted per 432 ms step -> number of steps`).toEqual({ 5: 500 });
    }
  }, 60_000);

  it("reports a burst of 1e6 and a one-day period exactly in its headers", async () => {
    const BIG = {
      ...ONE_KEY,
      rate_limit_headers: true,
      rules: [rule({ name: "big", requests: 1_000_000, period_s: 86_400, burst: 1_000_000 })],
    };
    const shared = new SharedData();
    const big = await limiter(BIG, { shared });
    const first = send(big.p);
    expect(first.status).toBe(200);
    expect(first.header("ratelimit-limit")).toBe("1000000");
    expect(first.header("ratelimit-remaining")).toBe("999999");
    expect(first.header("ratelimit-reset"), "86.4 ms rounded up").toBe("1");
    const decadeLater = await limiter(BIG, { shared, startTime: Date.UTC(2040, 0, 1) });
    expect(send(decadeLater.p).header("ratelimit-remaining"), "ten years later: capped at the burst").toBe("999999");

    const daily = await limiter({ ...ONE_KEY, rules: [rule({ name: "daily", requests: 1, period_s: 86_400, burst: 1 })] });
    expect(send(daily.p).status).toBe(200);
    const refused = send(daily.p);
    expect(refused.status).toBe(429);
    expect(refused.header("retry-after")).toBe("86400");
    expect(refused.header("ratelimit-reset")).toBe("86400");
    daily.vm.advanceTime(DAY - 1);
    expect(send(daily.p).status).toBe(429);
    daily.vm.advanceTime(1);
    expect(send(daily.p).status).toBe(200);
  });

  it("decides every request exactly like the GCRA reference, and never exceeds burst + rate x window", async () => {
    const [requests, periodS, burst] = [7, 3, 4];
    const { vm, p } = await limiter({ ...ONE_KEY, rules: [rule({ requests, period_s: periodS, burst })] });
    const ref = new ReferenceGcra(requests, periodS, burst);
    const rand = prng(20300101);
    const admittedAt: number[] = [];
    const mismatches: string[] = [];
    let now = 0;
    for (let i = 0; i < 4000; i++) {
      // Bursts of simultaneous requests, short gaps and the occasional long pause.
      const gap = rand() < 0.3 ? 0 : rand() < 0.95 ? Math.floor(rand() * 700) : Math.floor(rand() * 5000);
      vm.advanceTime(gap);
      now += gap;
      const got = send(p).status === 200;
      const want = ref.admit(now);
      if (got !== want && mismatches.length < 5)
        mismatches.push(`request ${i} at +${now} ms: filter ${got ? 200 : 429}, reference ${want ? 200 : 429}`);
      if (got) admittedAt.push(now);
    }
    expect(mismatches).toEqual([]);
    for (const W of [0, 100, 429, 1000, 3000, 10_000]) {
      const bound = burst + (requests * W) / (periodS * 1000) + 1;
      let worst = 0;
      for (let a = 0, b = 0; a < admittedAt.length; a++) {
        while (b < admittedAt.length && admittedAt[b]! - admittedAt[a]! <= W) b++;
        worst = Math.max(worst, b - a);
      }
      expect(worst, `admissions within ${W} ms`).toBeLessThanOrEqual(bound);
    }
  }, 60_000);
});

// ---- keys -----------------------------------------------------------------------------------------

describe("keys", () => {
  const oneEach = (key: Json[]) => ({ rules: [rule({ requests: 1, period_s: 3600, burst: 1, key })] });

  it("client_ip: one bucket per source address IP, whatever the port; IPv6 too", async () => {
    const { p } = await limiter(oneEach([{ client_ip: true }]));
    expect(send(p, { peer: "10.0.0.1:1111" }).status).toBe(200);
    expect(send(p, { peer: "10.0.0.1:2222" }).status, "same IP, other port").toBe(429);
    expect(send(p, { peer: "10.0.0.2:1111" }).status, "other IP").toBe(200);
    expect(send(p, { peer: "[2001:db8::1]:443" }).status).toBe(200);
    expect(send(p, { peer: "[2001:db8::1]:8443" }).status).toBe(429);
    expect(send(p, { peer: "[2001:db8::2]:443" }).status).toBe(200);
  });

  it("header: one bucket per value; a missing header is the bucket of the empty value", async () => {
    const { p } = await limiter(oneEach([{ header: "x-api-key" }]));
    expect(send(p, { headers: [["x-api-key", "k1"]] }).status).toBe(200);
    expect(send(p, { headers: [["x-api-key", "k1"]] }).status).toBe(429);
    expect(send(p, { headers: [["x-api-key", "k2"]] }).status).toBe(200);
    expect(send(p).status, "no header").toBe(200);
    expect(send(p).status, "no header again").toBe(429);
    expect(send(p, { headers: [["x-api-key", ""]] }).status, "empty value: the same bucket as missing").toBe(429);
  });

  it("keys that share an owner-id cache entry keep their own buckets, in any order", async () => {
    // owner-cache.ts indexes its 64 entries by the key's FNV hash: find keys on one entry.
    const entry = (k: string) => fnv1a(k) & 63;
    const keys = ["k-0"];
    for (let i = 1; keys.length < 3; i++) if (entry(`k-${i}`) === entry(keys[0]!)) keys.push(`k-${i}`);
    // max_keys 64: keys on one cache entry also start probing at one slot, so only their
    // owner ids keep their buckets apart.
    const { p } = await limiter({ ...oneEach([{ header: "x-api-key" }]), max_keys: 64 });
    const sendKey = (k: string) => send(p, { headers: [["x-api-key", k]] }).status;
    expect(keys.map(sendKey), "first request of each key").toEqual(ok(3));
    expect(keys.map(sendKey), "second request of each key").toEqual(limited(3));
    expect([keys[2]!, keys[0]!, keys[1]!].map(sendKey), "and again, in another order").toEqual(limited(3));
    // A long key (never cached) and its 64-character prefix (cached) are two keys too.
    const long = "L".repeat(200);
    expect([sendKey(long), sendKey(long.slice(0, 64)), sendKey(long), sendKey(long.slice(0, 64))]).toEqual([200, 200, 429, 429]);
  });

  it("route: one bucket per Envoy route name (xds.route_name)", async () => {
    const { p } = await limiter(oneEach([{ route: true }]));
    expect(send(p, { route: "orders" }).status).toBe(200);
    expect(send(p, { route: "orders", peer: "10.9.9.9:1" }).status).toBe(429);
    expect(send(p, { route: "users" }).status).toBe(200);
  });

  it("fixed: everyone shares one bucket; it is the default key", async () => {
    for (const config of [oneEach([{ fixed: "everyone" }]), { rules: [rule({ requests: 1, period_s: 3600, burst: 1 })] }]) {
      const { p } = await limiter(config);
      expect(send(p, { peer: "10.0.0.1:1", headers: [["x-api-key", "a"]], route: "a" }).status).toBe(200);
      expect(send(p, { peer: "10.0.0.2:1", headers: [["x-api-key", "b"]], route: "b" }).status).toBe(429);
    }
  });

  it("several parts combine: a bucket per (client_ip, header, route) combination", async () => {
    const { p } = await limiter(oneEach([{ client_ip: true }, { header: "x-api-key" }, { route: true }, { fixed: "v1" }]));
    const r = (ip: string, key: string, route: string): Req => ({ peer: `${ip}:1`, headers: [["x-api-key", key]], route });
    expect(send(p, r("10.0.0.1", "k1", "a")).status).toBe(200);
    expect(send(p, r("10.0.0.1", "k1", "a")).status).toBe(429);
    expect(send(p, r("10.0.0.2", "k1", "a")).status).toBe(200);
    expect(send(p, r("10.0.0.1", "k2", "a")).status).toBe(200);
    expect(send(p, r("10.0.0.1", "k1", "b")).status).toBe(200);
  });

  it("keeps parts apart: values cannot be shifted from one part into the next", async () => {
    const { p } = await limiter(oneEach([{ header: "x-a" }, { header: "x-b" }]));
    const r = (a: string, b: string): Req => ({
      headers: [
        ["x-a", a],
        ["x-b", b],
      ],
    });
    expect(send(p, r("1:2", "")).status).toBe(200);
    expect(send(p, r("1", ":2")).status).toBe(200);
    expect(send(p, r("1:", "2")).status).toBe(200);
    expect(send(p, r("", "1:2")).status).toBe(200);
    expect(send(p, r("1|2", "")).status).toBe(200);
    expect(send(p, r("1", "|2")).status).toBe(200);
    expect(send(p, r("1:2", "")).status, "the first combination again").toBe(429);
  });
});

// ---- client address ---------------------------------------------------------------------------------

describe("client address and X-Forwarded-For", () => {
  const perIp = (extra: Json = {}) => ({ ...extra, rules: [rule({ requests: 1, period_s: 3600, burst: 2, key: [{ client_ip: true }] })] });
  const xff = (value: string, peer = "10.0.0.1:40000"): Req => ({ peer, headers: [["x-forwarded-for", value]] });

  it("with trusted_hops 0 (the default) a spoofed X-Forwarded-For does not change the bucket", async () => {
    const { p } = await limiter(perIp());
    expect(send(p, xff("1.1.1.1")).status).toBe(200);
    expect(send(p, xff("2.2.2.2")).status).toBe(200);
    expect(send(p, xff("3.3.3.3")).status, "a third fake address: still the peer's bucket").toBe(429);
    expect(send(p, xff("4.4.4.4, 5.5.5.5")).status).toBe(429);
    expect(send(p, { peer: "10.0.0.1:40001" }).status, "no header at all: the same bucket").toBe(429);
    expect(send(p, xff("3.3.3.3", "10.0.0.2:40000")).status, "another peer with the same fake header").toBe(200);
  });

  it("with trusted_hops 1 the last entry is the client; prepending entries does not escape it", async () => {
    const { p } = await limiter(perIp({ trusted_hops: 1 }));
    expect(send(p, xff("198.51.100.1")).status).toBe(200);
    expect(send(p, xff("198.51.100.1", "10.0.0.9:1")).status, "same last entry through another proxy address").toBe(200);
    expect(send(p, xff("1.2.3.4, 198.51.100.1")).status, "client-prepended entry").toBe(429);
    expect(send(p, xff("9.9.9.9,8.8.8.8,198.51.100.1")).status).toBe(429);
    expect(send(p, xff("198.51.100.1 , 1.2.3.4")).status, "a different last entry is a different client").toBe(200);
    expect(send(p, xff("   198.51.100.2")).status, "whitespace around entries is ignored").toBe(200);
    expect(send(p, xff("198.51.100.2")).status).toBe(200);
    expect(send(p, xff("1.1.1.1,198.51.100.2")).status).toBe(429);
  });

  it("with trusted_hops 1 and no header, the peer address is the client", async () => {
    const { p } = await limiter(perIp({ trusted_hops: 1 }));
    expect(statuses(p, 3, { peer: "10.0.0.1:1" })).toEqual([200, 200, 429]);
    expect(send(p, xff("10.0.0.1", "10.0.0.7:1")).status, "the same address arriving through XFF shares the bucket").toBe(429);
  });

  it("with trusted_hops 2 the second entry from the right is used; fewer entries fall back to the peer", async () => {
    const { p } = await limiter(perIp({ trusted_hops: 2 }));
    expect(send(p, xff("198.51.100.1, 10.1.1.1")).status).toBe(200);
    expect(send(p, xff("6.6.6.6, 198.51.100.1, 10.1.1.2")).status).toBe(200);
    expect(send(p, xff("7.7.7.7, 198.51.100.1, 10.1.1.3")).status, "third from the right is untrusted").toBe(429);
    expect(statuses(p, 2, xff("198.51.100.9", "10.0.0.5:1")), "one entry < 2 hops: the peer 10.0.0.5").toEqual([200, 200]);
    expect(send(p, { peer: "10.0.0.5:2" }).status).toBe(429);
  });
});

// ---- rules ------------------------------------------------------------------------------------------

describe("rules", () => {
  const RULES = {
    rules: [
      { name: "api", match: { path: { prefix: "/api/" } }, requests: 5, period_s: 3600, burst: 5, key: [{ client_ip: true }] },
      { name: "writes", match: { methods: ["POST", "DELETE"] }, requests: 2, period_s: 3600, burst: 2, key: [{ client_ip: true }] },
      {
        name: "partner",
        match: { headers: [{ name: "x-partner", present: true }], routes: ["partner"] },
        requests: 1,
        period_s: 3600,
        burst: 1,
        key: [{ header: "x-partner" }],
      },
    ],
  };

  it("applies every matching rule; the refusing rule is named", async () => {
    const { p } = await limiter(RULES);
    const a: Req = { peer: "10.0.0.1:1", method: "POST" };
    expect(statuses(p, 2, a)).toEqual([200, 200]);
    const refused = send(p, a);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ error: "rate_limited", rule: "writes" });

    const b: Req = { peer: "10.0.0.2:1" };
    expect(statuses(p, 5, b)).toEqual(ok(5));
    const byApi = send(p, { ...b, method: "POST" });
    expect(byApi.status, "writes still has tokens, api has none").toBe(429);
    expect(JSON.parse(byApi.body)).toEqual({ error: "rate_limited", rule: "api" });
  });

  it("limits only what a rule matches: path regex, header regex, inverted tests and query parameters", async () => {
    const { p } = await limiter({
      rules: [
        {
          name: "search",
          requests: 1,
          period: "1h",
          burst: 1,
          key: [{ header: "x-user" }],
          match: {
            path: { regex: "/v[0-9]+/search" },
            headers: [
              { name: "x-user", regex: "u-[0-9]+" },
              { name: "x-internal", present: true, invert: true },
            ],
            query: [
              { name: "q", present: true },
              { name: "cache", exact: "1", invert: true },
            ],
          },
        },
      ],
    });
    const user = (id: string, extra: HeaderList = []): HeaderList => [["x-user", id], ...extra];
    expect(statuses(p, 2, { path: "/v1/search?q=a", headers: user("u-1") })).toEqual([200, 429]);
    expect(statuses(p, 2, { path: "/v1/search?q=a&cache=1", headers: user("u-1") }), "cache=1: inverted test fails").toEqual(ok(2));
    expect(statuses(p, 2, { path: "/v1/search?x=1", headers: user("u-1") }), "no q parameter").toEqual(ok(2));
    expect(statuses(p, 2, { path: "/v1/search/x?q=a", headers: user("u-1") }), "path regex is a full match").toEqual(ok(2));
    expect(statuses(p, 2, { path: "/v1/search?q=a", headers: user("admin") }), "x-user fails the regex").toEqual(ok(2));
    expect(statuses(p, 2, { path: "/v1/search?q=a", headers: user("u-2", [["x-internal", "1"]]) }), "x-internal present").toEqual(ok(2));
    expect(statuses(p, 2, { path: "/v22/search?flag&q", headers: user("u-2") }), "q without a value is present").toEqual([200, 429]);
  });

  it("limits only what a rule matches: path, methods, headers and routes", async () => {
    const { p } = await limiter(RULES);
    expect(statuses(p, 20, { path: "/health" })).toEqual(ok(20));
    expect(statuses(p, 3, { path: "/health", route: "partner", headers: [["x-partner", "p1"]] })).toEqual([200, 429, 429]);
    expect(send(p, { path: "/health", route: "other", headers: [["x-partner", "p1"]] }).status, "route condition not met").toBe(200);
  });
});

// ---- responses --------------------------------------------------------------------------------------

describe("responses", () => {
  // 6 per minute: one token every 10 s; capacity 3.
  const SHAPE = { rules: [rule({ name: "per_client", requests: 6, period_s: 60, burst: 3, key: [{ client_ip: true }] })] };

  it("refuses with 429, a JSON body naming the rule, Retry-After and RateLimit-* exactly as specified", async () => {
    const { vm, p } = await limiter(SHAPE);
    expect(statuses(p, 3)).toEqual(ok(3));
    const r = send(p);
    expect(r.status).toBe(429);
    expect(r.body).toBe('{"error":"rate_limited","rule":"per_client"}');
    expect(r.headerAll("content-type")).toEqual(["application/json"]);
    expect(r.headerAll("retry-after"), "the next token is 10 s away").toEqual(["10"]);
    expect(r.headerAll("ratelimit-limit")).toEqual(["3"]);
    expect(r.headerAll("ratelimit-remaining")).toEqual(["0"]);
    expect(r.headerAll("ratelimit-reset"), "3 tokens short: full again in 30 s").toEqual(["30"]);
    expect(r.stream.localResponse?.status).toBe(429);

    vm.advanceTime(4500);
    const later = send(p);
    expect(later.status).toBe(429);
    expect(later.header("retry-after"), "5.5 s rounded up").toBe("6");
    expect(later.header("ratelimit-reset"), "25.5 s rounded up").toBe("26");

    vm.advanceTime(5499);
    expect(send(p).header("retry-after"), "1 ms left: still at least 1").toBe("1");
    vm.advanceTime(1);
    expect(send(p).status).toBe(200);
  });

  it("sends no RateLimit-* headers on allowed responses unless rate_limit_headers is set", async () => {
    const { p } = await limiter(SHAPE);
    const r = send(p);
    expect(r.status).toBe(200);
    expect(r.body).toBe("upstream");
    expect(r.headerAll("ratelimit-limit")).toEqual([]);
    expect(r.headerAll("ratelimit-remaining")).toEqual([]);
    expect(r.headerAll("ratelimit-reset")).toEqual([]);
  });

  it("with rate_limit_headers, allowed responses carry limit, remaining after this request and reset", async () => {
    const { vm, p } = await limiter({ ...SHAPE, rate_limit_headers: true });
    const seen = [0, 1, 2]
      .map(() => send(p))
      .map((r) => [r.status, r.header("ratelimit-limit"), r.header("ratelimit-remaining"), r.header("ratelimit-reset")]);
    expect(seen).toEqual([
      [200, "3", "2", "10"],
      [200, "3", "1", "20"],
      [200, "3", "0", "30"],
    ]);
    const refused = send(p);
    expect(refused.status).toBe(429);
    for (const h of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"]) {
      expect(refused.headerAll(h), `${h} once on the 429`).toHaveLength(1);
    }
    vm.advanceTime(15 * SECOND);
    const r = send(p);
    expect([r.status, r.header("ratelimit-remaining"), r.header("ratelimit-reset")], "1.5 tokens back, one spent").toEqual([
      200,
      "0",
      "25",
    ]);
    expect(r.headerAll("ratelimit-limit")).toHaveLength(1);
  });

  it("with rate_limit_headers, reports the most restrictive matching rule, and nothing when none matches", async () => {
    const { p } = await limiter({
      rate_limit_headers: true,
      rules: [
        { name: "hourly", match: { path: { prefix: "/api/" } }, requests: 100, period_s: 3600, burst: 100 },
        { name: "per_second", match: { path: { prefix: "/api/" } }, requests: 2, period_s: 1, burst: 2 },
      ],
    });
    const first = send(p);
    expect([first.header("ratelimit-limit"), first.header("ratelimit-remaining"), first.header("ratelimit-reset")]).toEqual([
      "2",
      "1",
      "1",
    ]);
    const second = send(p);
    expect([second.header("ratelimit-limit"), second.header("ratelimit-remaining")]).toEqual(["2", "0"]);
    const third = send(p);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body)).toEqual({ error: "rate_limited", rule: "per_second" });
    const other = send(p, { path: "/health" });
    expect(other.status).toBe(200);
    expect(other.headerAll("ratelimit-limit")).toEqual([]);
  });
});

// ---- dry run ----------------------------------------------------------------------------------------

describe("dry_run", () => {
  it("never refuses, counts what would have been limited, and keeps the bucket as enforcement would", async () => {
    const { vm, p } = await limiter({ dry_run: true, rules: [rule({ name: "trial", requests: 1, period_s: 10, burst: 2 })] });
    const w = { vm, p };
    expect(statuses(p, 5)).toEqual(ok(5));
    expect(metric(w, "trial.limited_total")).toBe(3);
    expect(metric(w, "trial.allowed_total")).toBe(2);
    vm.advanceTime(10 * SECOND);
    // One token back (refusals in dry run take none): one more would be allowed, then limited again.
    const r = statuses(p, 3);
    expect(r).toEqual(ok(3));
    expect(metric(w, "trial.allowed_total")).toBe(3);
    expect(metric(w, "trial.limited_total")).toBe(5);
  });

  it("charges later rules exactly as enforcement would: none after the first would-be refusal", async () => {
    const rules = [
      rule({ name: "first", requests: 1, period_s: 3600, burst: 1 }),
      rule({ name: "second", requests: 1, period_s: 3600, burst: 3 }),
    ];
    const enforcing = await limiter({ ...ONE_KEY, rules });
    const dry = await limiter({ ...ONE_KEY, dry_run: true, rules });
    const counters = (w: Worker) =>
      ["first.allowed_total", "first.limited_total", "second.allowed_total", "second.limited_total"].map((n) => metric(w, n));
    expect(statuses(enforcing.p, 4), "first refuses from the second request on").toEqual([200, ...limited(3)]);
    expect(statuses(dry.p, 4)).toEqual(ok(4));
    // Enforcement never charges `second` for what `first` refused, so `second` still has 2 tokens.
    expect(counters(enforcing)).toEqual([1, 3, 1, 0]);
    expect(counters(dry), "dry-run counters = what enforcement did with the same traffic").toEqual(counters(enforcing));
    for (const w of [enforcing, dry]) w.vm.advanceTime(3600 * SECOND);
    // One token back in `first`; `second` has 3 (full) in both, so all of them pass it.
    statuses(enforcing.p, 3);
    statuses(dry.p, 3);
    expect(counters(enforcing)).toEqual([2, 5, 2, 0]);
    expect(counters(dry)).toEqual(counters(enforcing));
  });

  it("sends neither a 429 nor its headers, even with rate_limit_headers", async () => {
    const { p } = await limiter({
      dry_run: true,
      rate_limit_headers: true,
      rules: [rule({ name: "trial", requests: 1, period_s: 10, burst: 1 })],
    });
    send(p);
    const r = send(p);
    expect(r.status).toBe(200);
    expect(r.body).toBe("upstream");
    expect(r.headerAll("retry-after")).toEqual([]);
  });
});

// ---- worker threads ---------------------------------------------------------------------------------

/** A SharedData that runs `fn` (another worker's whole request) just before the next write lands. */
class InterleavingSharedData extends SharedData {
  private before: (() => void) | undefined;
  beforeNextSet(fn: () => void): void {
    this.before = fn;
  }
  override set(key: string, value: Uint8Array | string, cas = 0, vmId = ""): WasmResult {
    const fn = this.before;
    this.before = undefined;
    fn?.();
    return super.set(key, value, cas, vmId);
  }
}

async function workers(
  n: number,
  config: Json,
  shared: SharedData = new SharedData(),
): Promise<{ ws: Worker[]; metrics: MetricsStore; advance(ms: number): void }> {
  const metrics = new MetricsStore();
  const ws: Worker[] = [];
  for (let i = 0; i < n; i++) ws.push(await limiter(config, { shared, metrics }));
  return {
    ws,
    metrics,
    advance: (ms) => {
      for (const w of ws) w.vm.advanceTime(ms);
    },
  };
}

describe("worker VMs sharing one SharedData", () => {
  const CONFIG = { rules: [rule({ name: "shared", requests: 5, period_s: 10, burst: 5, key: [{ client_ip: true }] })] };

  it("two workers together admit exactly what one bucket allows", async () => {
    const {
      ws: [a, b],
      advance,
    } = await workers(2, CONFIG);
    const seq = [a, b, b, a, b, a, a, b].map((w) => send(w!.p).status);
    expect(seq).toEqual([...ok(5), ...limited(3)]);
    advance(4 * SECOND);
    expect(
      [a, b, a].map((w) => send(w!.p).status),
      "two tokens in 4 s, wherever they are spent",
    ).toEqual([200, 200, 429]);
    expect(a!.vm.metric("portico.rate_limit.shared.allowed_total"), "counters add up across workers").toBe(7);
    expect(b!.vm.metric("portico.rate_limit.shared.limited_total")).toBe(4);
  });

  it("a write that loses a compare-and-swap race is retried on fresh state: never more than the bucket", async () => {
    const shared = new InterleavingSharedData();
    const {
      ws: [a, b],
    } = await workers(2, { rules: [rule({ name: "shared", requests: 1, period_s: 3600, burst: 2 })] }, shared);
    expect(send(a!.p).status, "creates the bucket").toBe(200);
    let inner = 0;
    shared.beforeNextSet(() => (inner = send(b!.p).status)); // b spends the last token between a's read and a's write
    const outer = send(a!.p).status;
    expect([outer, inner].sort(), "one of the racing requests gets the last token").toEqual([200, 429]);
    expect(send(b!.p).status).toBe(429);
    expect(a!.vm.metric("portico.rate_limit.shared.cas_retries_total")).toBeGreaterThanOrEqual(1);
    expect(a!.vm.metric("portico.rate_limit.shared.allowed_total")).toBe(2);
  });

  it("the creation race admits at most (workers - 1) extra requests, once", async () => {
    const shared = new InterleavingSharedData();
    const {
      ws: [a, b],
    } = await workers(2, { rules: [rule({ name: "shared", requests: 1, period_s: 3600, burst: 1 })] }, shared);
    let inner = 0;
    shared.beforeNextSet(() => (inner = send(b!.p).status)); // both see no bucket yet
    const outer = send(a!.p).status;
    const admitted = [outer, inner].filter((s) => s === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted, "burst 1 + (2 workers - 1)").toBeLessThanOrEqual(2);
    expect([send(a!.p).status, send(b!.p).status, send(a!.p).status], "afterwards the bucket holds").toEqual(limited(3));
  });
});

// ---- a configuration change -------------------------------------------------------------------------

describe("a config change: shared data outlives it, buckets of the old limit do not", () => {
  // The control plane keeps vm_id fixed across updates, so the new configuration's VMs find the
  // old configuration's slots in shared data. A bucket's state only means something under the
  // limit it was written with: after an edit every key (and the overflow bucket) must start from
  // a new full bucket of the new limit, as Envoy's native local_ratelimit does.
  const X: Req = { peer: "10.0.0.1:1" };
  const Y: Req = { peer: "10.0.0.2:1" }; // max_keys 1: X holds the slot, Y is in the overflow bucket
  /** requests, period_s, burst */
  type Limit = [number, number, number];
  const config = ([requests, period_s, burst]: Limit) => ({
    max_keys: 1,
    rules: [rule({ name: "edited", requests, period_s, burst, key: [{ client_ip: true }] })],
  });
  /** Status and Retry-After of each request, then again one emission interval later. */
  function trace(w: Worker, [requests, periodS, burst]: Limit): string[] {
    const out: string[] = [];
    const round = (n: number) => {
      for (const who of [X, Y])
        for (let i = 0; i < n; i++) {
          const r = send(w.p, who);
          out.push(`${who.peer} ${r.status} retry-after=${r.header("retry-after") ?? "-"}`);
        }
    };
    round(burst + 1);
    w.vm.advanceTime((periodS * SECOND) / requests);
    round(2);
    return out;
  }
  const cases: { what: string; before: Limit; after: Limit }[] = [
    { what: "fewer requests", before: [10, 10, 10], after: [2, 10, 2] },
    { what: "more requests", before: [2, 10, 2], after: [10, 10, 10] },
    { what: "a larger burst", before: [1, 10, 5], after: [1, 10, 10] },
    { what: "a longer period", before: [5, 10, 5], after: [5, 60, 5] },
  ];
  for (const c of cases) {
    it(`${c.what} (requests, period_s, burst ${c.before.join("/")} -> ${c.after.join("/")}): every key gets exactly a fresh bucket of the new limit`, async () => {
      const shared = new SharedData();
      const old = await limiter(config(c.before), { shared });
      expect(admitUntilRefused(old.p, X), "X drains its bucket under the old limit").toBe(c.before[2]);
      expect(admitUntilRefused(old.p, Y), "Y drains the overflow bucket").toBe(c.before[2]);
      const edited = await limiter(config(c.after), { shared, startTime: T0 + SECOND });
      const fresh = await limiter(config(c.after), { startTime: T0 + SECOND }); // its own, empty store
      const got = trace(edited, c.after);
      expect(got.filter((l) => l.startsWith(`${X.peer} 200`)).length, "X: the new burst, then one per interval").toBe(c.after[2] + 1);
      expect(got).toEqual(trace(fresh, c.after));
      // The scan agrees: X's slot is one active key of the new limit.
      edited.vm.advanceTime(5 * SECOND);
      expect(metric(edited, "edited.keys_tracked")).toBe(1);
    });
  }

  it("an edit that keeps requests, period_s and burst keeps the buckets", async () => {
    const shared = new SharedData();
    const before = await limiter(
      { max_keys: 1, rules: [rule({ name: "edited", requests: 1, period_s: 3600, burst: 2, key: [{ client_ip: true }] })] },
      { shared },
    );
    expect(admitUntilRefused(before.p, X)).toBe(2);
    const after = await limiter(
      {
        max_keys: 1,
        rate_limit_headers: true,
        rules: [rule({ name: "edited", match: { methods: ["GET"] }, requests: 1, period_s: 3600, burst: 2, key: [{ client_ip: true }] })],
      },
      { shared },
    );
    expect(send(after.p, X).status, "same limit: still drained").toBe(429);
  });
});

// ---- memory bound -----------------------------------------------------------------------------------

/** Entries in the emulated shared-data store (an emulator internal, read for the memory bound). */
const sharedEntries = (d: SharedData): number => (d as unknown as { values: Map<string, unknown> }).values.size;

describe("max_keys: bounded memory, slot reuse and the overflow bucket", () => {
  it("with one slot: a second active key goes to the shared overflow bucket; an idle key's slot is reused", async () => {
    const { vm, p } = await limiter({
      rules: [rule({ name: "tiny", requests: 1, period_s: 10, burst: 1, key: [{ client_ip: true }] })],
      max_keys: 1,
    });
    const ip = (n: string): Req => ({ peer: `10.0.0.${n}:1` });
    expect(send(p, ip("1")).status, "A takes the slot").toBe(200);
    expect(send(p, ip("1")).status, "A's own bucket is empty").toBe(429);
    expect(send(p, ip("2")).status, "B: slot busy with active A -> overflow bucket, full").toBe(200);
    expect(send(p, ip("2")).status, "B again: overflow bucket empty").toBe(429);
    expect(send(p, ip("3")).status, "C's first request: overflow bucket empty").toBe(429);
    vm.advanceTime(10 * SECOND); // A's bucket and the overflow bucket are full again
    expect(send(p, ip("3")).status, "C reuses A's idle slot").toBe(200);
    expect(send(p, ip("4")).status, "D: slot busy with C -> overflow").toBe(200);
    expect(send(p, ip("5")).status, "E: overflow empty").toBe(429);
    expect(send(p, ip("1")).status, "A lost its slot to C: overflow, empty").toBe(429);
    expect(metric({ vm, p }, "tiny.allowed_total")).toBe(4);
    expect(metric({ vm, p }, "tiny.limited_total")).toBe(5);
  });

  it("never uses more shared-data slots than max_keys (+ the overflow bucket), however many clients", async () => {
    const shared = new SharedData();
    const { vm, p } = await limiter(
      { max_keys: 8, rules: [rule({ name: "many", requests: 1, period_s: 3600, burst: 1, key: [{ header: "x-client" }] })] },
      { shared },
    );
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (send(p, { headers: [["x-client", `client-${i}`]] }).status === 200) admitted++;
    // The filter writes nothing to shared data but its buckets: the 8 slots and the overflow
    // bucket. With max_keys 8 every key probes all 8 slots, so the first 8 keys fill them, the
    // 9th gets the full overflow bucket and everyone after is refused.
    expect(sharedEntries(shared), "shared-data entries after 1000 distinct active keys").toBe(8 + 1);
    expect(admitted, "8 slots + the overflow bucket, burst 1 each").toBe(9);
    vm.advanceTime(15 * SECOND);
    expect(metric({ vm, p }, "many.keys_tracked"), "keys_tracked is bounded by max_keys").toBe(8);
    // An hour later every bucket is full again: the slots serve new clients.
    vm.advanceTime(3600 * SECOND);
    let again = 0;
    for (let i = 0; i < 1000; i++) if (send(p, { headers: [["x-client", `new-${i}`]] }).status === 200) again++;
    expect(again, "idle slots and overflow bucket reused").toBe(9);
    expect(sharedEntries(shared), "still the 8 slots and the overflow bucket").toBe(8 + 1);
  });

  it("a key keeps its bucket further along its probe sequence when an earlier slot goes idle", async () => {
    const shared = new SharedData();
    const { vm, p } = await limiter(
      { max_keys: 4, rules: [rule({ name: "probe", requests: 1, period_s: 3600, burst: 1, key: [{ header: "x-client" }] })] },
      { shared },
    );
    // Two keys with the same home slot (keys.ts hashKey, mirrored here).
    const home = (key: string) => fnv1a(key) % 4;
    const first = "client-0";
    let second = "";
    for (let i = 1; !second; i++) if (home(`client-${i}`) === home(first)) second = `client-${i}`;
    const client = (k: string): Req => ({ headers: [["x-client", k]] });
    /** Slot numbers written so far (shared-data names end in "|<slot>"; an emulator internal). */
    const slots = () =>
      [...(shared as unknown as { values: Map<string, unknown> }).values.keys()]
        .map((k) => /\|(\d+)$/.exec(k)?.[1])
        .filter((n) => n !== undefined)
        .map(Number)
        .sort((a, b) => a - b);

    expect(send(p, client(first)).status).toBe(200);
    expect(slots(), "first is in its home slot (checks the mirrored hash)").toEqual([home(first)]);
    vm.advanceTime(1800 * SECOND);
    expect(send(p, client(second)).status).toBe(200);
    expect(slots(), "second probed past first's active slot to the next one").toEqual(
      [home(first), (home(first) + 1) % 4].sort((a, b) => a - b),
    );
    vm.advanceTime(1800 * SECOND); // first's bucket is full again (idle); second's token is 30 min away
    expect(send(p, client(second)).status, "second's own bucket, not first's idle slot as a fresh one").toBe(429);
    expect(send(p, client(first)).status, "first still finds its own slot").toBe(200);
    expect(send(p, client(second)).status).toBe(429);
  });

  it("a request costs one shared-data read and one write, for a new key and for one with a bucket", async () => {
    const shared = new SharedData();
    const { p } = await limiter(
      { rules: [rule({ name: "cost", requests: 100, period_s: 1, burst: 100, key: [{ header: "x-client" }] })] },
      { shared },
    );
    const client: Req = { headers: [["x-client", "known"]] };
    const reads = vi.spyOn(shared, "get");
    const writes = vi.spyOn(shared, "set");
    // A new key stops at its first never-written slot: one read, then the write that creates it
    // (the shorter that gap, the rarer two workers both create the same bucket).
    expect(send(p, client).status).toBe(200);
    expect(reads, "shared-data reads, new key").toHaveBeenCalledTimes(1);
    expect(writes, "shared-data writes, new key").toHaveBeenCalledTimes(1);
    reads.mockClear();
    writes.mockClear();
    expect(send(p, client).status).toBe(200);
    // Each read is a host call (≈1.3 µs in Envoy): the probe's read is reused by the update.
    expect(reads, "shared-data reads").toHaveBeenCalledTimes(1);
    expect(writes, "shared-data writes").toHaveBeenCalledTimes(1);
  });

  it("reports the number of tracked keys in a gauge, updated within a few seconds", async () => {
    const { vm, p } = await limiter({
      rules: [rule({ name: "tracked", requests: 1, period_s: 3600, burst: 5, key: [{ header: "x-client" }] })],
    });
    for (const c of ["a", "b", "c", "d", "e", "a", "b"]) send(p, { headers: [["x-client", c]] });
    vm.advanceTime(15 * SECOND);
    expect(metric({ vm, p }, "tracked.keys_tracked")).toBe(5);
  });
});

// ---- metrics ----------------------------------------------------------------------------------------

describe("metrics", () => {
  it("counts allowed and limited per rule, under stat_prefix when given", async () => {
    const { vm, p } = await limiter({
      stat_prefix: "edge",
      rules: [
        rule({ name: "a", requests: 1, period_s: 3600, burst: 2 }),
        rule({ name: "b", match: { methods: ["POST"] }, requests: 1, period_s: 3600, burst: 1 }),
      ],
    });
    statuses(p, 3);
    statuses(p, 1, { method: "POST" });
    const m = vm.metrics();
    expect(m["portico.rate_limit.edge.a.allowed_total"]?.value).toBe(2);
    expect(m["portico.rate_limit.edge.a.limited_total"]?.value).toBe(2);
    // b matched only the POST, which a refused: b is not charged for it (b's one token would
    // have admitted it).
    expect(m["portico.rate_limit.edge.b.allowed_total"]?.value ?? 0, "b matched only the POST, refused by a").toBe(0);
    expect(m["portico.rate_limit.edge.b.limited_total"]?.value ?? 0).toBe(0);
    expect(m["portico.rate_limit.edge.a.cas_retries_total"]?.value ?? 0).toBe(0);
    expect(Object.keys(m).filter((k) => k.startsWith("portico.rate_limit.a."))).toEqual([]);
  });
});

// ---- configuration ----------------------------------------------------------------------------------

describe("configuration", () => {
  const base = { rules: [rule()] };
  const withRule = (extra: Json) => ({ rules: [rule(extra)] });
  const bad: { what: string; config: Json | string; field: string }[] = [
    { what: "an unknown top-level field", config: { ...base, bogus: 1 }, field: "bogus: unknown field" },
    { what: "an unknown rule field", config: withRule({ limit: 3 }), field: "rules[0].limit: unknown field" },
    { what: "no rules", config: {}, field: "rules" },
    { what: "an empty rule list", config: { rules: [] }, field: "rules" },
    { what: "a rule without a name", config: { rules: [{ requests: 1, period_s: 1 }] }, field: "rules[0].name" },
    { what: "a rule name with capitals", config: withRule({ name: "PerClient" }), field: "rules[0].name" },
    { what: "a rule name with a dash", config: withRule({ name: "per-client" }), field: "rules[0].name" },
    { what: "no requests", config: { rules: [{ name: "r", period_s: 1 }] }, field: "rules[0].requests" },
    { what: "zero requests", config: withRule({ requests: 0 }), field: "rules[0].requests" },
    { what: "fractional requests", config: withRule({ requests: 1.5 }), field: "rules[0].requests" },
    { what: "no period", config: { rules: [{ name: "r", requests: 1 }] }, field: "rules[0].period: is required (or the legacy period_s)" },
    { what: "a zero period", config: withRule({ period_s: 0 }), field: "rules[0].period_s: must be between 1s and 24h" },
    { what: "a period over a day", config: withRule({ period_s: 86_401 }), field: "rules[0].period_s: must be between 1s and 24h" },
    { what: "a fractional period_s", config: withRule({ period_s: 1.5 }), field: "rules[0].period_s: must be an integer (seconds)" },
    {
      what: "a duration period over a day",
      config: { rules: [{ name: "r", requests: 1, period: "24h1ms" }] },
      field: "rules[0].period: must be between 1s and 24h",
    },
    {
      what: "a duration period under a second",
      config: { rules: [{ name: "r", requests: 1, period: "999ms" }] },
      field: "rules[0].period: must be between 1s and 24h",
    },
    {
      what: "a malformed duration",
      config: { rules: [{ name: "r", requests: 1, period: "10 sec" }] },
      field: 'rules[0].period: invalid duration "10 sec"',
    },
    {
      what: "a fraction of a millisecond",
      config: { rules: [{ name: "r", requests: 1, period: "1.0005s" }] },
      field: "rules[0].period: a duration must be a whole number of milliseconds",
    },
    {
      what: "both period and period_s",
      config: withRule({ period: "10s" }),
      field: "rules[0]: give either period or the legacy period_s, not both",
    },
    {
      what: "an unsupported regex",
      config: withRule({ match: { headers: [{ name: "x-a", regex: "(?<=a)b" }] } }),
      field: "rules[0].match.headers[0].regex: invalid regex: lookbehind ((?<=...)) is not supported",
    },
    { what: "a zero burst", config: withRule({ burst: 0 }), field: "rules[0].burst" },
    { what: "an unknown key source", config: withRule({ key: [{ cookie: "session" }] }), field: "rules[0].key[0]" },
    { what: "a key part with two sources", config: withRule({ key: [{ header: "x-a", fixed: "b" }] }), field: "rules[0].key[0]" },
    { what: "an invalid key header name", config: withRule({ key: [{ header: "bad header" }] }), field: "rules[0].key[0].header" },
    { what: "a key that is not a list", config: withRule({ key: { client_ip: true } }), field: "rules[0].key" },
    { what: "a bad path match", config: withRule({ match: { path: { prefix: "api/" } } }), field: "rules[0].match.path.prefix" },
    { what: "negative trusted_hops", config: { ...base, trusted_hops: -1 }, field: "trusted_hops" },
    { what: "zero max_keys", config: { ...base, max_keys: 0 }, field: "max_keys" },
    { what: "a non-boolean dry_run", config: { ...base, dry_run: "yes" }, field: "dry_run" },
    { what: "a non-boolean rate_limit_headers", config: { ...base, rate_limit_headers: 1 }, field: "rate_limit_headers" },
    { what: "not JSON", config: "{rules:", field: "invalid configuration" },
  ];
  for (const b of bad) {
    it(`refuses ${b.what}, naming the field`, async () => {
      const { vm, p } = await worker(b.config);
      expect(p.ok).toBe(false);
      const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
      expect(errors.join("\n")).toContain("rate-limit: invalid configuration");
      expect(errors.join("\n")).toContain(b.field);
    });
  }

  it("reports every problem at once", async () => {
    const { vm, p } = await worker({ rules: [rule({ requests: 0 }), rule({ name: "B", period_s: 0 })], bogus: true });
    expect(p.ok).toBe(false);
    const text = vm.logs
      .filter((l) => l.level >= LogLevel.Error)
      .map((l) => l.message)
      .join("\n");
    for (const f of ["rules[0].requests", "rules[1].name", "rules[1].period_s", "bogus"]) expect(text).toContain(f);
  });

  it("accepts the full documented configuration", async () => {
    const { vm } = await limiter({
      stat_prefix: "edge",
      trusted_hops: 1,
      dry_run: false,
      rate_limit_headers: true,
      max_keys: 10_000,
      rules: [
        {
          name: "per_client",
          match: { path: { prefix: "/api/" }, methods: ["GET", "POST"], headers: [{ name: "x-tenant", present: true }], routes: ["api"] },
          requests: 100,
          period_s: 60,
          burst: 20,
          key: [{ client_ip: true }, { header: "x-api-key" }, { route: true }, { fixed: "everyone" }],
        },
      ],
    });
    expect(vm.logs.filter((l) => l.level >= LogLevel.Error)).toEqual([]);
  });
});

// README: rules "1 to 32", key "up to 8 parts".
describe("count limits: at the limit accepted, one over refused", () => {
  const rules = (n: number): Json => ({ rules: Array.from({ length: n }, (_, i) => rule({ name: `r${i}` })) });
  const keyParts = (n: number): Json => ({ rules: [rule({ key: Array.from({ length: n }, (_, i) => ({ fixed: `k${i}` })) })] });
  it.each([
    ["32 rules", rules(32), rules(33), "rules: has 33 items, at most 32 allowed"],
    ["8 key parts", keyParts(8), keyParts(9), "rules[0].key: has 9 items, at most 8 allowed"],
  ] as [string, Json, Json, string][])("%s", async (_what, atLimit, over, reason) => {
    await limiter(atLimit);
    const { vm, p } = await worker(over);
    expect(p.ok).toBe(false);
    expect(
      vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n"),
    ).toContain(reason);
  });
});

// #14: what a request costs in host calls, and the callbacks Envoy has to make into the VM.
describe("host calls and callbacks per request", () => {
  it("makes 5 host calls for an allowed request keyed by client IP, by name", async () => {
    const vm = await ProxyWasmVm.load(module, { startTime: T0, countHostCalls: true, properties: { "source.address": "10.0.0.7:4000" } });
    const p = vm.configurePlugin({
      config: JSON.stringify({ rules: [{ name: "per_client", requests: 1000, period_s: 1, key: [{ client_ip: true }] }] }),
      rootId: "rate-limit",
    });
    expect(p.ok).toBe(true);
    runHttpRequest(p, {
      requestHeaders: [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "a"],
      ],
    });
    vm.hostCalls.clear();
    const s = runHttpRequest(p, {
      requestHeaders: [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "a"],
      ],
    });
    expect(s.localResponse).toBeUndefined();
    expect(Object.fromEntries([...vm.hostCalls].sort())).toEqual({
      proxy_get_current_time_nanoseconds: 1, // the bucket's clock
      proxy_get_property: 1, // source.address
      proxy_get_shared_data: 1, // the bucket, with its CAS
      proxy_set_shared_data: 1, // the bucket, written back under that CAS
      proxy_increment_metric: 1, // allowed_total
    });
  });

  it("exports only the callbacks it uses (no body, trailer, log or done callbacks)", () => {
    expect(exportedCallbacks(module)).toEqual([
      "proxy_on_configure",
      "proxy_on_context_create",
      "proxy_on_delete",
      "proxy_on_grpc_close",
      "proxy_on_grpc_receive",
      "proxy_on_request_headers",
      "proxy_on_response_headers",
      "proxy_on_tick",
      "proxy_on_vm_start",
    ]);
  });
});
