// rate-limit's global rules with `sync` through the proxy-wasm host emulator: requests decided
// here without a call, the periodic report (one ShouldRateLimit per sync, one descriptor per key
// with its own hits_addend, decoded with protobufjs), the counts learned from its answer, the
// window roll-over, a failed report putting its hits back, one report in flight at a time, two
// workers sharing one view, on_failure: deny after reports keep failing (and its check-only probe),
// the key bounds (256 tracked keys, max_keys) falling back to a call per request, linear memory
// flat under load, and configuration errors naming the field.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { type GrpcCall, LogLevel, ProxyWasmVm, type Plugin, SharedData, runHttpRequest } from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";
import { type StatusSpec, decodeRequest, encodeResponse } from "./rls-proto.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("rate-limit")));
}, 180_000);

type Json = Record<string, unknown>;
/** A whole second: windows of 1s start here. */
const T0 = Date.UTC(2030, 0, 1);
const UNAVAILABLE = 14;

interface Worker {
  vm: ProxyWasmVm;
  p: Plugin;
}

async function worker(config: Json, shared = new SharedData()): Promise<Worker> {
  const vm = await ProxyWasmVm.load(module, { startTime: T0, vmId: "rate_limit", clusters: ["ratelimit"], sharedData: shared });
  const p = vm.configurePlugin({ config: JSON.stringify(config), rootId: "rate-limit", name: "rate_limit" });
  const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(p.ok, `configuration refused: ${errors.join("\n")}`).toBe(true);
  return { vm, p };
}

const synced = (extra: Json = {}): Json => ({
  name: "per_user",
  scope: "global",
  requests: 5,
  period: "1s",
  sync: "100ms",
  key: [{ header: "x-user" }],
  ...extra,
});
const config = (rules: Json[] = [synced()], extra: Json = {}): Json => ({ global: { cluster: "ratelimit", domain: "d" }, rules, ...extra });
const metric = (w: Worker, name: string) => w.vm.metric(`portico.rate_limit.${name}`) ?? 0;

/** One request for `user`; the calls it made itself (a synced rule decided here makes none). */
function send(w: Worker, user = "alice", answer?: (call: GrpcCall) => Uint8Array | number) {
  const calls: GrpcCall[] = [];
  const s = runHttpRequest(w.p, {
    requestHeaders: [
      [":method", "GET"],
      [":path", "/"],
      [":authority", "api.test"],
      ["x-user", user],
    ],
    properties: { "source.address": "203.0.113.7:5000" },
    grpcCalls: (c) => {
      calls.push(c);
      return answer ? answer(c) : UNAVAILABLE;
    },
  });
  return {
    status: Number(s.responseHeader(":status")),
    header: (name: string) => s.responseHeaders.find(([k]) => k === name)?.[1],
    body: s.localResponse ? s.localResponse.body : s.responseBody,
    calls,
  };
}

function statuses(w: Worker, user: string, n: number): number[] {
  return Array.from({ length: n }, () => send(w, user).status);
}

/** The report calls pending in `w` (made by ticks, not by requests). */
const reports = (w: Worker) => w.vm.grpcCalls;
const ok = (remaining: number, requests = 5): StatusSpec => ({
  code: "OK",
  limit: { requests_per_unit: requests, unit: "SECOND" },
  limit_remaining: remaining,
});
const over = (requests = 5): StatusSpec => ({ code: "OVER_LIMIT", limit: { requests_per_unit: requests, unit: "SECOND" } });

describe("rate-limit sync: decisions without a round trip", () => {
  it("admits up to the limit per window from the local count, then answers 429 with the documented headers, with no call per request", async () => {
    const w = await worker(config());
    expect(statuses(w, "alice", 5)).toEqual([200, 200, 200, 200, 200]);
    const r = send(w, "alice");
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ error: "rate_limited", rule: "per_user" });
    expect(r.header("retry-after")).toBe("1");
    expect(r.header("ratelimit-limit")).toBe("5");
    expect(r.header("ratelimit-remaining")).toBe("0");
    expect(reports(w)).toEqual([]);
    expect(metric(w, "per_user.allowed_total")).toBe(5);
    expect(metric(w, "per_user.limited_total")).toBe(1);
    // Another key has its own count.
    expect(send(w, "bob").status).toBe(200);
  });

  it("reports every sync: one call, one descriptor per key with its hits as the descriptor's hits_addend", async () => {
    const w = await worker(config());
    statuses(w, "alice", 3);
    statuses(w, "bob", 2);
    w.vm.advanceTime(99);
    expect(reports(w)).toEqual([]);
    w.vm.advanceTime(1);
    expect(reports(w)).toHaveLength(1);
    const sent = decodeRequest(reports(w)[0]!.message);
    expect(sent.domain).toBe("d");
    expect(sent.hits_addend).toBe(0);
    expect(sent.descriptors).toEqual([
      [
        ["rule", "per_user"],
        ["x-user", "alice"],
      ],
      [
        ["rule", "per_user"],
        ["x-user", "bob"],
      ],
    ]);
    expect(sent.descriptorHits).toEqual([3, 2]);
    expect(metric(w, "per_user.sync_reports_total")).toBe(1);
  });

  it("learns the global count from the answer: what other Envoys admitted is no longer admitted here", async () => {
    const w = await worker(config());
    statuses(w, "alice", 1);
    statuses(w, "bob", 1);
    w.vm.advanceTime(100);
    // The service counted 3 for alice (2 from other Envoys) and bob over the limit.
    w.vm.respondGrpc(reports(w)[0]!.token, encodeResponse("OVER_LIMIT", [ok(2), over()]));
    expect(statuses(w, "alice", 3)).toEqual([200, 200, 429]);
    expect(send(w, "bob").status).toBe(429);
    // The next report carries only the hits admitted since (alice's 2).
    w.vm.advanceTime(100);
    expect(decodeRequest(reports(w)[0]!.message).descriptorHits).toEqual([2]);
  });

  it("starts each window from zero, as the service's fixed windows do", async () => {
    const w = await worker(config());
    statuses(w, "alice", 1);
    w.vm.advanceTime(100);
    w.vm.respondGrpc(reports(w)[0]!.token, encodeResponse("OVER_LIMIT", [over()]));
    expect(send(w, "alice").status).toBe(429);
    w.vm.advanceTime(850); // T0 + 950ms: the same window
    expect(send(w, "alice").status).toBe(429);
    w.vm.advanceTime(50); // T0 + 1s: the next window
    expect(statuses(w, "alice", 5)).toEqual([200, 200, 200, 200, 200]);
  });

  it("a failed report puts its hits back: the next report carries them, and nothing else changes", async () => {
    const w = await worker(config());
    statuses(w, "alice", 3);
    w.vm.advanceTime(100);
    w.vm.failGrpc(reports(w)[0]!.token, UNAVAILABLE);
    expect(metric(w, "per_user.sync_failures_total")).toBe(1);
    expect(metric(w, "global.errors_total")).toBe(1);
    // Still decided here, from the same count: 2 more.
    expect(statuses(w, "alice", 3)).toEqual([200, 200, 429]);
    w.vm.advanceTime(100);
    expect(decodeRequest(reports(w)[0]!.message).descriptorHits).toEqual([5]);
    expect(w.vm.logs.some((l) => l.level === LogLevel.Warn && /failed.*gRPC status 14/.test(l.message))).toBe(true);
  });

  it("keeps one report in flight: a tick while one is pending sends nothing, and the hits go in the next", async () => {
    const w = await worker(config());
    statuses(w, "alice", 1);
    w.vm.advanceTime(100);
    expect(reports(w)).toHaveLength(1);
    statuses(w, "alice", 1);
    w.vm.advanceTime(200);
    expect(reports(w)).toHaveLength(1);
    expect(metric(w, "global.pending")).toBe(1);
    w.vm.respondGrpc(reports(w)[0]!.token, encodeResponse("OK", [ok(4)]));
    expect(metric(w, "global.pending")).toBe(0);
    w.vm.advanceTime(100);
    expect(decodeRequest(reports(w)[0]!.message).descriptorHits).toEqual([1]);
  });

  it("two workers of one Envoy share one count", async () => {
    const shared = new SharedData();
    const a = await worker(config(), shared);
    const b = await worker(config(), shared);
    expect(statuses(a, "alice", 3)).toEqual([200, 200, 200]);
    expect(statuses(b, "alice", 3)).toEqual([200, 200, 429]);
    // Whichever worker reports first takes all 5 hits; the other then has nothing to report.
    a.vm.advanceTime(100);
    b.vm.advanceTime(100);
    expect(reports(a).map((c) => decodeRequest(c.message).descriptorHits)).toEqual([[5]]);
    expect(reports(b)).toEqual([]);
  });

  it("on_failure: deny refuses with rate_limit_unavailable once reports have failed for more than 3 syncs, and recovers with the next good report", async () => {
    const w = await worker(config([synced({ on_failure: "deny" })]));
    const failReport = () => {
      send(w, "alice");
      w.vm.advanceTime(100);
      w.vm.failGrpc(reports(w)[0]!.token, UNAVAILABLE);
    };
    failReport(); // failing since T0 + 100ms
    failReport();
    failReport();
    expect(send(w, "alice").status).toBe(200); // 300ms after T0: failing for 200ms
    w.vm.advanceTime(101); // reports failing for 301ms
    w.vm.failGrpc(reports(w)[0]!.token, UNAVAILABLE);
    const r = send(w, "alice");
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ error: "rate_limit_unavailable", rule: "per_user" });
    expect(r.header("retry-after")).toBe("1");
    expect(metric(w, "per_user.failure_denied_total")).toBe(1);
    // Into the next window with reports still failing: the old window's hits are dropped, and the
    // refusing worker has none to report: it checks the service with a descriptor that counts nothing.
    for (let tick = 0; tick < 7; tick++) {
      w.vm.advanceTime(100); // T0 + 1101 ms after the loop
      for (const c of reports(w)) w.vm.failGrpc(c.token, UNAVAILABLE);
    }
    expect(send(w, "alice").status).toBe(429);
    w.vm.advanceTime(100);
    expect(decodeRequest(reports(w)[0]!.message).descriptorHits).toEqual([0]);
    w.vm.respondGrpc(reports(w)[0]!.token, encodeResponse("OK", [ok(5)]));
    // The service is back: decided from the count again, this window's 5.
    expect(statuses(w, "alice", 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it("a key that finds no slot (max_keys) is asked per request, exactly as a rule without sync", async () => {
    const w = await worker(config([synced()], { max_keys: 1 }));
    expect(send(w, "alice").calls).toEqual([]);
    const r = send(w, "bob", () => encodeResponse("OVER_LIMIT", [over()]));
    expect(r.calls).toHaveLength(1);
    expect(decodeRequest(r.calls[0]!.message).descriptorHits).toEqual([null]);
    expect(r.status).toBe(429);
  });

  it("tracks at most 256 keys between reports: a new key beyond them is asked per request, and is tracked again after a report", async () => {
    const w = await worker(config());
    for (let i = 0; i < 256; i++) expect(send(w, `user-${i}`).calls).toEqual([]);
    const r = send(w, "user-256", () => encodeResponse("OK", [ok(4)]));
    expect(r.status).toBe(200);
    expect(r.calls).toHaveLength(1);
    w.vm.advanceTime(100);
    expect(decodeRequest(reports(w)[0]!.message).descriptors).toHaveLength(256);
    w.vm.respondGrpc(
      reports(w)[0]!.token,
      encodeResponse(
        "OK",
        Array.from({ length: 256 }, () => ok(4)),
      ),
    );
    // The next report finds nothing left to take and forgets those keys.
    w.vm.advanceTime(100);
    expect(reports(w)).toEqual([]);
    expect(send(w, "user-256").calls).toEqual([]);
  });

  it("keeps linear memory flat over 30,000 requests on 1,000 keys across windows, reports answered and failed, with no call left behind", async () => {
    const w = await worker(config([synced({ requests: 20 })]));
    let report = 0;
    const round = (i: number) => {
      // Keys beyond the 256 a worker tracks are asked per request (answered here).
      send(w, `user-${i % 1000}`, () => encodeResponse("OK", [ok(3, 20)]));
      w.vm.advanceTime(7); // a report every ~14 requests, a new window every ~140
      for (const c of reports(w)) {
        const n = decodeRequest(c.message).descriptors.length;
        if (report++ % 3 === 2) w.vm.failGrpc(c.token, UNAVAILABLE);
        else
          w.vm.respondGrpc(
            c.token,
            encodeResponse(
              "OK",
              Array.from({ length: n }, () => ok(3, 20)),
            ),
          );
      }
    };
    for (let i = 0; i < 10_000; i++) round(i);
    const warm = w.vm.memoryBytes();
    for (let i = 10_000; i < 30_000; i++) round(i);
    expect(w.vm.memoryBytes()).toBe(warm);
    expect(reports(w)).toEqual([]);
    expect(metric(w, "global.pending")).toBe(0);
    expect(metric(w, "per_user.sync_reports_total")).toBeGreaterThan(1000);
    expect(metric(w, "per_user.sync_failures_total")).toBeGreaterThan(300);
  });

  it("dry run counts what would be refused and refuses nothing", async () => {
    const w = await worker(config([synced()], { dry_run: true }));
    expect(statuses(w, "alice", 7)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(metric(w, "per_user.limited_total")).toBe(2);
  });
});

describe("rate-limit sync: configuration errors name the field", () => {
  async function refused(rules: Json[], global: Json | null = { cluster: "ratelimit" }): Promise<string> {
    const vm = await ProxyWasmVm.load(module, { startTime: T0, vmId: "rate_limit", clusters: ["ratelimit"] });
    const cfg: Json = { rules };
    if (global) cfg.global = global;
    const p = vm.configurePlugin({ config: JSON.stringify(cfg), rootId: "rate-limit", name: "rate_limit" });
    expect(p.ok).toBe(false);
    return vm.logs.map((l) => l.message).join("\n");
  }

  it("sync on a local rule", async () => {
    const log = await refused([{ name: "a", requests: 1, period: "1s", sync: "100ms" }], null);
    expect(log).toMatch(/rules\[0\]\.sync: applies to global rules only/);
  });

  it("sync outside 20ms..10s", async () => {
    expect(await refused([synced({ sync: "5ms" })])).toMatch(/rules\[0\]\.sync: must be between 20ms and 10s/);
    expect(await refused([synced({ sync: "11s" })])).toMatch(/rules\[0\]\.sync: must be between 20ms and 10s/);
  });
});
