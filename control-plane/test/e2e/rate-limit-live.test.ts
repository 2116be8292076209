// rate-limit behaviour the filter's unit tests prove on the emulator (filters/rate-limit/test:
// "a config change: ..." and "max_keys: ..."), in a real Envoy configured by the control plane:
// shared data outlives a config update (the control plane keeps vm_id fixed), a changed limit
// gives every key, and the overflow bucket, a fresh bucket of the new limit, an edit that keeps
// the limit keeps the buckets, and with max_keys 1 a second active key shares the overflow bucket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, request, useEchoUpstream, useEnvoy, type Envoy } from "../../../test/support/index.js";
import { joinEnvoy, nextOutcome, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
let gw: TestGateway;
let e: Envoy;
let port: number;
let upstreamPort: number;

function config(o: { burst: number; headers?: boolean }): string {
  return `
listeners:
  - { name: public, address: 127.0.0.1, port: ${port} }
routes:
  - { name: all, match: { path: { prefix: / } }, upstream: echo, plugins: [limit] }
upstreams:
  - { name: echo, endpoints: ["127.0.0.1:${upstreamPort}"] }
plugins:
  - name: limit
    filter: rate-limit
    config:
      max_keys: 1
      rate_limit_headers: ${o.headers ?? false}
      rules:
        - { name: edited, match: {}, requests: 1, period_s: 3600, burst: ${o.burst}, key: [{ header: x-user }] }
`;
}

/** Statuses of `n` requests as user `who`, one after another, each on a new connection (both workers). */
async function statuses(who: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(`http://127.0.0.1:${port}/x`, { headers: { "x-user": who } })).status);
  return out;
}
async function save(yaml: string): Promise<void> {
  const before = gw.cp.source.last;
  gw.write(yaml);
  expect(await nextOutcome(gw.cp, before)).toMatchObject({ ok: true });
  await waitSynced(gw.cp, "rl-live");
}

beforeAll(async () => {
  upstreamPort = (await echo({ record: false })).port;
  port = await freePort();
  gw = await startTestGateway({ yaml: config({ burst: 2 }) });
  e = await joinEnvoy(gw.cp, "rl-live", {}, envoys);
  await waitSynced(gw.cp, "rl-live");
}, 90_000);
afterAll(async () => {
  await gw?.stop();
});

describe("rate-limit in Envoy, as on the emulator", () => {
  it("max_keys overflow, then config edits: a new limit starts every bucket afresh, the same limit keeps them", async () => {
    // max_keys 1: A takes the slot, B (A still active) is counted in the overflow bucket, C too.
    expect(await statuses("a", 3), "A: its own bucket, burst 2").toEqual([200, 200, 429]);
    expect(await statuses("b", 3), "B: the overflow bucket, burst 2").toEqual([200, 200, 429]);
    expect(await statuses("c", 1), "C: the overflow bucket, now empty").toEqual([429]);
    // A new limit (burst 3): A's bucket and the overflow bucket start full under it.
    await save(config({ burst: 3 }));
    expect(await statuses("a", 4), "A after the edit").toEqual([200, 200, 200, 429]);
    expect(await statuses("b", 4), "B after the edit: a fresh overflow bucket").toEqual([200, 200, 200, 429]);
    expect(await statuses("c", 1)).toEqual([429]);
    // Same requests, period_s and burst (only rate_limit_headers changes): the buckets stay drained.
    await save(config({ burst: 3, headers: true }));
    expect(await statuses("a", 1), "A: same limit, still drained").toEqual([429]);
    expect(await statuses("b", 1), "B: same limit, overflow still drained").toEqual([429]);
    // Envoy's own count of the same decisions, over both workers and all three configs.
    const s = await e.stats("portico\\.rate_limit\\.edited\\.");
    expect([
      s.get("wasmcustom.portico.rate_limit.edited.allowed_total"),
      s.get("wasmcustom.portico.rate_limit.edited.limited_total"),
    ]).toEqual([10, 8]);
  });
});
