// Fuzzing rate-limit in the emulator (test/support/filter-fuzz.ts): its config parser with
// mutations of valid configs, and its request path with random headers and bytes (client
// addresses, X-Forwarded-For lists, key headers, huge values that become bucket keys, consumer
// identities in filter state). Bounded:
// NUM_RUNS per property keeps this file within ~20 s on a shared 2-core machine
// (docs/fuzzing-filters.md); each property prints how many cases it tried.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { exampleFilterConfig } from "../../../test/support/examples.js";
import { fuzzConfigParser, fuzzRequestPath, fuzzRuns, requests } from "../../../test/support/filter-fuzz.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const NUM_RUNS = { config: fuzzRuns(1000), request: fuzzRuns(1500) };

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("rate-limit")));
}, 180_000); // builtFilter rebuilds a stale module

/** Every field the README documents; small buckets so that requests are also refused. */
const richConfig = {
  stat_prefix: "fuzz",
  trusted_hops: 2,
  dry_run: false,
  rate_limit_headers: true,
  max_keys: 64,
  rules: [
    {
      name: "per_client",
      match: { path: { prefix: "/" } },
      requests: 3,
      period: "10s",
      burst: 3,
      key: [{ client_ip: true }, { header: "x-api-key" }],
    },
    {
      name: "tenants",
      match: {
        path: { regex: "/api/v[0-9]+/.*" },
        methods: ["POST", "DELETE"],
        headers: [{ name: "x-tenant", present: true }],
        query: [{ name: "export", exact: "csv" }],
        routes: ["orders"],
      },
      requests: 1,
      period_s: 60,
      key: [{ header: "x-tenant" }, { route: true }, { fixed: "t" }],
    },
    {
      name: "gold",
      match: { consumer_groups: ["gold", "beta"] },
      requests: 2,
      period: "1m",
      key: [{ consumer: true }],
    },
    { name: "named", match: { consumers: ["alice", "guest"] }, requests: 1, period: "1m", key: [{ consumer: true }, { client_ip: true }] },
    { name: "global", requests: 1000, period: "1m30s" },
  ],
};

const values = fc.oneof(
  fc.constantFrom("1.2.3.4", "1.2.3.4, 10.0.0.1", "::1, 2001:db8::1,10.0.0.2", ",,,", " , ", "300.1.1.1", "[::1]:80", "unknown, 1.1.1.1"),
  fc.array(fc.constantFrom("1.2.3.4", "::1", "", " ", "x", "10.0.0.1", "fe80::1%eth0"), { maxLength: 40 }).map((a) => a.join(",")),
  fc.constantFrom("acme", "key-1", "", "csv"),
);

const SPACE = { names: ["x-forwarded-for", "x-api-key", "x-tenant", "x-real-ip", "forwarded"], values };

describe("rate-limit fuzzing (bounded)", () => {
  it(
    "config parser: every mutation of a valid config is accepted or refused naming the field, never a trap",
    () => {
      const examples = [exampleFilterConfig("rate-limit.yaml", "rate-limit"), richConfig];
      expect(fuzzConfigParser(module, "rate-limit", examples, SPACE, NUM_RUNS.config)).toBeGreaterThanOrEqual(NUM_RUNS.config);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE

  it(
    "request path: random headers, bytes and client addresses end upstream or in a 429, never a trap",
    () => {
      expect(
        fuzzRequestPath(module, "rate-limit", richConfig, requests(SPACE), "rate-limit request path", NUM_RUNS.request),
      ).toBeGreaterThanOrEqual(NUM_RUNS.request);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE
});
