// header-rewrite driven through the proxy-wasm host emulator: configuration accepted or refused
// (with the reason logged through proxy_log), request and response rewriting, route-cache
// clearing, metrics, and plugins sharing one VM.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type HeaderList } from "../../../emulator/index.js";
import { BENCH_HEADERS, BENCH_PATH, HEADER_REWRITE_REALISTIC } from "../../../bench/scenarios.js";
import { builtFilter, exportedCallbacks } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("header-rewrite")));
}, 180_000);

const GET = (path: string, extra: HeaderList = []): HeaderList => [
  [":method", "GET"],
  [":path", path],
  [":authority", "api.example.com"],
  [":scheme", "https"],
  ...extra,
];

async function plugin(config: object | string, headerBytes: "utf8" | "latin1" = "utf8") {
  const vm = await ProxyWasmVm.load(module, { properties: { "source.address": "10.1.2.3:5555", "xds.route_name": "r-main" }, headerBytes });
  const p = vm.configurePlugin({
    config: typeof config === "string" ? config : JSON.stringify(config),
    rootId: "header-rewrite",
    name: "hr",
  });
  return { vm, p };
}

describe("configuration", () => {
  it("accepts a valid configuration and says so at info level", async () => {
    const { vm, p } = await plugin({ rules: [{ request: { set: { "x-a": "1" } } }] });
    expect(p.ok).toBe(true);
    expect(vm.logs).toContainEqual(expect.objectContaining({ level: LogLevel.Info, message: "header-rewrite: configured 1 rule(s)" }));
    expect(vm.stdout).toBe(""); // nothing bypasses proxy_log
  });

  it("refuses an invalid one, logging every problem at error level", async () => {
    const { vm, p } = await plugin({ rules: [{ request: { set: { ":method": "X" }, add: { "x-a": 1 } } }] });
    expect(p.ok).toBe(false);
    const errors = vm.logs.filter((l) => l.level === LogLevel.Error).map((l) => l.message);
    expect(errors).toEqual([
      "header-rewrite: invalid configuration: rules[0].request.set.:method: pseudo-header :method cannot be changed here " +
        "(only `set` of :path or :authority on requests); rules[0].request.add.x-a: must be a string or an array of strings",
    ]);
  });

  it("refuses an empty configuration (rules are required)", async () => {
    const { vm, p } = await plugin("");
    expect(p.ok).toBe(false);
    expect(vm.logs.map((l) => l.message).join("\n")).toContain("rules: is required");
  });
});

describe("rewriting", () => {
  it("applies request and response actions with templates from headers and Envoy attributes", async () => {
    const { p } = await plugin({
      rules: [
        {
          request: {
            set: { "x-client": "${source.ip}", "x-route": "${route.name}", "x-ua": "ua=${request.header.user-agent}" },
            remove: ["x-secret"],
          },
          response: { set: { "x-echo": "${request.header.user-agent} -> ${response.header.content-type}" } },
        },
      ],
    });
    const s = runHttpRequest(p, {
      requestHeaders: GET("/x", [
        ["user-agent", "curl"],
        ["x-secret", "s"],
      ]),
      responseHeaders: [
        [":status", "200"],
        ["content-type", "text/plain"],
      ],
    });
    expect(s.requestHeader("x-client")).toBe("10.1.2.3");
    expect(s.requestHeader("x-route")).toBe("r-main");
    expect(s.requestHeader("x-ua")).toBe("ua=curl");
    expect(s.requestHeader("x-secret")).toBeUndefined();
    expect(s.responseHeader("x-echo")).toBe("curl -> text/plain");
  });

  it("rewrites the path and has Envoy re-route", async () => {
    const { p } = await plugin({ rules: [{ match: { path: { prefix: "/api/" } }, request: { rewrite_path: { prefix: "/v2/" } } }] });
    const s = runHttpRequest(p, { requestHeaders: GET("/api/users?id=1") });
    expect(s.requestHeader(":path")).toBe("/v2/users?id=1");
    // The filter's own clear_route_cache call (routeCacheCleared alone would also be true from
    // the header edit, which Envoy treats as a clear anyway).
    expect(s.clearRouteCacheCalls).toBe(1);
    const untouched = runHttpRequest(p, { requestHeaders: GET("/other") });
    expect(untouched.requestHeader(":path")).toBe("/other");
    expect(untouched.clearRouteCacheCalls).toBe(0);
  });

  it("counts requests, applied rules and errors", async () => {
    const { vm, p } = await plugin({
      stat_prefix: "t",
      rules: [
        { match: { methods: ["POST"] }, request: { set: { "x-post": "1" } } },
        { request: { set: { "x-copy": "${request.header.x-big}" } } },
      ],
    });
    runHttpRequest(p, { requestHeaders: GET("/") });
    runHttpRequest(p, {
      requestHeaders: [
        [":method", "POST"],
        [":path", "/"],
        [":authority", "a"],
        ["x-big", "y".repeat(9000)],
      ],
    });
    expect(vm.metric("portico.header_rewrite.t.requests_total")).toBe(2);
    expect(vm.metric("portico.header_rewrite.t.rules_applied_total")).toBe(1);
    expect(vm.metric("portico.header_rewrite.t.errors_total")).toBe(1);
    expect(vm.metric("portico.header_rewrite.t.vm_memory_bytes")).toBeGreaterThan(0);
  });
});

describe("the shared match object", () => {
  /** Whether a one-rule plugin with this match tags the request. */
  async function selector(match: object) {
    const { p } = await plugin({ rules: [{ match, request: { set: { "x-hit": "1" } } }] });
    expect(p.ok).toBe(true);
    return (path: string, extra: HeaderList = []) => runHttpRequest(p, { requestHeaders: GET(path, extra) }).requestHeader("x-hit") === "1";
  }

  it("matches methods in any case, as routes do, and refuses a method that is not a token", async () => {
    const { p } = await plugin({ rules: [{ match: { methods: ["post", "Get"] }, request: { set: { "x-hit": "1" } } }] });
    const hit = (method: string) =>
      runHttpRequest(p, {
        requestHeaders: [
          [":method", method],
          [":path", "/"],
          [":authority", "a"],
        ],
      }).requestHeader("x-hit") === "1";
    expect([hit("POST"), hit("GET"), hit("PUT")]).toEqual([true, true, false]);
    const bad = await plugin({ rules: [{ match: { methods: ["GET", "BAD METHOD"] }, request: { set: { "x-hit": "1" } } }] });
    expect(bad.p.ok).toBe(false);
    expect(bad.vm.logs.map((l) => l.message).join("\n")).toContain('rules[0].match.methods[1]: invalid HTTP method "BAD METHOD"');
  });

  it("matches the path with a regex (whole path, query string ignored)", async () => {
    const hit = await selector({ path: { regex: "/users/\\d+(/profile)?" } });
    expect(hit("/users/42")).toBe(true);
    expect(hit("/users/42/profile?x=1")).toBe(true);
    expect(hit("/users/42/posts")).toBe(false);
    expect(hit("/v2/users/42")).toBe(false);
    expect(hit("/users/abc")).toBe(false);
  });

  it("matches a path prefix on the path part only: a query or fragment never completes it", async () => {
    // A prefix without '?' or '#' is matched on the full :path (no stripped copy); one with them on the path part.
    const api = await selector({ path: { prefix: "/api/" } });
    expect([api("/api/x?y=1"), api("/api/"), api("/api?/api/"), api("/ap#/api/"), api("/x?/api/")]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    const withQuery = await selector({ path: { prefix: "/a?b" } });
    expect([withQuery("/a?b"), withQuery("/a?bc"), withQuery("/a")]).toEqual([false, false, false]);
    const withFragment = await selector({ path: { prefix: "/a#" } });
    expect([withFragment("/a#x"), withFragment("/a")]).toEqual([false, false]);
  });

  it("matches a header with a regex, inverted, or absent", async () => {
    const re = await selector({ headers: [{ name: "X-Tenant", regex: "(?i)acme-[a-z]+" }] });
    expect(re("/", [["x-tenant", "ACME-east"]])).toBe(true);
    expect(re("/", [["x-tenant", "acme-east-1"]])).toBe(false);
    expect(re("/")).toBe(false);
    const inverted = await selector({ headers: [{ name: "x-env", exact: "prod", invert: true }] });
    expect(inverted("/", [["x-env", "prod"]])).toBe(false);
    expect(inverted("/", [["x-env", "dev"]])).toBe(true);
    expect(inverted("/")).toBe(true); // invert negates the whole test, absence included
    const absent = await selector({ headers: [{ name: "x-skip", present: false }] });
    expect(absent("/")).toBe(true);
    expect(absent("/", [["x-skip", ""]])).toBe(false);
    const notPresent = await selector({ headers: [{ name: "x-skip", present: true, invert: true }] });
    expect(notPresent("/")).toBe(true);
    expect(notPresent("/", [["x-skip", "1"]])).toBe(false);
  });

  it("matches query parameters: first value, raw (not percent-decoded), flags present", async () => {
    const exact = await selector({ query: [{ name: "debug", exact: "1" }] });
    expect(exact("/?debug=1")).toBe(true);
    expect(exact("/a?x=2&debug=1")).toBe(true);
    expect(exact("/?debug=0&debug=1")).toBe(false); // only the first value counts, as in Envoy
    expect(exact("/?debug=1&debug=0")).toBe(true);
    expect(exact("/?debugx=1")).toBe(false);
    expect(exact("/")).toBe(false);
    const raw = await selector({ query: [{ name: "q", exact: "a%20b" }] });
    expect(raw("/?q=a%20b")).toBe(true);
    expect(raw("/?q=a b")).toBe(false);
    const present = await selector({ query: [{ name: "flag", present: true }] });
    expect(present("/?flag")).toBe(true);
    expect(present("/?flag=")).toBe(true);
    expect(present("/?other=flag")).toBe(false);
    const absent = await selector({ query: [{ name: "flag", present: false }] });
    expect(absent("/?a=1")).toBe(true);
    expect(absent("/?flag")).toBe(false);
    const re = await selector({
      path: { prefix: "/search" },
      query: [
        { name: "page", regex: "[1-9][0-9]*" },
        { name: "sort", prefix: "date", invert: true },
      ],
    });
    expect(re("/search?page=3")).toBe(true);
    expect(re("/search?page=03")).toBe(false);
    expect(re("/search?page=3&sort=date_desc")).toBe(false);
    expect(re("/other?page=3")).toBe(false);
  });

  it("keeps suffix, contains and glob working beside the new kinds", async () => {
    const hit = await selector({
      path: { glob: "/static/**/*.css" },
      headers: [
        { name: "accept", contains: "css" },
        { name: "x-v", suffix: "-beta" },
      ],
    });
    expect(
      hit("/static/a/b/site.css", [
        ["accept", "text/css"],
        ["x-v", "2-beta"],
      ]),
    ).toBe(true);
    expect(
      hit("/static/a/b/site.css", [
        ["accept", "text/css"],
        ["x-v", "2"],
      ]),
    ).toBe(false);
  });

  it("refuses bad conditions with the field's location", async () => {
    const { vm, p } = await plugin({
      rules: [
        {
          match: {
            path: { regex: "/a(?=b)" },
            headers: [
              { name: "x-a", regex: "(x", invert: "yes" },
              { name: "x-b", exact: "1", prefix: "2" },
            ],
            query: [{ name: "", exact: "1" }, { name: "q" }, { name: "r", regex: "\\1" }],
          },
          request: { set: { "x-a": "1" } },
        },
      ],
    });
    expect(p.ok).toBe(false);
    const text = vm.logs
      .filter((l) => l.level === LogLevel.Error)
      .map((l) => l.message)
      .join("\n");
    expect(text).toContain("rules[0].match.path.regex: invalid regex: lookahead ((?=...)) is not supported (at offset 2)");
    expect(text).toContain("rules[0].match.headers[0].regex: invalid regex: missing ): unterminated group");
    expect(text).toContain("rules[0].match.headers[0].invert: must be a boolean, got a string");
    expect(text).toContain("rules[0].match.headers[1]: needs exactly one of present, exact, prefix, suffix, contains, regex");
    expect(text).toContain("rules[0].match.query[0].name: must not be empty");
    expect(text).toContain("rules[0].match.query[1]: needs exactly one of present, exact, prefix, suffix, contains, regex");
    expect(text).toContain("rules[0].match.query[2].regex: invalid regex: backreferences and octal escapes (\\1) are not supported");
  });

  it("refuses empty prefix, suffix and contains values, in the words routes use", async () => {
    const { vm, p } = await plugin({
      rules: [
        {
          match: {
            path: { suffix: "" },
            headers: [
              { name: "x-a", prefix: "" },
              { name: "x-b", suffix: "" },
              { name: "x-c", contains: "" },
              { name: "x-d", exact: "" },
            ],
            query: [
              { name: "a", prefix: "" },
              { name: "b", suffix: "" },
              { name: "c", contains: "", invert: true },
              { name: "d", exact: "" },
            ],
          },
          request: { set: { "x-a": "1" } },
        },
      ],
    });
    expect(p.ok).toBe(false);
    const errors = vm.logs.filter((l) => l.level === LogLevel.Error).map((l) => l.message);
    const anyValue = "must not be empty (to match any value, use present: true)";
    for (const where of [
      "rules[0].match.headers[0].prefix",
      "rules[0].match.headers[1].suffix",
      "rules[0].match.headers[2].contains",
      "rules[0].match.query[0].prefix",
      "rules[0].match.query[1].suffix",
      "rules[0].match.query[2].contains",
    ]) {
      expect(errors.join("\n")).toContain(`${where}: ${anyValue}`);
    }
    expect(errors.join("\n")).toContain("rules[0].match.path.suffix: must not be empty");
    // An empty exact value is a test like any other (the header is there, empty).
    expect(errors.join("\n")).not.toMatch(/headers\[3\]|query\[3\]/);
  });
});

describe("runtime layer behaviour through this filter", () => {
  it("keeps a separate configuration per plugin in one VM, and survives plugin removal", async () => {
    const vm = await ProxyWasmVm.load(module);
    const a = vm.configurePlugin({
      config: JSON.stringify({ rules: [{ request: { set: { "x-plugin": "a" } } }] }),
      rootId: "header-rewrite",
      name: "a",
    });
    const b = vm.configurePlugin({
      config: JSON.stringify({ rules: [{ request: { set: { "x-plugin": "b" } } }] }),
      rootId: "header-rewrite",
      name: "b",
    });
    expect(runHttpRequest(a, { requestHeaders: GET("/") }).requestHeader("x-plugin")).toBe("a");
    expect(runHttpRequest(b, { requestHeaders: GET("/") }).requestHeader("x-plugin")).toBe("b");
    a.shutdown(); // the SDK alone aborts here (root context looked up in the stream map)
    expect(vm.failure).toBeUndefined();
    expect(runHttpRequest(b, { requestHeaders: GET("/") }).requestHeader("x-plugin")).toBe("b");
  });
});

// README "Limits": 64 rules; 64 headers per action; templates up to 1,024 characters; configuration up to 256 KiB.
describe("limits: at the limit accepted, one over refused with the field named", () => {
  const padTo = (o: object, bytes: number) => {
    const s = JSON.stringify(o);
    return s + " ".repeat(bytes - s.length);
  };
  const one = { rules: [{ request: { set: { "x-a": "1" } } }] };
  const rules = (n: number) => ({ rules: Array.from({ length: n }, () => ({ request: { set: { "x-a": "1" } } })) });
  const headers = (n: number) => ({
    rules: [{ request: { set: Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, "v"])) } }],
  });
  const removes = (n: number) => ({ rules: [{ request: { remove: Array.from({ length: n }, (_, i) => `x-h${i}`) } }] });
  const template = (n: number) => ({ rules: [{ request: { set: { "x-t": "a".repeat(n) } } }] });
  it.each([
    ["64 rules", rules(64), rules(65), "rules: has 65 items, at most 64 allowed"],
    ["64 headers in set", headers(64), headers(65), "rules[0].request.set: at most 64 headers per action"],
    ["64 headers in remove", removes(64), removes(65), "rules[0].request.remove: has 65 items, at most 64 allowed"],
    ["a 1,024-character template", template(1024), template(1025), "rules[0].request.set.x-t: value is longer than 1024 characters"],
    [
      "a 256 KiB configuration",
      padTo(one, 256 * 1024),
      padTo(one, 256 * 1024 + 1),
      `configuration is ${256 * 1024 + 1} bytes, at most ${256 * 1024} allowed`,
    ],
  ] as [string, object | string, object | string, string][])("%s", async (_what, atLimit, over, reason) => {
    expect((await plugin(atLimit)).p.ok).toBe(true);
    const { vm, p } = await plugin(over);
    expect(p.ok).toBe(false);
    expect(
      vm.logs
        .filter((l) => l.level === LogLevel.Error)
        .map((l) => l.message)
        .join("\n"),
    ).toContain(reason);
  });
});

describe("README behaviours: rename onto an existing header, unsafe rendered values", () => {
  it("rename moves every value to the new name, replacing the values the new name already had", async () => {
    const { p } = await plugin({ rules: [{ request: { rename: { "x-old": "x-new" } } }] });
    const s = runHttpRequest(p, {
      requestHeaders: GET("/", [
        ["x-old", "o1"],
        ["x-new", "stale"],
        ["x-old", "o2"],
        ["x-new", "stale2"],
      ]),
    });
    expect(s.requestHeaders.filter(([k]) => k === "x-old")).toEqual([]);
    expect(s.requestHeaders.filter(([k]) => k === "x-new").map(([, v]) => v)).toEqual(["o1", "o2"]);
  });

  it.each([
    ["CR", "a\rb"],
    ["LF", "a\nb"],
    ["CR LF", "a\r\nx-injected: 1"],
    ["NUL", "a\u0000b"],
  ])("drops a rendered value containing %s and counts it in errors_total; a clean value is written", async (_what, value) => {
    const { vm, p } = await plugin({
      stat_prefix: "t",
      rules: [{ request: { set: { "x-copy": "v=${request.header.x-in}" }, add: { "x-added": "${request.header.x-in}" } } }],
    });
    const bad = runHttpRequest(p, { requestHeaders: GET("/", [["x-in", value]]) });
    expect(bad.requestHeader("x-copy")).toBeUndefined();
    expect(bad.requestHeader("x-added")).toBeUndefined();
    expect(bad.requestHeader("x-injected")).toBeUndefined();
    expect(vm.metric("portico.header_rewrite.t.errors_total")).toBe(2);
    const good = runHttpRequest(p, { requestHeaders: GET("/", [["x-in", "ab"]]) });
    expect(good.requestHeader("x-copy")).toBe("v=ab");
    expect(good.requestHeader("x-added")).toBe("ab");
    expect(vm.metric("portico.header_rewrite.t.errors_total")).toBe(2);
  });
});

describe("header values that are not UTF-8", () => {
  // Envoy forwards obs-text bytes (0x80-0xff) to a Wasm filter as they came; the emulator's
  // headerBytes "latin1" does the same. A template reads a value as text: an invalid byte becomes
  // U+FFFD (bytes ef bf bd), and nothing traps.
  it("copies a value with a lone 0xff byte through a template as U+FFFD, and leaves the original alone", async () => {
    const { p } = await plugin({ rules: [{ request: { set: { "x-copy": "<${request.header.x-raw}>" } } }] }, "latin1");
    const s = runHttpRequest(p, { requestHeaders: GET("/", [["x-raw", "a\xffb"]]) });
    expect(s.requestHeader("x-copy")).toBe("<a\xef\xbf\xbdb>");
    expect(s.requestHeader("x-raw")).toBe("a\xffb");
  });
});

// #14: the request headers are listed once per request (one proxy_get_header_map_pairs serves
// matching, templates, rename and set_if_absent), and the module exports only the callbacks it
// uses. The listing must never hide a change an earlier action of the same request made.
describe("host calls and callbacks per request", () => {
  const BENCH_REQUEST = GET(BENCH_PATH, BENCH_HEADERS);
  const BENCH_RESPONSE: HeaderList = [
    [":status", "200"],
    ["content-type", "text/plain"],
    ["x-envoy-upstream-service-time", "1"],
  ];

  it("makes 13 host calls for the benchmark request (was 18), by name", async () => {
    const vm = await ProxyWasmVm.load(module, { countHostCalls: true, properties: { "source.address": "10.1.2.3:5555" } });
    const p = vm.configurePlugin({ config: JSON.stringify(HEADER_REWRITE_REALISTIC), rootId: "header-rewrite" });
    expect(p.ok).toBe(true);
    runHttpRequest(p, { requestHeaders: BENCH_REQUEST, responseHeaders: BENCH_RESPONSE });
    vm.hostCalls.clear();
    const s = runHttpRequest(p, { requestHeaders: BENCH_REQUEST, responseHeaders: BENCH_RESPONSE });
    expect(Object.fromEntries([...vm.hostCalls].sort())).toEqual({
      proxy_get_header_map_pairs: 1, // :path, :method, x-debug (matching) and x-api-key (rename), one listing
      proxy_get_property: 1, // source.address for ${source.ip}
      proxy_remove_header_map_value: 2, // x-api-key (rename), x-envoy-upstream-service-time (response); not the absent x-internal-debug
      proxy_replace_header_map_value: 5, // x-gateway, x-client-ip, x-forwarded-path, x-legacy-key (rename), x-served-by
      proxy_add_header_map_value: 1, // x-api-version
      proxy_increment_metric: 3, // requests_total, rules_applied_total per phase
    });
    // ...and the same headers as before the cuts.
    expect(s.requestHeader("x-gateway")).toBe("portico");
    expect(s.requestHeader("x-client-ip")).toBe("10.1.2.3");
    expect(s.requestHeader("x-forwarded-path")).toBe(BENCH_PATH);
    expect(s.requestHeader("x-legacy-key")).toBe("k-123");
    expect(s.requestHeader("x-api-key")).toBeUndefined();
    expect(s.requestHeader("x-api-version")).toBe("2");
    expect(s.responseHeader("x-served-by")).toBe("portico");
    expect(s.responseHeader("x-envoy-upstream-service-time")).toBeUndefined();
  });

  it("exports only the callbacks it uses, so Envoy skips body, trailer, log and done callbacks", () => {
    expect(exportedCallbacks(module)).toEqual([
      "proxy_on_configure",
      "proxy_on_context_create",
      "proxy_on_delete",
      "proxy_on_request_headers",
      "proxy_on_response_headers",
      "proxy_on_vm_start",
    ]);
  });

  it("rename and set_if_absent see what earlier rules of the same request changed", async () => {
    const { p } = await plugin({
      rules: [
        { request: { set: { "x-a": "new" }, remove: ["x-c"] } },
        { request: { rename: { "x-a": "x-b" }, set_if_absent: { "x-c": "filled" } } },
      ],
    });
    const s = runHttpRequest(p, {
      requestHeaders: GET("/", [
        ["x-a", "old"],
        ["x-c", "client"],
      ]),
    });
    expect(s.requestHeader("x-b")).toBe("new");
    expect(s.requestHeader("x-a")).toBeUndefined();
    expect(s.requestHeader("x-c")).toBe("filled");
  });

  it("removes a header an earlier rule added, though the request arrived without it", async () => {
    // The template makes the filter list the request headers before it writes anything.
    const { p } = await plugin({ rules: [{ request: { add: { "x-d": "${request.header.x-e}" } } }, { request: { remove: ["x-d"] } }] });
    const s = runHttpRequest(p, { requestHeaders: GET("/", [["x-e", "1"]]) });
    expect(s.requestHeader("x-d")).toBeUndefined();
  });

  it("costs one listing for any number of matched headers, and no call to remove an absent header", async () => {
    const vm = await ProxyWasmVm.load(module, { countHostCalls: true });
    const p = vm.configurePlugin({
      config: JSON.stringify({
        rules: [
          {
            match: {
              path: { prefix: "/" },
              methods: ["GET"],
              headers: [
                { name: "x-a", present: true },
                { name: "x-b", exact: "1" },
              ],
            },
            request: { remove: ["x-absent"] },
          },
        ],
      }),
      rootId: "header-rewrite",
    });
    vm.hostCalls.clear();
    runHttpRequest(p, {
      requestHeaders: GET("/", [
        ["x-a", "1"],
        ["x-b", "1"],
      ]),
    });
    expect(vm.hostCalls.get("proxy_get_header_map_pairs")).toBe(1);
    expect(vm.hostCalls.get("proxy_get_header_map_value")).toBeUndefined();
    expect(vm.hostCalls.get("proxy_remove_header_map_value")).toBeUndefined();
  });
});
