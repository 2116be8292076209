// Fuzzing key-auth in the emulator (test/support/filter-fuzz.ts): its config parser with
// mutations of valid configs (consumers, keys, digests, sources), and its request path with random
// headers, paths and bytes (keys in headers, query strings with stray %, & and =, Cookie headers
// with quotes and empty parts, keys past the 1 KiB bound, spoofed identity headers). Every request
// must end upstream or in a 401, never a trap. Bounded: NUM_RUNS per property keeps this file
// within ~20 s on a shared 2-core machine (docs/fuzzing-filters.md).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { exampleFilterConfig } from "../../../test/support/examples.js";
import { fuzzConfigParser, fuzzRequestPath, fuzzRuns, requests } from "../../../test/support/filter-fuzz.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const NUM_RUNS = { config: fuzzRuns(1000), request: fuzzRuns(1500) };

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("key-auth")));
}, 180_000); // builtFilter rebuilds a stale module

const sha256 = (k: string) => createHash("sha256").update(k).digest("hex");
const GOOD = ["fuzz-key-alice", "fuzz-key-bob", "k+y/=&%"];

/** Every field the README documents, and all three source kinds. */
const richConfig = {
  stat_prefix: "fuzz",
  key_sources: [{ header: "x-api-key" }, { header: "authorization" }, { query: "api_key" }, { cookie: "api_key" }],
  consumers: [
    { name: "alice", groups: ["gold", "beta"], keys: [{ id: "a1", sha256: sha256(GOOD[0]!) }], metadata: { tier: "gold" } },
    {
      name: "bob",
      keys: [
        { id: "b1", sha256: sha256(GOOD[1]!) },
        { id: "b2", sha256: sha256(GOOD[2]!) },
      ],
      basic: [],
      jwt: [],
    },
    { name: "guest", groups: ["free"] },
  ],
  anonymous: "guest",
  upstream_headers: true,
  hide_credentials: true,
  realm: "fuzz",
  per_consumer_metrics: true,
};

const keys = fc.oneof(
  fc.constantFrom(...GOOD, `Bearer ${GOOD[0]}`, "Bearer ", "", " ", '"', '""', `"${GOOD[1]}"`, "k".repeat(1025), "k".repeat(1024)),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 1000, max: 70_000 }).map((n) => "x".repeat(n)),
);
const cookies = fc
  .tuple(
    fc.array(
      fc.oneof(
        keys.map((k) => `api_key=${k}`),
        fc.constantFrom("a=1", "=", ";", " ", "api_key", "api_key2=x", '=""', "  api_key="),
      ),
      {
        maxLength: 6,
      },
    ),
    fc.constantFrom(";", "; ", " ;"),
  )
  .map(([parts, separator]) => parts.join(separator));
const values = fc.oneof(keys, cookies, fc.constantFrom("admin", "key:admin"));
const paths = fc
  .array(
    fc.oneof(
      keys.map((k) => `api_key=${encodeURIComponent(k)}`),
      keys.map((k) => `api_key=${k}`),
      fc.constantFrom("%", "%4", "%zz", "api%5Fkey=fuzz-key-alice", "&", "=", "a=1", "api_key"),
    ),
    {
      maxLength: 6,
    },
  )
  .map((parts) => `/p?${parts.join("&")}`);

const SPACE = {
  names: ["x-api-key", "authorization", "cookie", "x-consumer-name", "X_Consumer_Name", "x-consumer-groups", "x-credential-identifier"],
  values,
  paths,
};

describe("key-auth fuzzing (bounded)", () => {
  it(
    "config parser: every mutation of a valid config is accepted or refused naming the field, never a trap",
    () => {
      const examples = [exampleFilterConfig("key-auth.yaml", "key-auth"), richConfig];
      expect(fuzzConfigParser(module, "key-auth", examples, SPACE, NUM_RUNS.config)).toBeGreaterThanOrEqual(NUM_RUNS.config);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE

  it(
    "request path: random keys, query strings, cookies and identity headers end upstream or in a 401, never a trap",
    () => {
      expect(
        fuzzRequestPath(module, "key-auth", richConfig, requests(SPACE), "key-auth request path", NUM_RUNS.request),
      ).toBeGreaterThanOrEqual(NUM_RUNS.request);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE
});
