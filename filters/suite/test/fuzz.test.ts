// Fuzzing the suite in the emulator (test/support/filter-fuzz.ts): its config parser with
// mutations of a valid config of four members (a mutation lands in the plugins list or in a
// member's own config: either is refused naming the field, as plugins[i].config.<field> for a
// member's), and the request and response paths with random headers and bytes through the four
// members. A trap, a request left paused or a 5xx fails. Bounded (docs/fuzzing-filters.md).
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { fuzzConfigParser, fuzzRequestPath, fuzzRuns, requests } from "../../../test/support/filter-fuzz.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const NUM_RUNS = { config: fuzzRuns(500), request: fuzzRuns(1000) };

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("suite")));
}, 300_000); // builtFilter rebuilds a stale module

const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "fuzz", alg: "RS256", use: "sig" };
const ALICE_KEY = "alice-secret-key";

/** key-auth (anonymous allowed) -> jwt-auth (only /secure/ needs a token) -> rate-limit -> header-rewrite. */
const richConfig = {
  plugins: [
    {
      filter: "key-auth",
      config: {
        stat_prefix: "fuzz",
        consumers: [
          { name: "alice", groups: ["gold"], keys: [{ id: "alice-laptop", sha256: createHash("sha256").update(ALICE_KEY).digest("hex") }] },
          { name: "guest" },
        ],
        anonymous: "guest",
      },
    },
    {
      filter: "jwt-auth",
      config: {
        stat_prefix: "fuzz",
        providers: [
          { name: "idp", issuer: "https://idp.fuzz", jwks: { keys: [jwk] }, claims_to_headers: [{ claim: "sub", header: "x-user" }] },
        ],
        rules: [{ match: { path: { prefix: "/secure/" } }, requires: ["idp"] }, { requires: [] }],
      },
    },
    {
      filter: "rate-limit",
      config: {
        stat_prefix: "fuzz",
        rate_limit_headers: true,
        rules: [{ name: "per_consumer", requests: 1000, period: "1s", key: [{ consumer: true }] }],
      },
    },
    {
      filter: "header-rewrite",
      config: {
        stat_prefix: "fuzz",
        rules: [
          {
            name: "every",
            request: { set: { "x-who": "${consumer.name}", "x-path": "${request.path}" }, remove: ["x-internal"] },
            response: { set: { "x-served-by": "portico" } },
          },
        ],
      },
    },
  ],
};

const SPACE = {
  names: ["x-api-key", "authorization", "x-user", "x-internal", "x-consumer-name", "x-who"],
  values: fc.constantFrom(ALICE_KEY, "wrong", "Bearer a.b.c", "Bearer ", "", "${request.path}", "\0"),
  paths: fc.constantFrom("/secure/x", "/open", "/secure/", "/?api_key=x"),
};

describe("suite fuzzing (bounded)", () => {
  it(
    "config parser: every mutation of a valid config is accepted or refused naming the field, never a trap",
    () => {
      expect(fuzzConfigParser(module, "suite", [richConfig], SPACE, NUM_RUNS.config)).toBeGreaterThanOrEqual(NUM_RUNS.config);
    },
    fuzzRuns(120_000),
  ); // scales with FUZZ_SCALE

  it(
    "request and response paths: random headers and bytes through four members are answered or passed on, never a trap",
    () => {
      expect(
        fuzzRequestPath(module, "suite", richConfig, requests(SPACE), "suite request and response paths", NUM_RUNS.request),
      ).toBeGreaterThanOrEqual(NUM_RUNS.request);
    },
    fuzzRuns(120_000),
  ); // scales with FUZZ_SCALE
});
