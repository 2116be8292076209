// rate-limit and the caller's identity (docs/consumers.md): `key: [{ consumer: true }]` buckets per
// consumer and falls back to the client address for a caller no auth filter identified;
// `match: { consumers, consumer_groups }` gives consumers and groups their own rules (a gold
// group's bucket and limit differ from a free group's). The identity is what an auth filter
// earlier in the chain left in the stream's filter state; here the test puts it there, as
// Envoy's filter state would hold it (test/unit/identity-chain.test.ts runs a real jwt-auth in front).
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type Plugin, type Properties } from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("rate-limit")));
}, 180_000);

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
type Json = Record<string, unknown>;

async function limiter(config: Json, o: { countHostCalls?: boolean } = {}): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const vm = await ProxyWasmVm.load(module, { startTime: T0, vmId: "rate_limit", countHostCalls: o.countHostCalls });
  const p = vm.configurePlugin({ config: JSON.stringify(config), rootId: "rate-limit", name: "rate_limit" });
  const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(p.ok, `configuration refused: ${errors.join("\n")}`).toBe(true);
  return { vm, p };
}

interface Caller {
  /** The consumer an auth filter identified (absent: unidentified). */
  consumer?: string;
  groups?: string[];
  /** The connection peer, "ip:port". */
  peer?: string;
}

/** Filter state as an auth filter writes it (assembly/runtime/consumer.ts). */
function identity(c: Caller): Properties {
  const props: Properties = { "source.address": c.peer ?? "203.0.113.7:5000" };
  if (c.consumer !== undefined) {
    props.portico_consumer = c.consumer;
    const g = c.groups ?? [];
    props.portico_consumer_groups = `,${g.join(",")}${g.length ? "," : ""}`;
    props.portico_credential = `key:${c.consumer}-key`;
  }
  return props;
}

function send(p: Plugin, c: Caller = {}): { status: number; rule: string | undefined } {
  const s = runHttpRequest(p, {
    requestHeaders: [
      [":method", "GET"],
      [":path", "/api"],
      [":authority", "api.example.test"],
    ],
    properties: identity(c),
    responseHeaders: [[":status", "200"]],
  });
  const body = s.localResponse?.body;
  return { status: Number(s.responseHeader(":status")), rule: body ? (JSON.parse(body) as { rule: string }).rule : undefined };
}

/** How many of `c`'s requests pass before the first 429 (at most `max`). */
function admitted(p: Plugin, c: Caller, max = 50): number {
  for (let i = 0; i < max; i++) if (send(p, c).status !== 200) return i;
  return max;
}

const perConsumer = (extra: Json = {}) => ({ name: "per_consumer", requests: 3, period: "1m", key: [{ consumer: true }], ...extra });

describe("key part { consumer: true }", () => {
  it("gives each consumer its own bucket, whatever address it calls from", async () => {
    const { p } = await limiter({ rules: [perConsumer()] });
    // alice from two addresses shares one bucket; bob from alice's address has his own.
    expect([send(p, { consumer: "alice", peer: "10.0.0.1:1" }).status, send(p, { consumer: "alice", peer: "10.0.0.2:1" }).status]).toEqual([
      200, 200,
    ]);
    expect(send(p, { consumer: "alice", peer: "10.0.0.3:1" }).status).toBe(200);
    expect(send(p, { consumer: "alice", peer: "10.0.0.4:1" }).status).toBe(429);
    expect(admitted(p, { consumer: "bob", peer: "10.0.0.1:1" })).toBe(3);
  });

  it("keys an unidentified caller by its client address: one bucket per address", async () => {
    const { p } = await limiter({ rules: [perConsumer()] });
    expect(admitted(p, { peer: "198.51.100.1:1" })).toBe(3);
    expect(admitted(p, { peer: "198.51.100.2:1" })).toBe(3);
    // A consumer calling from an exhausted address is not affected by it.
    expect(send(p, { consumer: "carol", peer: "198.51.100.1:1" }).status).toBe(200);
  });

  it("never shares a bucket between a consumer and an address, even when the names look alike", async () => {
    const { p } = await limiter({ rules: [perConsumer({ requests: 1 })] });
    // "10" as a consumer name and a peer whose address would give the same plain text.
    expect(send(p, { peer: "10:1" }).status).toBe(200);
    expect(send(p, { consumer: "10", peer: "192.0.2.9:1" }).status).toBe(200);
    expect(send(p, { peer: "10:1" }).status).toBe(429);
    expect(send(p, { consumer: "10", peer: "192.0.2.9:1" }).status).toBe(429);
  });

  it("honours trusted_hops for the fallback address, as client_ip does", async () => {
    const { p } = await limiter({ trusted_hops: 1, rules: [perConsumer({ requests: 1 })] });
    const viaXff = (xff: string) =>
      runHttpRequest(p, {
        requestHeaders: [
          [":method", "GET"],
          [":path", "/api"],
          [":authority", "a"],
          ["x-forwarded-for", xff],
        ],
        properties: identity({ peer: "10.0.0.1:1" }),
        responseHeaders: [[":status", "200"]],
      }).responseHeader(":status");
    expect(viaXff("198.51.100.7")).toBe("200");
    expect(viaXff("198.51.100.8")).toBe("200");
    expect(viaXff("198.51.100.7")).toBe("429");
  });

  it("combines with other parts (consumer and route)", async () => {
    const { p } = await limiter({ rules: [perConsumer({ requests: 1, key: [{ consumer: true }, { fixed: "x" }] })] });
    expect(send(p, { consumer: "alice" }).status).toBe(200);
    expect(send(p, { consumer: "alice" }).status).toBe(429);
    expect(send(p, { consumer: "bob" }).status).toBe(200);
  });
});

describe("rules per consumer group and per consumer", () => {
  const tiers = {
    rules: [
      { name: "gold", match: { consumer_groups: ["gold"] }, requests: 5, period: "1m", key: [{ consumer: true }] },
      { name: "free", match: { consumer_groups: ["free", "trial"] }, requests: 2, period: "1m", key: [{ consumer: true }] },
      { name: "anyone", requests: 1, period: "1m", match: { consumers: ["guest"] } },
    ],
  };

  it("gives a gold group's consumers their own, larger buckets than a free group's", async () => {
    const { p } = await limiter(tiers);
    expect(admitted(p, { consumer: "alice", groups: ["gold", "beta"] })).toBe(5);
    expect(send(p, { consumer: "alice", groups: ["gold", "beta"] }).rule).toBe("gold");
    expect(admitted(p, { consumer: "bob", groups: ["free"] })).toBe(2);
    expect(send(p, { consumer: "bob", groups: ["free"] }).rule).toBe("free");
    // Another gold consumer is untouched by alice's exhausted bucket; a trial consumer matches the free rule.
    expect(admitted(p, { consumer: "dave", groups: ["gold"] })).toBe(5);
    expect(admitted(p, { consumer: "erin", groups: ["trial"] })).toBe(2);
  });

  it("matches a group exactly (golden is not gold), and an unidentified caller is in no group", async () => {
    const { p } = await limiter(tiers);
    expect(admitted(p, { consumer: "frank", groups: ["golden"] })).toBe(50);
    expect(admitted(p, { consumer: "gina", groups: [] })).toBe(50);
    expect(admitted(p, { peer: "198.51.100.3:1" })).toBe(50);
  });

  it("matches consumers by name", async () => {
    const { p } = await limiter(tiers);
    expect(admitted(p, { consumer: "guest" })).toBe(1);
    expect(send(p, { consumer: "guest" }).rule).toBe("anyone");
    expect(admitted(p, { consumer: "guest2" })).toBe(50);
  });

  it("reads the identity from filter state once per request however many rules use it, and not at all when none does", async () => {
    const { vm, p } = await limiter(tiers, { countHostCalls: true });
    vm.hostCalls.clear();
    send(p, { consumer: "alice", groups: ["gold"] });
    // source.address is not read (no rule keys on it); portico_consumer_groups once for two
    // rules, portico_consumer once for two keys and one match.
    expect(vm.hostCalls.get("proxy_get_property")).toBe(2);
    const plain = await limiter({ rules: [{ name: "r", requests: 5, period: "1m" }] }, { countHostCalls: true });
    plain.vm.hostCalls.clear();
    send(plain.p, { consumer: "alice", groups: ["gold"] });
    expect(plain.vm.hostCalls.get("proxy_get_property") ?? 0).toBe(0);
  });
});

describe("configuration", () => {
  const refused = async (config: Json, field: string) => {
    const vm = await ProxyWasmVm.load(module, { startTime: T0 });
    const p = vm.configurePlugin({ config: JSON.stringify(config), rootId: "rate-limit" });
    expect(p.ok).toBe(false);
    expect(vm.logs.map((l) => l.message).join("\n")).toContain(field);
  };

  it("names the field of a bad consumer key part or identity condition", async () => {
    await refused({ rules: [perConsumer({ key: [{ consumer: false }] })] }, "rules[0].key[0].consumer: must be true");
    await refused(
      { rules: [perConsumer({ key: [{ consumer: true, route: true }] })] },
      "rules[0].key[0]: needs exactly one of client_ip, consumer",
    );
    await refused(
      { rules: [perConsumer({ match: { consumer_groups: ["Gold"] } })] },
      'rules[0].match.consumer_groups[0]: invalid group name "Gold"',
    );
    await refused({ rules: [perConsumer({ match: { consumer_groups: [] } })] }, "rules[0].match.consumer_groups: must not be empty");
    await refused({ rules: [perConsumer({ match: { consumers: ["a,b"] } })] }, 'rules[0].match.consumers[0]: invalid consumer name "a,b"');
    await refused({ rules: [perConsumer({ match: { consumers: [7] } })] }, "rules[0].match.consumers[0]: must be a string");
  });
});
