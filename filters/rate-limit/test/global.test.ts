// rate-limit's global rules (scope: global) through the proxy-wasm host emulator: the
// ShouldRateLimit request the filter sends (decoded with protobufjs from Envoy's own .proto
// files), what each answer does to the request (admitted, 429 with the documented headers,
// RateLimit-* on success), each kind of failure under on_failure allow and deny, the max_pending
// bound, a stream that ends while its call is pending, dry run, local rules shedding before any
// call, the throttled failure log, metrics, configuration errors naming the field, and garbage
// answers (fast-check) that must never trap.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FilterHeadersStatus,
  LogLevel,
  ProxyWasmVm,
  type GrpcCall,
  type HeaderList,
  type HttpStream,
  type Plugin,
  runHttpRequest,
} from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";
import { type StatusSpec, decodeRequest, encodeResponse, grpcServiceType } from "./rls-proto.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("rate-limit")));
}, 180_000);

type Json = Record<string, unknown>;
const T0 = Date.UTC(2030, 0, 1);
const PEER = "203.0.113.7:50123";
const GRPC = { DEADLINE_EXCEEDED: 4, UNAVAILABLE: 14 };
const GLOBAL = { cluster: "ratelimit" };

interface Worker {
  vm: ProxyWasmVm;
  p: Plugin;
}

async function worker(config: Json, clusters: string[] = ["ratelimit"]): Promise<Worker> {
  const vm = await ProxyWasmVm.load(module, { startTime: T0, vmId: "rate_limit", clusters, countHostCalls: true });
  const p = vm.configurePlugin({ config: JSON.stringify(config), rootId: "rate-limit", name: "rate_limit" });
  return { vm, p };
}

async function limiter(config: Json, clusters?: string[]): Promise<Worker> {
  const w = await worker(config, clusters);
  const errors = w.vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(w.p.ok, `configuration refused: ${errors.join("\n")}`).toBe(true);
  return w;
}

const globalRule = (extra: Json = {}): Json => ({
  name: "per_user",
  scope: "global",
  requests: 5,
  period: "1h",
  key: [{ header: "x-user" }],
  ...extra,
});
const metric = (w: Worker, name: string) => w.vm.metric(`portico.rate_limit.${name}`) ?? 0;
const headersOf = (user = "alice", extra: HeaderList = []): HeaderList => [
  [":method", "GET"],
  [":path", "/api/items"],
  [":authority", "api.example.test"],
  ["x-user", user],
  ...extra,
];

interface Reply {
  status: number;
  header(name: string): string | undefined;
  body: string;
  stream: HttpStream;
  calls: GrpcCall[];
}

/** One request; `answer` answers each gRPC call (a response message, or a gRPC status that fails it). */
function send(w: Worker, answer: (call: GrpcCall) => Uint8Array | number, headers: HeaderList = headersOf()): Reply {
  const calls: GrpcCall[] = [];
  const s = runHttpRequest(w.p, {
    requestHeaders: headers,
    properties: { "source.address": PEER, "xds.route_name": "items" },
    grpcCalls: (call) => {
      calls.push(call);
      return answer(call);
    },
  });
  return {
    status: Number(s.responseHeader(":status")),
    header: (name) => s.responseHeaders.find(([k]) => k === name)?.[1],
    body: s.localResponse ? s.localResponse.body : s.responseBody,
    stream: s,
    calls,
  };
}

const ok = (remaining: number, resetMs = 1_800_000, requests = 5): StatusSpec => ({
  code: "OK",
  limit: { requests_per_unit: requests, unit: "HOUR" },
  limit_remaining: remaining,
  resetMs,
});
const over = (resetMs = 1_800_000, requests = 5): StatusSpec => ({
  code: "OVER_LIMIT",
  limit: { requests_per_unit: requests, unit: "HOUR" },
  resetMs,
});
/** Field 15 (unknown to the filter), length-delimited, of `n` bytes. */
function bigUnknownField(n: number): Uint8Array {
  const len: number[] = [];
  for (let v = n; ; v >>>= 7) {
    if (v < 0x80) {
      len.push(v);
      break;
    }
    len.push((v & 0x7f) | 0x80);
  }
  return new Uint8Array([0x7a, ...len, ...new Uint8Array(n)]);
}
const concat = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);
const answerWith =
  (overall: "OK" | "OVER_LIMIT" | "UNKNOWN", ...statuses: StatusSpec[]) =>
  () =>
    encodeResponse(overall, statuses);

describe("rate-limit global rules: the request sent to the rate limit service", () => {
  it("asks ShouldRateLimit once per request on the configured cluster, with the domain, timeout and one descriptor per matching global rule", async () => {
    const w = await limiter({
      global: { cluster: "ratelimit", domain: "portico.api", timeout: "250ms" },
      rules: [
        globalRule(),
        { name: "everyone", scope: "global", requests: 100, period: "1s" },
        { name: "only_post", scope: "global", requests: 1, period: "1m", match: { methods: ["POST"] } },
      ],
    });
    const r = send(w, answerWith("OK", ok(4), ok(99)));
    expect(r.status).toBe(200);
    expect(r.calls).toHaveLength(1);
    const call = r.calls[0]!;
    expect(call.cluster).toBe("ratelimit");
    expect(call.service).toBe("envoy.service.ratelimit.v3.RateLimitService");
    expect(call.method).toBe("ShouldRateLimit");
    expect(call.timeoutMs).toBe(250);
    // The first argument is a GrpcService proto, not a bare cluster name.
    const service = grpcServiceType().toObject(grpcServiceType().decode(call.serviceBytes)) as { envoy_grpc?: { cluster_name?: string } };
    expect(service.envoy_grpc?.cluster_name).toBe("ratelimit");
    expect(decodeRequest(call.message)).toEqual({
      domain: "portico.api",
      hits_addend: 0,
      descriptors: [
        [
          ["rule", "per_user"],
          ["x-user", "alice"],
        ],
        [
          ["rule", "everyone"],
          ["fixed", "global"],
        ],
      ],
      // A request counts one hit per descriptor: no hits_addend of its own.
      descriptorHits: [null, null],
    });
  });

  it('builds each key part as documented: client_ip (trusted hops), consumer (or ip:), header ("" when missing), route, fixed', async () => {
    const w = await limiter({
      global: GLOBAL,
      trusted_hops: 1,
      rules: [
        globalRule({
          name: "all_parts",
          key: [{ client_ip: true }, { consumer: true }, { header: "X-Tenant" }, { route: true }, { fixed: "v1" }],
        }),
      ],
    });
    const r = send(w, answerWith("OK", ok(4)), headersOf("alice", [["x-forwarded-for", "198.51.100.9, 192.0.2.44"]]));
    expect(decodeRequest(r.calls[0]!.message).descriptors).toEqual([
      [
        ["rule", "all_parts"],
        ["client_ip", "192.0.2.44"],
        ["consumer", "ip:192.0.2.44"],
        ["x-tenant", ""],
        ["route", "items"],
        ["fixed", "v1"],
      ],
    ]);
    expect(w.vm.grpcCalls).toEqual([]);
  });

  it("sends the consumer an auth filter identified", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule({ key: [{ consumer: true }] })] });
    const calls: GrpcCall[] = [];
    const s = runHttpRequest(w.p, {
      requestHeaders: headersOf(),
      properties: { "source.address": PEER, portico_consumer: "alice" },
      grpcCalls: (c) => {
        calls.push(c);
        return encodeResponse("OK", [ok(4)]);
      },
    });
    expect(s.responseHeader(":status")).toBe("200");
    expect(decodeRequest(calls[0]!.message).descriptors[0]).toEqual([
      ["rule", "per_user"],
      ["consumer", "alice"],
    ]);
  });

  it("makes no call when no global rule matches", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule({ match: { methods: ["POST"] } })] });
    const r = send(w, () => {
      throw new Error("no call expected");
    });
    expect(r.status).toBe(200);
    expect(metric(w, "global.calls_total")).toBe(0);
  });
});

describe("rate-limit global rules: the service's answer", () => {
  it("OK: the request goes upstream, paused until the answer and resumed once", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule()] });
    const s = w.p.newHttpStream({ properties: { "source.address": PEER } });
    expect(s.sendRequestHeaders(headersOf())).toBe(FilterHeadersStatus.StopAllIterationAndWatermark);
    expect(s.paused).toBe(true);
    expect(metric(w, "global.pending")).toBe(1);
    w.vm.respondGrpc(w.vm.grpcCalls[0]!.token, encodeResponse("OK", [ok(4)]));
    expect(s.paused).toBe(false);
    expect(s.continueCalls.request).toBe(1);
    expect(s.localResponse).toBeUndefined();
    expect(metric(w, "global.pending")).toBe(0);
    expect(metric(w, "per_user.allowed_total")).toBe(1);
    s.complete();
  });

  it("OVER_LIMIT: 429 naming the rule, Retry-After from duration_until_reset rounded up, RateLimit-* from the service's limit", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule()] });
    const r = send(w, answerWith("OVER_LIMIT", over(1_234_001, 5)));
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ error: "rate_limited", rule: "per_user" });
    expect(r.header("content-type")).toBe("application/json");
    expect(r.header("retry-after")).toBe("1235");
    expect(r.header("ratelimit-limit")).toBe("5");
    expect(r.header("ratelimit-remaining")).toBe("0");
    expect(r.header("ratelimit-reset")).toBe("1235");
    expect(metric(w, "per_user.limited_total")).toBe(1);
    expect(metric(w, "per_user.allowed_total")).toBe(0);
  });

  it("OVER_LIMIT with no limit or reset in the answer: the rule's own requests, and at least 1 s", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule()] });
    const r = send(w, answerWith("OVER_LIMIT", { code: "OVER_LIMIT", resetMs: 0 }));
    expect(r.status).toBe(429);
    expect(r.header("retry-after")).toBe("1");
    expect(r.header("ratelimit-limit")).toBe("5");
  });

  it("refuses naming the first global rule over its limit when several are asked", async () => {
    const w = await limiter({
      global: GLOBAL,
      rules: [globalRule({ name: "a" }), globalRule({ name: "b" }), globalRule({ name: "c" })],
    });
    const r = send(w, answerWith("OVER_LIMIT", ok(3), over(5000), over(9000)));
    expect(JSON.parse(r.body)).toEqual({ error: "rate_limited", rule: "b" });
    expect(r.header("retry-after")).toBe("5");
    expect([metric(w, "a.allowed_total"), metric(w, "b.limited_total"), metric(w, "c.limited_total")]).toEqual([1, 1, 1]);
  });

  it("rate_limit_headers: RateLimit-* of the most restrictive rule, local or global", async () => {
    const w = await limiter({
      global: GLOBAL,
      rate_limit_headers: true,
      rules: [{ name: "local", requests: 10, period: "1m" }, globalRule()],
    });
    let r = send(w, answerWith("OK", ok(2, 61_500)));
    expect(r.status).toBe(200);
    expect([r.header("ratelimit-limit"), r.header("ratelimit-remaining"), r.header("ratelimit-reset")]).toEqual(["5", "2", "62"]);
    // The local bucket (9 left after the second request) is more restrictive than a global 50 left.
    r = send(w, answerWith("OK", ok(50, 1000, 100)));
    expect([r.header("ratelimit-limit"), r.header("ratelimit-remaining")]).toEqual(["10", "8"]);
  });

  it("a local refusal answers 429 with no call to the service, and later rules are not charged", async () => {
    const w = await limiter({
      global: GLOBAL,
      rules: [globalRule(), { name: "local", requests: 1, period: "1m" }],
    });
    const calls = (r: Reply) => r.calls.length;
    const first = send(w, answerWith("OK", ok(4)));
    expect([first.status, calls(first)]).toEqual([200, 1]);
    const second = send(w, answerWith("OK", ok(3)));
    expect([second.status, calls(second)]).toEqual([429, 0]);
    expect(JSON.parse(second.body).rule).toBe("local");
    expect(metric(w, "global.calls_total")).toBe(1);
    expect(metric(w, "per_user.allowed_total")).toBe(1);
  });

  it("dry run: asks, counts the limited request, and admits it", async () => {
    const w = await limiter({ global: GLOBAL, dry_run: true, rules: [globalRule({ on_failure: "deny" })] });
    expect(send(w, answerWith("OVER_LIMIT", over())).status).toBe(200);
    expect(metric(w, "per_user.limited_total")).toBe(1);
    // A failure under deny is counted as a denial that would have happened, and admitted too.
    expect(send(w, () => GRPC.UNAVAILABLE).status).toBe(200);
    expect(metric(w, "per_user.failure_denied_total")).toBe(1);
  });
});

describe("rate-limit global rules: cost per request", () => {
  it("pins the host calls of a request a global rule decides: one call, one answer read, one resume", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule()] });
    const answer = encodeResponse("OK", [ok(4)]);
    for (let i = 0; i < 3; i++) send(w, () => answer); // warm up
    w.vm.hostCalls.clear();
    expect(send(w, () => answer).status).toBe(200);
    expect(Object.fromEntries([...w.vm.hostCalls].sort())).toEqual({
      proxy_continue_stream: 1, // the request resumed
      proxy_get_buffer_bytes: 1, // the answer
      proxy_get_current_time_nanoseconds: 1, // the local rules' clock, read once per request
      proxy_get_header_map_value: 1, // x-user, the key
      proxy_grpc_call: 1,
      proxy_increment_metric: 2, // global.calls_total, per_user.allowed_total
      proxy_record_metric: 2, // global.pending up and down
      proxy_set_effective_context: 2, // the stream for the answer, then back to the root
    });
  });
});

describe("rate-limit global rules: failures", () => {
  const failures: { what: string; answer: (call: GrpcCall) => Uint8Array | number }[] = [
    { what: "DEADLINE_EXCEEDED (timeout)", answer: () => GRPC.DEADLINE_EXCEEDED },
    { what: "UNAVAILABLE (service down)", answer: () => GRPC.UNAVAILABLE },
    { what: "an undecodable answer", answer: () => new Uint8Array([0x0a, 0xff, 0xff]) },
    // Well-formed, but over the 64 KiB the filter reads: the statuses, then a big unknown field.
    { what: "an answer over 64 KiB", answer: () => concat(encodeResponse("OK", [ok(4), ok(4)]), bigUnknownField(64 * 1024)) },
    { what: "overall_code UNKNOWN", answer: answerWith("UNKNOWN", ok(4)) },
    { what: "fewer statuses than descriptors", answer: answerWith("OK") },
  ];
  for (const f of failures) {
    it(`${f.what}: on_failure allow admits, deny answers 429 rate_limit_unavailable with Retry-After 1; each counted`, async () => {
      const w = await limiter({
        global: GLOBAL,
        rules: [globalRule({ name: "lenient" }), globalRule({ name: "strict", on_failure: "deny" })],
      });
      const r = send(w, f.answer);
      expect(r.status).toBe(429);
      expect(JSON.parse(r.body)).toEqual({ error: "rate_limit_unavailable", rule: "strict" });
      expect(r.header("retry-after")).toBe("1");
      expect(metric(w, "lenient.failure_allowed_total")).toBe(1);
      expect(metric(w, "strict.failure_denied_total")).toBe(1);
      expect(metric(w, "global.errors_total")).toBe(1);

      const allowOnly = await limiter({ global: GLOBAL, rules: [globalRule()] });
      expect(send(allowOnly, f.answer).status).toBe(200);
      expect(metric(allowOnly, "per_user.failure_allowed_total")).toBe(1);
      expect(metric(allowOnly, "per_user.allowed_total")).toBe(0);
    });
  }

  it("a call Envoy refuses to start (unknown cluster) applies the failure policy at once", async () => {
    const deny = await limiter({ global: GLOBAL, rules: [globalRule({ on_failure: "deny" })] }, ["other"]);
    const r = send(deny, () => {
      throw new Error("no call expected");
    });
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body).error).toBe("rate_limit_unavailable");
    expect(metric(deny, "global.errors_total")).toBe(1);
    const allow = await limiter({ global: GLOBAL, rules: [globalRule()] }, ["other"]);
    expect(send(allow, () => 0).status).toBe(200);
  });

  it("max_pending: beyond it a request gets its rule's failure policy without a call", async () => {
    const w = await limiter({ global: { ...GLOBAL, max_pending: 2 }, rules: [globalRule({ on_failure: "deny" })] });
    const streams = [0, 1, 2].map(() => w.p.newHttpStream({ properties: { "source.address": PEER } }));
    for (const s of streams) s.sendRequestHeaders(headersOf());
    expect(w.vm.grpcCalls).toHaveLength(2);
    expect(metric(w, "global.pending")).toBe(2);
    expect(streams[2]!.localResponse?.status).toBe(429);
    expect(JSON.parse(streams[2]!.localResponse!.body).error).toBe("rate_limit_unavailable");
    // Answering frees a place: the next request is asked again.
    w.vm.respondGrpc(w.vm.grpcCalls[0]!.token, encodeResponse("OK", [ok(4)]));
    expect(streams[0]!.paused).toBe(false);
    const next = w.p.newHttpStream({ properties: { "source.address": PEER } });
    next.sendRequestHeaders(headersOf());
    expect(w.vm.grpcCalls).toHaveLength(2);
    expect(next.paused).toBe(true);
  });

  it("a stream that ends while its call is pending cancels the call and is forgotten", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule()] });
    const s = w.p.newHttpStream({ properties: { "source.address": PEER } });
    s.sendRequestHeaders(headersOf());
    expect(w.vm.grpcCalls).toHaveLength(1);
    w.vm.hostCalls.clear();
    s.complete(); // the client went away
    expect(w.vm.hostCalls.get("proxy_grpc_cancel")).toBe(1);
    expect(w.vm.grpcCalls).toEqual([]);
    expect(metric(w, "global.pending")).toBe(0);
    // Later requests work as before.
    expect(send(w, answerWith("OK", ok(4))).status).toBe(200);
  });

  it("keeps linear memory flat over 30,000 requests answered, failed, refused and abandoned, with no call left behind", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule({ on_failure: "deny" })] });
    const answers = [encodeResponse("OK", [ok(4)]), encodeResponse("OVER_LIMIT", [over()])];
    const round = (i: number) => {
      const kind = i % 4;
      if (kind === 3) {
        // A client that goes away while its call is pending.
        const s = w.p.newHttpStream({ properties: { "source.address": PEER } });
        s.sendRequestHeaders(headersOf(`user-${i % 1000}`));
        s.complete();
        return;
      }
      send(w, () => (kind === 2 ? GRPC.UNAVAILABLE : answers[kind]!), headersOf(`user-${i % 1000}`));
    };
    for (let i = 0; i < 10_000; i++) round(i);
    const warm = w.vm.memoryBytes();
    for (let i = 10_000; i < 30_000; i++) round(i);
    expect(w.vm.memoryBytes()).toBe(warm);
    expect(w.vm.grpcCalls).toEqual([]);
    expect(metric(w, "global.pending")).toBe(0);
    expect(metric(w, "global.calls_total")).toBe(30_000);
  });

  it("logs failures at warn at most once per 10 s, with the count and the cause, and no request data", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule()] });
    const warns = () => w.vm.logs.filter((l) => l.level === LogLevel.Warn).map((l) => l.message);
    for (let i = 0; i < 5; i++) send(w, () => GRPC.UNAVAILABLE, headersOf("secret-user"));
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).toMatch(/1 call\(s\).*gRPC status 14 \(UNAVAILABLE\)/);
    w.vm.advanceTime(9_000);
    send(w, () => GRPC.DEADLINE_EXCEEDED);
    expect(warns()).toHaveLength(1);
    w.vm.advanceTime(1_000);
    send(w, () => GRPC.DEADLINE_EXCEEDED);
    expect(warns()).toHaveLength(2);
    expect(warns()[1]).toMatch(/6 call\(s\).* in the last 10s.*DEADLINE_EXCEEDED/);
    expect(warns().join("\n")).not.toContain("secret-user");
    expect(metric(w, "global.errors_total")).toBe(7);
    expect(metric(w, "global.calls_total")).toBe(7);
  });

  it("never traps on any answer: each ends upstream or in a 429, and memory stays bounded", async () => {
    const w = await limiter({ global: GLOBAL, rules: [globalRule(), globalRule({ name: "b", on_failure: "deny" })] });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = send(w, () => bytes);
        expect([200, 429]).toContain(r.status);
      }),
      { numRuns: 1500 },
    );
    // Valid answers with random numbers: also never a trap, and the verdict follows the codes.
    fc.assert(
      fc.property(
        fc.array(fc.record({ code: fc.constantFrom("OK", "OVER_LIMIT", "UNKNOWN"), n: fc.nat(), reset: fc.nat() }), { maxLength: 4 }),
        (sts) => {
          const statuses = sts.map(
            (s) =>
              ({ code: s.code, limit: { requests_per_unit: s.n, unit: "HOUR" }, limit_remaining: s.n, resetMs: s.reset }) as StatusSpec,
          );
          const r = send(w, answerWith("OK", ...statuses));
          const answered = statuses.slice(0, 2);
          const expected = statuses.length < 2 ? 429 : answered.some((s) => s.code === "OVER_LIMIT") ? 429 : 200;
          expect(r.status).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
    expect(w.vm.memoryBytes()).toBeLessThan(4 * 1024 * 1024);
  });
});

describe("rate-limit global rules: configuration", () => {
  const base = (rules: Json[], extra: Json = {}): Json => ({ global: GLOBAL, rules, ...extra });
  const bad: { what: string; config: Json; error: string }[] = [
    {
      what: "a global rule without the global block",
      config: { rules: [{ name: "x", requests: 1, period: "1s" }, globalRule()] },
      error: "global: required by rules[1] (scope global)",
    },
    {
      what: "a global block no rule uses",
      config: base([{ name: "x", requests: 1, period: "1s" }]),
      error: "global: no rule has scope global",
    },
    {
      what: "a global period the service cannot count",
      config: base([globalRule({ period: "10s" })]),
      error: "rules[0].period: a global rule's period must be 1s, 1m, 1h or 24h",
    },
    {
      what: "a global period_s the service cannot count",
      config: base([globalRule({ period: undefined, period_s: 120 })]),
      error: "rules[0].period_s: a global rule's period must be",
    },
    {
      what: "burst on a global rule",
      config: base([globalRule({ burst: 10 })]),
      error: "rules[0].burst: global limits count fixed windows; burst applies to local rules only",
    },
    {
      what: "on_failure on a local rule",
      config: base([globalRule(), { name: "l", requests: 1, period: "1s", on_failure: "deny" }]),
      error: "rules[1].on_failure: applies to global rules only",
    },
    {
      what: "an unknown on_failure",
      config: base([globalRule({ on_failure: "maybe" })]),
      error: 'rules[0].on_failure: must be "allow" or "deny"',
    },
    { what: "an unknown scope", config: base([globalRule({ scope: "cluster" })]), error: 'rules[0].scope: must be "local" or "global"' },
    { what: "no cluster", config: { global: {}, rules: [globalRule()] }, error: "global.cluster: is required" },
    { what: "an empty cluster", config: { global: { cluster: "" }, rules: [globalRule()] }, error: "global.cluster: must not be empty" },
    {
      what: "an empty domain",
      config: { global: { ...GLOBAL, domain: "" }, rules: [globalRule()] },
      error: "global.domain: must not be empty",
    },
    {
      what: "a timeout over 10s",
      config: { global: { ...GLOBAL, timeout: "11s" }, rules: [globalRule()] },
      error: "global.timeout: must be between 1ms and 10s",
    },
    {
      what: "max_pending 0",
      config: { global: { ...GLOBAL, max_pending: 0 }, rules: [globalRule()] },
      error: "global.max_pending: must be an integer from 1 to 100000",
    },
    {
      what: "an unknown global field",
      config: { global: { ...GLOBAL, domian: "x" }, rules: [globalRule()] },
      error: "global.domian: unknown field",
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.what}, naming the field`, async () => {
      const { vm, p } = await worker(b.config);
      expect(p.ok).toBe(false);
      const errors = vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n");
      expect(errors).toContain(b.error);
    });
  }

  it("accepts every global period the service counts, and declares the cluster it calls", async () => {
    for (const period of ["1s", "1m", "1h", "24h"]) {
      const w = await limiter({ global: { cluster: "rls", domain: "d", timeout: "1s", max_pending: 5 }, rules: [globalRule({ period })] }, [
        "rls",
      ]);
      expect(w.p.declaredClusters).toEqual([{ name: "rls", path: "global.cluster" }]);
    }
  });

  it("defines the documented metrics", async () => {
    const w = await limiter({ global: GLOBAL, stat_prefix: "edge", rules: [globalRule(), { name: "l", requests: 1, period: "1s" }] });
    const names = Object.keys(w.vm.metrics()).filter((n) => n.startsWith("portico.rate_limit.edge."));
    expect(names.sort()).toEqual(
      [
        "global.calls_total",
        "global.errors_total",
        "global.pending",
        "l.allowed_total",
        "l.cas_retries_total",
        "l.keys_tracked",
        "l.limited_total",
        "per_user.allowed_total",
        "per_user.failure_allowed_total",
        "per_user.failure_denied_total",
        "per_user.limited_total",
        "vm_memory_bytes",
      ].map((n) => `portico.rate_limit.edge.${n}`),
    );
  });
});
