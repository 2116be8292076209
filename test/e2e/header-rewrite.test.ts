// header-rewrite in a real Envoy 1.40: every rule kind and template source, empty values, path
// rewrites that re-route, the shipped example config, bad configs refused at load with the
// reason, two plugins sharing one VM, and metrics on /stats/prometheus.
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoResponseHeaders,
  echoedHeader,
  filterWasm,
  httpListener,
  loadExampleConfig,
  parseEcho,
  request,
  staticCluster,
  startEnvoyExpectFailure,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
  type EchoUpstream,
  type Json,
} from "../support/index.js";

const WASM = filterWasm("header-rewrite");
const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

function headerRewrite(config: object, name = "header_rewrite", vmId?: string): Json {
  return wasmHttpFilter({ file: WASM, name, rootId: "header-rewrite", vmId: vmId ?? name, configuration: config });
}

/** A route that tags requests with the route Envoy picked (the router adds it after our filter). */
function taggedRoute(name: string, match: Json): Json {
  return {
    name,
    match,
    route: { cluster: "upstream" },
    request_headers_to_add: [{ header: { key: "x-routed", value: name } }],
  };
}

const KINDS = {
  stat_prefix: "kinds",
  rules: [
    {
      name: "every-request",
      request: {
        remove: ["x-drop"],
        rename: { "x-old": "x-new" },
        set: {
          "x-set": "s",
          "x-tmpl":
            "${request.method} ${request.url_path} q=${request.query} ip=${source.ip} route=${route.name} in=${request.header.x-in}",
          "x-prop": "${property.request.scheme}",
          "x-conn": "${source.address}|${request.host}|${request.scheme}|${request.id}",
          "x-empty": "${request.header.x-missing}",
        },
        set_if_absent: { "x-default": "d", "x-present": "ignored" },
        add: { "x-multi": ["1", "2"] },
      },
      response: {
        remove: ["x-up-drop"],
        rename: { "x-up-old": "x-up-new" },
        set: { "x-resp-set": "[${response.header.x-up}] for ${request.header.x-in} ${request.method}" },
        add: { "x-resp-add": "a" },
      },
    },
    { name: "exact", match: { path: { exact: "/exact" } }, request: { set: { "x-m-exact": "1" } } },
    { name: "prefix", match: { path: { prefix: "/pre/" } }, request: { set: { "x-m-prefix": "1" } } },
    { name: "suffix", match: { path: { suffix: ".json" } }, request: { set: { "x-m-suffix": "1" } } },
    { name: "glob", match: { path: { glob: "/g/*/items/**" } }, request: { set: { "x-m-glob": "1" } } },
    { name: "method", match: { methods: ["DELETE"] }, request: { set: { "x-m-method": "1" } } },
    { name: "present", match: { headers: [{ name: "x-flag", present: true }] }, request: { set: { "x-m-present": "1" } } },
    {
      name: "absent",
      match: {
        headers: [
          { name: "x-flag", present: false },
          { name: "x-env", prefix: "pr" },
        ],
      },
      request: { set: { "x-m-absent": "1" } },
    },
    { name: "value", match: { headers: [{ name: "x-env", exact: "prod" }] }, request: { set: { "x-m-value": "1" } } },
    { name: "route", match: { routes: ["special"] }, request: { set: { "x-m-route": "1" } } },
    {
      name: "regex",
      match: {
        path: { regex: "/re/v[0-9]+/[a-z]+" },
        headers: [{ name: "x-tenant", regex: "(?i)acme-\\d+" }],
        query: [{ name: "mode", exact: "a%20b" }],
      },
      request: { set: { "x-m-regex": "1" } },
    },
    {
      name: "query",
      match: {
        query: [
          { name: "debug", present: true },
          { name: "skip", present: false },
        ],
        headers: [{ name: "x-env", exact: "prod", invert: true }],
      },
      request: { set: { "x-m-query": "1" } },
    },
    // Only when asked for, so the other tests' rule counts stay as they are.
    {
      name: "keep-empty",
      keep_empty_value: true,
      match: { headers: [{ name: "x-want-empty", present: true }] },
      request: { set: { "x-kept-empty": "${request.header.x-missing}" } },
    },
  ],
};

const REWRITE = {
  stat_prefix: "rewrite",
  rules: [
    { match: { path: { prefix: "/api/" } }, request: { rewrite_path: { prefix: "/v2/" } } },
    { match: { path: { prefix: "/t/" } }, request: { rewrite_path: { template: "/v2/from-template${request.url_path}" } } },
    { match: { headers: [{ name: "x-internal", present: true }] }, request: { set: { ":authority": "internal.backend" } } },
  ],
};

let e: Envoy;
let up: EchoUpstream;

beforeAll(async () => {
  up = await upstream();
  e = await envoy({
    name: "header-rewrite",
    concurrency: 2,
    config: bootstrap({
      listeners: [
        httpListener({
          name: "kinds",
          httpFilters: [headerRewrite(KINDS)],
          routes: [taggedRoute("special", { prefix: "/special" }), taggedRoute("default", { prefix: "/" })],
        }),
        httpListener({
          name: "shared_vm",
          // Same vm_id and code: Envoy runs both plugins in one VM, each with its own root context.
          httpFilters: [
            headerRewrite({ rules: [{ request: { set: { "x-first": "1", "x-order": "first" } } }] }, "first", "shared"),
            headerRewrite({ rules: [{ request: { set: { "x-second": "2", "x-order": "second" } } }] }, "second", "shared"),
          ],
        }),
      ],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
});

async function send(listener: string, path: string, headers: [string, string][] = [], method = "GET") {
  const res = await request(e.url(path, listener), { method, headers });
  expect(res.status, res.body).toBe(200);
  return { res, seen: parseEcho(res.body) };
}

describe("header-rewrite actions", () => {
  it("removes, renames, sets, sets if absent and adds request headers", async () => {
    const { seen } = await send("kinds", "/x?a=1&b=2", [
      ["x-drop", "secret"],
      ["x-old", "o1"],
      ["x-old", "o2"],
      ["x-set", "client"],
      ["x-present", "mine"],
      ["x-in", "v-in"],
    ]);
    expect(echoedHeader(seen, "x-drop")).toEqual([]);
    expect(echoedHeader(seen, "x-old")).toEqual([]);
    expect(echoedHeader(seen, "x-new")).toEqual(["o1", "o2"]);
    expect(echoedHeader(seen, "x-set")).toEqual(["s"]);
    expect(echoedHeader(seen, "x-default")).toEqual(["d"]);
    expect(echoedHeader(seen, "x-present")).toEqual(["mine"]);
    expect(echoedHeader(seen, "x-multi")).toEqual(["1", "2"]);
    expect(echoedHeader(seen, "x-tmpl")).toEqual(["GET /x q=a=1&b=2 ip=127.0.0.1 route=default in=v-in"]);
    expect(echoedHeader(seen, "x-prop")).toEqual(["http"]);
  });

  it("rewrites response headers, with request values captured before forwarding", async () => {
    const { res } = await send(
      "kinds",
      "/r",
      [
        ["x-in", "abc"],
        echoResponseHeaders([
          ["x-up", "U"],
          ["x-up-drop", "gone"],
          ["x-up-old", "moved"],
          ["x-resp-add", "from-upstream"],
        ]),
      ],
      "POST",
    );
    expect(res.headerAll("x-resp-set")).toEqual(["[U] for abc POST"]);
    expect(res.headerAll("x-up-drop")).toEqual([]);
    expect(res.headerAll("x-up-old")).toEqual([]);
    expect(res.headerAll("x-up-new")).toEqual(["moved"]);
    expect(res.headerAll("x-resp-add")).toEqual(["from-upstream", "a"]);
  });

  it("renders a variable with no value as empty text inside a longer value", async () => {
    const { seen } = await send("kinds", "/x");
    expect(echoedHeader(seen, "x-tmpl")).toEqual(["GET /x q= ip=127.0.0.1 route=default in="]);
    const { res } = await send("kinds", "/r");
    expect(res.headerAll("x-resp-set")).toEqual(["[] for  GET"]);
  });

  it("drops a header whose whole template renders empty, unless the rule has keep_empty_value", async () => {
    const { seen } = await send("kinds", "/x", [["x-want-empty", "1"]]);
    expect(echoedHeader(seen, "x-empty")).toEqual([]);
    expect(echoedHeader(seen, "x-kept-empty")).toEqual([""]);
    // Not written when the rule did not match: the empty value above came from the rule.
    const { seen: plain } = await send("kinds", "/x");
    expect(echoedHeader(plain, "x-kept-empty")).toEqual([]);
  });

  it("renders the connection's address, host, scheme and request id", async () => {
    const { res, seen } = await send("kinds", "/x", [["host", "kinds.example"]]);
    const [address, host, scheme, id] = echoedHeader(seen, "x-conn")[0]!.split("|");
    // The peer Envoy saw is this client's connection: same port.
    expect(address).toBe(`127.0.0.1:${res.localPort}`);
    expect(host).toBe("kinds.example");
    expect(scheme).toBe("http");
    // Envoy generates x-request-id before the filters run and forwards that same value.
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(echoedHeader(seen, "x-request-id")).toEqual([id]);
  });
});

describe("header-rewrite conditions", () => {
  const cases: { name: string; path: string; method?: string; headers?: [string, string][]; expect: string[] }[] = [
    { name: "nothing special", path: "/other", expect: [] },
    { name: "exact path", path: "/exact?q=1", expect: ["exact"] },
    { name: "exact is exact", path: "/exact/more", expect: [] },
    { name: "prefix", path: "/pre/x", expect: ["prefix"] },
    { name: "suffix", path: "/data/file.json?x", expect: ["suffix"] },
    { name: "glob", path: "/g/v1/items/a/b", expect: ["glob"] },
    { name: "glob single segment", path: "/g/v1/v2/items/a", expect: [] },
    { name: "method", path: "/other", method: "DELETE", expect: ["method"] },
    { name: "header present", path: "/other", headers: [["x-flag", ""]], expect: ["present"] },
    { name: "header absent + prefix", path: "/other", headers: [["x-env", "preview"]], expect: ["absent"] },
    { name: "header value", path: "/other", headers: [["x-env", "prod"]], expect: ["absent", "value"] },
    {
      name: "header value mismatch",
      path: "/other",
      headers: [
        ["x-env", "production"],
        ["x-flag", "1"],
      ],
      expect: ["present"],
    },
    { name: "route name", path: "/special/x.json", expect: ["suffix", "route"] },
    {
      name: "path, header and query regex/exact",
      path: "/re/v2/items?x=1&mode=a%20b",
      headers: [["x-tenant", "ACME-7"]],
      expect: ["regex"],
    },
    { name: "query values are not decoded", path: "/re/v2/items?mode=a+b", headers: [["x-tenant", "acme-7"]], expect: [] },
    { name: "header regex is a full match", path: "/re/v2/items?mode=a%20b", headers: [["x-tenant", "acme-7b"]], expect: [] },
    { name: "path regex is a full match", path: "/re/v2/items/x?mode=a%20b", headers: [["x-tenant", "acme-7"]], expect: [] },
    { name: "query present, empty value", path: "/other?debug", expect: ["query"] },
    { name: "query present: false", path: "/other?debug=1&skip", expect: [] },
    { name: "inverted header test", path: "/other?debug=1", headers: [["x-env", "prod"]], expect: ["absent", "value"] },
    { name: "inverted header test passes", path: "/other?debug=1", headers: [["x-env", "dev"]], expect: ["query"] },
  ];
  for (const c of cases) {
    it(`matches: ${c.name}`, async () => {
      const { seen } = await send("kinds", c.path, c.headers ?? [], c.method ?? "GET");
      const hit = seen.headers
        .map(([k]) => k.toLowerCase())
        .filter((k) => k.startsWith("x-m-"))
        .map((k) => k.slice(4))
        .sort();
      expect(hit).toEqual([...c.expect].sort());
    });
  }
});

describe("header-rewrite path and authority rewrites", () => {
  it("rewrites a prefix, keeps the query, and Envoy routes on the new path", async () => {
    const patched = await reroutingEnvoy();
    const res = await request(patched.url("/api/users?id=7", "rewrite"));
    const seen = parseEcho(res.body);
    expect(seen.path).toBe("/v2/users?id=7");
    expect(echoedHeader(seen, "x-routed")).toEqual(["v2"]);
  });

  it("rewrites from a template (which decides about the query itself)", async () => {
    const patched = await reroutingEnvoy();
    const seen = parseEcho((await request(patched.url("/t/a/b?z=1", "rewrite"))).body);
    expect(seen.path).toBe("/v2/from-template/t/a/b");
    expect(echoedHeader(seen, "x-routed")).toEqual(["v2"]);
  });

  it("sets :authority and Envoy picks the virtual host of the new authority", async () => {
    const patched = await reroutingEnvoy();
    const seen = parseEcho((await request(patched.url("/x", "rewrite"), { headers: [["x-internal", "1"]] })).body);
    expect(echoedHeader(seen, "host")).toEqual(["internal.backend"]);
    expect(echoedHeader(seen, "x-routed")).toEqual(["internal-vhost"]);
    const plain = parseEcho((await request(patched.url("/x", "rewrite"))).body);
    expect(echoedHeader(plain, "x-routed")).toEqual(["default"]);
  });
});

let rerouting: Envoy | undefined;
/** An Envoy whose `rewrite` listener has routes and virtual hosts that reveal re-routing. */
async function reroutingEnvoy(): Promise<Envoy> {
  if (rerouting) return rerouting;
  const listener = httpListener({ name: "rewrite", httpFilters: [headerRewrite(REWRITE, "rewrite")] }) as any;
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  hcm.route_config.virtual_hosts = [
    { name: "internal", domains: ["internal.backend"], routes: [taggedRoute("internal-vhost", { prefix: "/" })] },
    { name: "all", domains: ["*"], routes: [taggedRoute("v2", { prefix: "/v2/" }), taggedRoute("default", { prefix: "/" })] },
  ];
  rerouting = await envoy({
    name: "header-rewrite-reroute",
    config: bootstrap({ listeners: [listener], clusters: [staticCluster("upstream", up.port)] }),
  });
  return rerouting;
}

describe("header-rewrite plugins sharing one VM", () => {
  it("keeps each plugin's own configuration", async () => {
    const { seen } = await send("shared_vm", "/x");
    expect(echoedHeader(seen, "x-first")).toEqual(["1"]);
    expect(echoedHeader(seen, "x-second")).toEqual(["2"]);
    // Filters run in chain order: the second plugin's set wins.
    expect(echoedHeader(seen, "x-order")).toEqual(["second"]);
  });
});

describe("header-rewrite metrics", () => {
  it("exports requests, rules applied and errors on /stats/prometheus", async () => {
    // In /stats, Envoy keeps Wasm-defined metrics under its custom namespace "wasmcustom.".
    const before = await e.stats("portico\\.header_rewrite\\.kinds\\.");
    await send("kinds", "/exact");
    await send("kinds", "/nothing");
    const after = await e.stats("portico\\.header_rewrite\\.kinds\\.");
    const delta = (k: string) => (after.get(`wasmcustom.${k}`) ?? 0) - (before.get(`wasmcustom.${k}`) ?? 0);
    expect([...after.keys()]).toContain("wasmcustom.portico.header_rewrite.kinds.requests_total");
    expect(delta("portico.header_rewrite.kinds.requests_total")).toBe(2);
    // /exact: "every-request" (request + response) and "exact" (request); /nothing: every-request twice.
    expect(delta("portico.header_rewrite.kinds.rules_applied_total")).toBe(5);
    expect(delta("portico.header_rewrite.kinds.errors_total")).toBe(0);
    const prom = await e.promStats();
    expect(prom).toMatch(/^portico_header_rewrite_kinds_requests_total\{\} \d+$/m);
    expect(prom).toMatch(/^portico_header_rewrite_kinds_rules_applied_total\{\} \d+$/m);
    expect(prom).toMatch(/^portico_header_rewrite_kinds_errors_total\{\} 0$/m);
  });
});

describe("header-rewrite example config (envoy-configs/header-rewrite.yaml)", () => {
  it("does what the file's comments and README promise", async () => {
    const ex = await envoy({ name: "example", config: loadExampleConfig("header-rewrite.yaml", { upstreamPort: up.port }) });
    const res = await request(ex.url("/api/users?x=1"), {
      headers: [
        ["x-api-key", "k1"],
        ["x-internal-debug", "s"],
        ["x-debug", "1"],
      ],
    });
    const seen = parseEcho(res.body);
    expect(seen.path).toBe("/v2/users?x=1");
    expect(echoedHeader(seen, "x-legacy-key")).toEqual(["k1"]);
    expect(echoedHeader(seen, "x-api-key")).toEqual([]);
    expect(echoedHeader(seen, "x-internal-debug")).toEqual([]);
    expect(echoedHeader(seen, "x-gateway")).toEqual(["portico"]);
    expect(echoedHeader(seen, "x-api-version")).toEqual(["2"]);
    expect(echoedHeader(seen, "x-client-ip")).toEqual(["127.0.0.1"]);
    expect(res.header("x-served-by")).toBe("portico");
    expect(res.header("x-route")).toBe("v2-api");
    expect(res.header("x-debug-path")).toBe("/api/users?x=1");
    expect(res.header("x-envoy-upstream-service-time")).toBeUndefined();
  });
});

describe("header-rewrite bad configurations", () => {
  const bad: { config: string; reason: string }[] = [
    {
      config: "{not json",
      reason: "header-rewrite: invalid configuration: configuration is not valid JSON: expected a string key at byte 1",
    },
    {
      config: JSON.stringify({ rules: [{ request: { set: { ":method": "POST" } } }] }),
      reason: "rules[0].request.set.:method: pseudo-header :method cannot be changed here",
    },
    {
      config: JSON.stringify({ rules: [{ request: { add: { "transfer-encoding": "chunked" } } }] }),
      reason: "rules[0].request.add.transfer-encoding: transfer-encoding is a connection-level header and cannot be set by a filter",
    },
    {
      config: JSON.stringify({ rules: [{ request: { set: { "x-a": "${nope}" } } }] }),
      reason: "rules[0].request.set.x-a: unknown variable ${nope}",
    },
    { config: JSON.stringify({ rules: [{ requets: {} }] }), reason: "rules[0].requets: unknown field" },
  ];
  for (const b of bad) {
    it(`refuses ${b.reason.split(":")[0]} at load, saying why`, async () => {
      const failure = await startEnvoyExpectFailure(
        bootstrap({
          listeners: [
            httpListener({
              name: "bad",
              httpFilters: [wasmHttpFilter({ file: WASM, name: "bad", rootId: "header-rewrite", configuration: b.config })],
              directResponse: { status: 200 },
            }),
          ],
        }),
        { name: "header-rewrite-bad" },
      );
      expect(failure.code).not.toBe(0);
      expect(failure.logs).toContain(b.reason);
      expect(failure.logs).toMatch(/\[error\]\[wasm\].*invalid configuration/);
    });
  }
});
