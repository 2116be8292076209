// Fuzzing header-rewrite in the emulator (test/support/filter-fuzz.ts): its config parser with
// mutations of valid configs (templates, regexes, header names are small languages of their
// own), and its request and response paths with random headers and bytes (template variables
// fed with huge and non-UTF-8 values, missing pseudo-headers for rewrite_path). Bounded:
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
  module = await WebAssembly.compile(readFileSync(builtFilter("header-rewrite")));
}, 180_000); // builtFilter rebuilds a stale module

/** Every field the README documents. */
const richConfig = {
  stat_prefix: "fuzz",
  rules: [
    {
      name: "legacy-api",
      match: {
        path: { prefix: "/api/" },
        methods: ["GET", "HEAD", "POST"],
        headers: [
          { name: "x-env", exact: "prod", invert: true },
          { name: "x-skip", present: false },
          { name: "x-tenant", regex: "acme-[0-9]+", invert: true },
        ],
        query: [{ name: "debug", present: false }],
      },
      keep_empty_value: true,
      request: {
        remove: ["x-internal"],
        rename: { "x-api-key": "x-legacy-key" },
        set: { "x-client-ip": "${source.ip}", "x-path": "${request.path}", "x-copy": "${request.header.x-tenant}/${request.header.x-env}" },
        set_if_absent: { "x-request-source": "gateway" },
        add: { "x-tag": ["a", "${request.method}"] },
        rewrite_path: { prefix: "/v2/" },
      },
      response: {
        remove: ["x-envoy-upstream-service-time"],
        set: {
          "x-served-by": "portico",
          "x-trace": "${request.header.x-request-id}",
          "x-route": "${route.name}",
          "x-for": "${consumer.name}",
        },
      },
    },
    {
      name: "template-path",
      match: { path: { glob: "/t/**" }, routes: ["orders"], consumer_groups: ["gold"] },
      request: {
        rewrite_path: { template: "/internal${request.path}?h=${request.header.x-env}" },
        set: { ":authority": "backend.internal" },
      },
    },
    {
      name: "identity",
      match: { consumers: ["alice", "bob"] },
      request: { set: { "x-user": "${consumer.name}", "x-groups": "${consumer.groups}", "x-cred": "c=${consumer.credential}" } },
    },
  ],
};

const values = fc.oneof(
  fc.constantFrom("prod", "acme-1", "acme-x", "${request.path}", "$", "}", "%2F", "/", "a\r\nb", "\0"),
  fc.string({ unit: fc.constantFrom("$", "{", "}", "%", "/", "?", "&", "=", "a"), maxLength: 30 }),
);

const SPACE = {
  names: ["x-internal", "x-api-key", "x-tenant", "x-env", "x-skip", "x-request-id", "x-legacy-key", "x-envoy-upstream-service-time"],
  values,
  paths: fc.constantFrom("/api/x", "/api/x?debug", "/t/a/b?c=d", "/api/", "/t/"),
};

describe("header-rewrite fuzzing (bounded)", () => {
  it(
    "config parser: every mutation of a valid config is accepted or refused naming the field, never a trap",
    () => {
      const examples = [exampleFilterConfig("header-rewrite.yaml", "header-rewrite"), richConfig];
      expect(fuzzConfigParser(module, "header-rewrite", examples, SPACE, NUM_RUNS.config)).toBeGreaterThanOrEqual(NUM_RUNS.config);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE

  it(
    "request and response paths: random headers and bytes are rewritten or passed on, never a trap",
    () => {
      expect(
        fuzzRequestPath(
          module,
          "header-rewrite",
          richConfig,
          requests(SPACE),
          "header-rewrite request and response paths",
          NUM_RUNS.request,
        ),
      ).toBeGreaterThanOrEqual(NUM_RUNS.request);
    },
    fuzzRuns(60_000),
  ); // scales with FUZZ_SCALE
});
