// Differential test: the same header rules expressed for our filter and for Envoy's native
// envoy.filters.http.header_mutation, two listeners of one Envoy in front of one upstream, the
// same corpus of requests. The native filter is the oracle: the upstream must see the same
// request headers and the client the same response headers. Covered: every action, header and
// method/path templates, source address and IP, route name, and a conditional rule (natively a
// route with per-route mutations).
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoResponseHeaders,
  filterWasm,
  httpListener,
  parseEcho,
  request,
  staticCluster,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
  type HeaderPairs,
  type Json,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

// One rule set, two spellings. Order matters to the native filter (mutations run in list order)
// and ours runs remove, set, set_if_absent, add: the native list follows that order. A condition
// is spelled natively as a route of its own carrying per-route mutations (COND_PREFIX below); its
// headers are not touched by the unconditional rule, so the order in which Envoy applies filter-
// and route-level mutations does not matter.
const COND_PREFIX = "/cond/";
const OURS = {
  rules: [
    {
      request: {
        remove: ["x-remove"],
        set: {
          "x-set": "fixed",
          "x-copy": "${request.header.x-src}",
          "x-ip": "${source.ip}",
          "x-method": "${request.method}",
          "x-path": "${request.path}",
          "x-mixed": "m=${request.method};src=${request.header.x-src}",
          "x-route": "${route.name}",
          "x-addr": "${source.address}",
        },
        set_if_absent: { "x-if-absent": "default" },
        add: { "x-add": "added" },
      },
      response: {
        remove: ["x-up-remove"],
        set: {
          "x-resp-copy": "${response.header.x-up}",
          "x-resp-set": "r",
          "x-resp-req": "${request.header.x-src}",
          "x-resp-route": "${route.name}",
        },
        set_if_absent: { "x-resp-if-absent": "ra" },
        add: { "x-resp-add": "radd" },
      },
    },
    {
      match: { path: { prefix: COND_PREFIX } },
      request: { set: { "x-cond": "matched", "x-cond-src": "${request.header.x-src}" }, add: { "x-cond-add": "c" } },
      response: { set: { "x-resp-cond": "${request.method}" } },
    },
  ],
};

const append = (key: string, value: string, action: string) => ({ append: { header: { key, value }, append_action: action } });
const SET = "OVERWRITE_IF_EXISTS_OR_ADD";
const NATIVE = {
  "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
  mutations: {
    request_mutations: [
      { remove: "x-remove" },
      append("x-set", "fixed", SET),
      append("x-copy", "%REQ(x-src)%", SET),
      append("x-ip", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", SET),
      append("x-method", "%REQ(:METHOD)%", SET),
      append("x-path", "%REQ(:PATH)%", SET),
      append("x-mixed", "m=%REQ(:METHOD)%;src=%REQ(x-src)%", SET),
      append("x-route", "%ROUTE_NAME%", SET),
      append("x-addr", "%DOWNSTREAM_REMOTE_ADDRESS%", SET),
      append("x-if-absent", "default", "ADD_IF_ABSENT"),
      append("x-add", "added", "APPEND_IF_EXISTS_OR_ADD"),
    ],
    response_mutations: [
      { remove: "x-up-remove" },
      append("x-resp-copy", "%RESP(x-up)%", SET),
      append("x-resp-set", "r", SET),
      append("x-resp-req", "%REQ(x-src)%", SET),
      append("x-resp-route", "%ROUTE_NAME%", SET),
      append("x-resp-if-absent", "ra", "ADD_IF_ABSENT"),
      append("x-resp-add", "radd", "APPEND_IF_EXISTS_OR_ADD"),
    ],
  },
};

// Both listeners route by the same named routes; the native one carries the conditional rule.
const COND_NATIVE = {
  "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute",
  mutations: {
    request_mutations: [
      append("x-cond", "matched", SET),
      append("x-cond-src", "%REQ(x-src)%", SET),
      append("x-cond-add", "c", "APPEND_IF_EXISTS_OR_ADD"),
    ],
    response_mutations: [append("x-resp-cond", "%REQ(:METHOD)%", SET)],
  },
};
function routes(native: boolean): Json[] {
  return [
    {
      name: "cond",
      match: { prefix: COND_PREFIX },
      route: { cluster: "upstream" },
      ...(native ? { typed_per_filter_config: { "envoy.filters.http.header_mutation": COND_NATIVE } } : {}),
    },
    { name: "default", match: { prefix: "/" }, route: { cluster: "upstream" } },
  ];
}

// Headers that differ per request or per listener regardless of the filters.
const VOLATILE = new Set([
  "x-request-id",
  "date",
  "x-envoy-upstream-service-time",
  "content-length",
  "x-envoy-expected-rq-timeout-ms",
  "x-echo-set-response-headers",
]);

/** name -> values in order; header order across names carries no meaning in HTTP. */
function normalize(pairs: HeaderPairs): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of pairs) {
    const name = k.toLowerCase();
    if (VOLATILE.has(name)) continue;
    out[name] ??= [];
    out[name].push(v);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

type Case = { name: string; method?: string; path: string; headers: HeaderPairs; upstreamSets?: HeaderPairs };

const CORPUS: Case[] = [
  { name: "bare GET", path: "/", headers: [] },
  { name: "query string", path: "/a/b?x=1&y=two", headers: [] },
  {
    name: "headers to remove, overwrite and keep",
    path: "/x",
    headers: [
      ["x-remove", "1"],
      ["x-remove", "2"],
      ["x-set", "client"],
      ["x-if-absent", "client"],
    ],
  },
  { name: "copy source present", path: "/x", headers: [["x-src", "hello world"]] },
  {
    name: "copy source repeated",
    path: "/x",
    headers: [
      ["x-src", "first"],
      ["x-src", "second"],
    ],
  },
  { name: "copy source empty", path: "/x", headers: [["x-src", ""]] },
  {
    name: "existing values to append to",
    path: "/x",
    headers: [
      ["x-add", "a1"],
      ["x-add", "a2"],
    ],
  },
  {
    name: "POST with body",
    method: "POST",
    path: "/submit",
    headers: [
      ["content-type", "text/plain"],
      ["x-src", "p"],
    ],
  },
  { name: "DELETE", method: "DELETE", path: "/items/7", headers: [] },
  { name: "unicode-free odd characters", path: "/p%20q?a=%2F", headers: [["x-src", 'a,b;c=d "quoted"']] },
  {
    name: "response headers from upstream",
    path: "/r",
    headers: [["x-src", "s"]],
    upstreamSets: [
      ["x-up", "U1"],
      ["x-up", "U2"],
      ["x-up-remove", "gone"],
      ["x-resp-set", "upstream"],
      ["x-resp-if-absent", "upstream"],
      ["x-resp-add", "u1"],
    ],
  },
  { name: "response without the copied header", path: "/r", headers: [], upstreamSets: [["x-other", "o"]] },
  { name: "conditional rule's route", path: "/cond/a?x=1", headers: [["x-src", "c1"]] },
  {
    name: "conditional rule with existing values",
    method: "POST",
    path: "/cond/b",
    headers: [
      ["x-cond", "client"],
      ["x-cond-add", "client"],
    ],
    upstreamSets: [["x-resp-cond", "upstream"]],
  },
  { name: "almost the conditional prefix", path: "/cond", headers: [["x-src", "c2"]] },
];

let e: Envoy;

beforeAll(async () => {
  const up = await upstream();
  const ours: Json = wasmHttpFilter({ file: filterWasm("header-rewrite"), name: "ours", rootId: "header-rewrite", configuration: OURS });
  const native: Json = { name: "envoy.filters.http.header_mutation", typed_config: NATIVE };
  e = await envoy({
    name: "header-rewrite-vs-native",
    config: bootstrap({
      listeners: [
        httpListener({ name: "ours", httpFilters: [ours], routes: routes(false) }),
        httpListener({ name: "native", httpFilters: [native], routes: routes(true) }),
      ],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
});

async function through(listener: string, c: Case) {
  // The same Host for both listeners (they differ only in port).
  const headers: HeaderPairs = [["host", "gateway.test"], ...c.headers];
  if (c.upstreamSets) headers.push(echoResponseHeaders(c.upstreamSets));
  const res = await request(e.url(c.path, listener), {
    method: c.method ?? "GET",
    headers,
    body: c.method === "POST" ? "body" : undefined,
  });
  expect(res.status).toBe(200);
  const seen = parseEcho(res.body);
  // The peer address differs per connection only by the client's port: write that port as a
  // placeholder. A wrong port (or address) stays as it is and the comparison fails.
  const peer = `127.0.0.1:${res.localPort}`;
  const unport = (pairs: HeaderPairs): HeaderPairs => pairs.map(([k, v]) => [k, v === peer ? "127.0.0.1:<client port>" : v]);
  return { upstreamSaw: { path: seen.path, headers: normalize(unport(seen.headers)) }, clientGot: normalize(unport(res.headers)) };
}

describe("header-rewrite vs native header_mutation (oracle)", () => {
  for (const c of CORPUS) {
    it(`same headers out: ${c.name}`, async () => {
      const native = await through("native", c);
      const ours = await through("ours", c);
      expect(ours.upstreamSaw).toEqual(native.upstreamSaw);
      expect(ours.clientGot).toEqual(native.clientGot);
    });
  }

  it("the rules really changed something (the comparison is not vacuous)", async () => {
    const r = await through("ours", CORPUS[2]!);
    expect(r.upstreamSaw.headers["x-set"]).toEqual(["fixed"]);
    expect(r.upstreamSaw.headers["x-remove"]).toBeUndefined();
    expect(r.upstreamSaw.headers["x-ip"]).toEqual(["127.0.0.1"]);
    expect(r.upstreamSaw.headers["x-addr"]).toEqual(["127.0.0.1:<client port>"]);
    expect(r.upstreamSaw.headers["x-route"]).toEqual(["default"]);
    expect(r.upstreamSaw.headers["x-cond"]).toBeUndefined();
    const cond = await through("ours", CORPUS.find((c) => c.name === "conditional rule's route")!);
    expect(cond.upstreamSaw.headers["x-cond"]).toEqual(["matched"]);
    expect(cond.upstreamSaw.headers["x-cond-src"]).toEqual(["c1"]);
    expect(cond.upstreamSaw.headers["x-route"]).toEqual(["cond"]);
    expect(cond.clientGot["x-resp-cond"]).toEqual(["GET"]);
    expect(cond.clientGot["x-resp-route"]).toEqual(["cond"]);
  });
});
