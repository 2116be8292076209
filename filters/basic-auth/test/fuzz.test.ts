// Fuzzing basic-auth in the emulator (test/support/filter-fuzz.ts): its config parser with
// mutations of valid configs, and its request path with random headers and bytes and
// Authorization values built from known and random users and passwords (so that some verify and
// reach the cache, the budget and the identity headers). Bounded: NUM_RUNS per property keeps
// this file within ~20 s on a shared 2-core machine (docs/fuzzing-filters.md). Hashes are bcrypt
// at cost 4 (a mutated config keeps its hashes' cost, and a cost-10 check per case would be most
// of the case budget), plus {SHA}.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import bcryptjs from "bcryptjs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { fuzzConfigParser, fuzzRequestPath, fuzzRuns, hostileString, requests } from "../../../test/support/filter-fuzz.js";
import { exampleFilterConfig } from "../../../test/support/examples.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const NUM_RUNS = { config: fuzzRuns(1000), request: fuzzRuns(1500) };

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("basic-auth")));
}, 180_000); // builtFilter rebuilds a stale module

const USERS: [string, string][] = [
  ["alice", "alice-secret"],
  ["bob", "b:o:b"],
  ["carol", "carol-sha"],
];
const BCRYPT = new Map(USERS.map(([u, pw]) => [u, bcryptjs.hashSync(pw, 4)]));
const shaHash = (pw: string) => `{SHA}${createHash("sha1").update(pw).digest("base64")}`;

/** Every field the README documents. */
function richConfig(): object {
  return {
    stat_prefix: "fuzz",
    realm: "fuzz realm",
    consumers: [
      { name: "alice", groups: ["gold", "beta"], metadata: { tier: "gold" }, basic: [{ username: "alice", hash: BCRYPT.get("alice") }] },
      { name: "bob", basic: [{ username: "bob", hash: BCRYPT.get("bob") }], keys: [{ id: "k", sha256: "0".repeat(64) }] },
      { name: "carol", basic: [{ username: "carol", hash: shaHash("carol-sha") }], jwt: [{ issuer: "i", subject: "s" }] },
      { name: "guest", groups: ["free"] },
    ],
    anonymous: "guest",
    upstream_headers: true,
    hide_credentials: true,
    cache_ttl: "1m",
    cache_size: 4,
    max_verifications_per_second: 5,
  };
}

/** The shipped example with cost-4 hashes of the same passwords (see the file comment). */
function exampleConfig(): object {
  const c = exampleFilterConfig("basic-auth.yaml", "basic-auth") as { consumers: { basic?: { username: string; hash: string }[] }[] };
  for (const consumer of c.consumers) for (const b of consumer.basic ?? []) b.hash = bcryptjs.hashSync(`${b.username}-secret`, 4);
  return c;
}

const password = fc.oneof(
  fc.constantFrom(...USERS.map(([, pw]) => pw), "", "wrong", "alice-secret "),
  hostileString,
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString("latin1")),
);
const user = fc.oneof(fc.constantFrom("alice", "bob", "carol", "guest", "Alice", "", "alice "), hostileString);
const credentials = fc.oneof(
  fc.tuple(user, password).map(([u, p]) => `${u}:${p}`),
  fc.constantFrom(...USERS.map(([u, pw]) => `${u}:${pw}`)),
  fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString("latin1")),
);
const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");
const authorizationValues = fc.oneof(
  credentials.map((c) => `Basic ${b64(c)}`),
  credentials.map((c) => `bAsIc   ${b64(c).replace(/=+$/, "")}`),
  credentials.map((c) => `Basic${b64(c)}`),
  credentials.map((c) => `Basic ${b64(c)},Basic ${b64(c)}`),
  fc.string({ maxLength: 40 }).map((s) => `Basic ${s}`),
  fc.integer({ min: 3_000, max: 20_000 }).map((n) => `Basic ${"QUFB".repeat(n / 4)}`),
  fc.constantFrom("Basic", "Basic ", "Bearer a.b.c", "Digest x", "basic", "Basic ===="),
);

const SPACE = {
  names: ["authorization", "x-consumer-name", "x_consumer_name", "x-consumer-groups", "x-credential-identifier", "host"],
  values: authorizationValues,
};

describe("basic-auth fuzzing (bounded)", () => {
  it(
    "config parser: every mutation of a valid config is accepted or refused naming the field, never a trap",
    () => {
      expect(fuzzConfigParser(module, "basic-auth", [exampleConfig(), richConfig()], SPACE, NUM_RUNS.config)).toBeGreaterThanOrEqual(
        NUM_RUNS.config,
      );
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE

  it(
    "request path: random headers, bytes and Authorization values end upstream or in a 4xx, never a trap",
    () => {
      const cases = fc.tuple(requests(SPACE), fc.option(authorizationValues, { freq: 2 })).map(([r, value]) => {
        if (value !== null) r.headers.unshift(["authorization", value]);
        return r;
      });
      expect(
        fuzzRequestPath(module, "basic-auth", richConfig(), cases, "basic-auth request path", NUM_RUNS.request),
      ).toBeGreaterThanOrEqual(NUM_RUNS.request);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE
});
