// The suite module through the proxy-wasm host emulator, as a differential test: the same requests
// through (a) the standalone modules as a chain of separate VMs (one per filter, as Envoy runs a
// chain of Wasm filters) and (b) the suite with the same configurations in one VM must give the
// same status, body, upstream request headers, response headers and metrics: a valid token, no
// token (401, the rate limit not charged), over the limit (429), a remote JWKS fetch that pauses
// the request then resumes it (and one that is never answered: the wait ends on the timer), a
// global rate-limit rule paused for the service's answer; and with header-rewrite first, whether
// it sees the replies of the filters after it. Plus configuration errors naming the field, the
// module serving a member on its own, and the suite's host calls per bench request (the three
// standalone filters' calls, less the reads the members share). And a member reading the headers
// the members before it changed, in the same callback (the members share one listing).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { requestCost } from "../../../bench/cost.js";
import { scenarios } from "../../../bench/scenarios.js";
import {
  type GrpcCall,
  type HeaderList,
  type HttpCall,
  type HttpCallReply,
  type HttpStream,
  LogLevel,
  type Plugin,
  ProxyWasmVm,
} from "../../../emulator/index.js";
import { generateKey, jwksOf, mint, type TestKey } from "../../../test/support/jwt.js";
import { repoRoot } from "../../../test/support/paths.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";
import { encodeResponse } from "../../rate-limit/test/rls-proto.js";

type Json = Record<string, unknown>;
type Member = "jwt-auth" | "rate-limit" | "header-rewrite" | "key-auth" | "basic-auth";
type Chain = [Member, Json][];

const T0 = Date.UTC(2030, 0, 1);
const ISSUER = "https://idp.example.test";
const PEER = "203.0.113.7:50123";
const CLUSTERS = ["jwks", "ratelimit"];

const modules = new Map<string, WebAssembly.Module>();
let key: TestKey;
let jwks: object;
beforeAll(async () => {
  for (const name of ["suite", "jwt-auth", "rate-limit", "header-rewrite", "key-auth"]) {
    modules.set(name, await WebAssembly.compile(readFileSync(builtFilter(name))));
  }
  key = await generateKey("RS256", "suite-key");
  jwks = jwksOf([key]);
}, 300_000);

const token = (sub: string) => mint(key, { iss: ISSUER, sub, exp: T0 / 1000 + 3600, iat: T0 / 1000 });

const jwtInline = (): Json => ({
  providers: [{ name: "idp", issuer: ISSUER, jwks, claims_to_headers: [{ claim: "sub", header: "x-user" }] }],
  rules: [{ requires: ["idp"] }],
});
const jwtRemote = (): Json => ({
  providers: [
    {
      name: "idp",
      issuer: ISSUER,
      remote_jwks: { cluster: "jwks", path: "/jwks.json", timeout: "1s" },
      claims_to_headers: [{ claim: "sub", header: "x-user" }],
    },
  ],
  rules: [{ requires: ["idp"] }],
});
/** Two requests an hour per user: the user is the x-user header jwt-auth sets, so order matters. */
const rateLocal: Json = {
  rate_limit_headers: true,
  rules: [{ name: "per_user", requests: 2, period: "1h", key: [{ header: "x-user" }] }],
};
const rateGlobal: Json = {
  global: { cluster: "ratelimit", domain: "suite" },
  rules: [{ name: "per_user", scope: "global", requests: 5, period: "1h", key: [{ header: "x-user" }] }],
};
const rewrite: Json = {
  rules: [
    {
      name: "every",
      request: { set: { "x-gateway": "portico", "x-seen-user": "${request.header.x-user}" }, remove: ["x-internal"] },
      response: { set: { "x-served-by": "portico" }, remove: ["x-envoy-upstream-service-time"] },
    },
  ],
};

/** How the emulated Envoy answers the filters' calls: the JWKS server and the rate limit service. */
interface Answers {
  http?: (call: HttpCall) => HttpCallReply;
  grpc?: (call: GrpcCall) => Uint8Array;
}

interface Stage {
  vm: ProxyWasmVm;
  plugin: Plugin;
}

/** A gateway: its stages in chain order (one per filter, or the one suite). */
interface Gateway {
  name: string;
  stages: Stage[];
  /** Metric value by name, over all its VMs. */
  metric(name: string): number;
}

async function stage(module: string, rootId: string, config: Json): Promise<Stage> {
  const vm = await ProxyWasmVm.load(modules.get(module)!, { startTime: T0, clusters: CLUSTERS, vmId: `${module}.${rootId}` });
  const plugin = vm.configurePlugin({ config: JSON.stringify(config), rootId, name: rootId });
  const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(plugin.ok, `${rootId} refused its configuration: ${errors.join("\n")}`).toBe(true);
  return { vm, plugin };
}

function gateway(name: string, stages: Stage[]): Gateway {
  return { name, stages, metric: (n) => stages.reduce((sum, s) => sum + (s.vm.metric(n) ?? 0), 0) };
}

/** (a) one VM per filter, as Envoy runs a chain of Wasm filters; (b) the suite, with the same configurations. */
async function pair(chain: Chain): Promise<[Gateway, Gateway]> {
  const separate: Stage[] = [];
  for (const [filter, config] of chain) separate.push(await stage(filter, filter, config));
  const suite = await stage("suite", "suite", { plugins: chain.map(([filter, config]) => ({ filter, config })) });
  return [gateway("chain", separate), gateway("suite", [suite])];
}

interface Outcome {
  status: number;
  body: string;
  /** The request headers that reached the upstream; null when a filter answered. */
  upstream: HeaderList | null;
  response: HeaderList;
  /** Some filter paused the request (waited for a call's answer) before it went on. */
  paused: boolean;
}

const UPSTREAM_RESPONSE: HeaderList = [
  [":status", "200"],
  ["content-type", "text/plain"],
  ["x-envoy-upstream-service-time", "3"],
];
const sorted = (h: HeaderList): HeaderList => [...h].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));

/** Answers every pending call of the stage's VM; false when none was pending. */
function answerCalls(s: Stage, answers: Answers): boolean {
  const http = s.vm.pendingHttpCalls;
  const grpc = s.vm.grpcCalls;
  if (http.length === 0 && grpc.length === 0) return false;
  for (const call of http) s.vm.respondToHttpCall(call.token, answers.http!(call));
  for (const call of grpc) s.vm.respondGrpc(call.token, answers.grpc!(call));
  return true;
}

/**
 * One request through the gateway, driven as Envoy drives a chain: request headers through the
 * stages in order (a paused stage gets its calls answered); a local reply goes back through the
 * stages before the one that sent it (which ran its own response callbacks already) — the
 * stages after it never saw the request; else the upstream response goes back through all.
 */
function send(gw: Gateway, request: HeaderList, answers: Answers = {}): Outcome {
  const streams: HttpStream[] = [];
  let headers = request;
  let paused = false;
  let replied = -1;
  for (const [i, s] of gw.stages.entries()) {
    const stream = s.plugin.newHttpStream({ properties: { "source.address": PEER } });
    streams.push(stream);
    stream.sendRequestHeaders(headers, { endOfStream: true });
    while (stream.paused && !stream.localResponse) {
      paused = true;
      if (!answerCalls(s, answers)) throw new Error(`${gw.name}: stage ${i} paused with no call to answer`);
    }
    if (stream.localResponse) {
      replied = i;
      break;
    }
    headers = stream.requestHeaders;
  }
  let response = UPSTREAM_RESPONSE;
  let body = "upstream";
  let from = streams.length - 1;
  if (replied >= 0) {
    response = streams[replied]!.responseHeaders;
    body = streams[replied]!.localResponse!.body;
    from = replied - 1;
  }
  for (let j = from; j >= 0; j--) {
    streams[j]!.sendResponseHeaders(response, { endOfStream: true });
    response = streams[j]!.responseHeaders;
  }
  for (const s of streams) s.complete();
  return {
    status: Number(response.find(([k]) => k === ":status")?.[1]),
    body,
    upstream: replied >= 0 ? null : sorted(headers),
    response: sorted(response),
    paused,
  };
}

/** Sends the same request to both and expects the same outcome; returns it. */
function same(gws: [Gateway, Gateway], request: HeaderList, answers: Answers = {}): Outcome {
  const [a, b] = gws.map((gw) => send(gw, request, answers)) as [Outcome, Outcome];
  expect(b).toEqual(a);
  return a;
}

const request = (extra: HeaderList = []): HeaderList => [
  [":method", "GET"],
  [":path", "/api/items"],
  [":authority", "api.example.test"],
  [":scheme", "http"],
  ["x-internal", "secret"],
  ...extra,
];
const bearer = async (sub: string): Promise<HeaderList> => [["authorization", `Bearer ${await token(sub)}`]];
const header = (o: Outcome, name: string, upstream = false) => (upstream ? o.upstream : o.response)?.find(([k]) => k === name)?.[1];

describe("suite vs the same filters as a chain of separate VMs (emulator)", () => {
  it("a valid token passes: x-user from jwt-auth, charged by rate-limit, header-rewrite's request and response headers", async () => {
    const gws = await pair([
      ["jwt-auth", jwtInline()],
      ["rate-limit", rateLocal],
      ["header-rewrite", rewrite],
    ]);
    const o = same(gws, request(await bearer("alice")));
    expect(o.status).toBe(200);
    expect(header(o, "x-user", true)).toBe("alice");
    expect(header(o, "x-seen-user", true)).toBe("alice"); // header-rewrite ran after jwt-auth
    expect(header(o, "x-internal", true)).toBeUndefined();
    expect(header(o, "authorization", true)).toBeUndefined();
    expect(header(o, "x-served-by")).toBe("portico");
    expect(header(o, "ratelimit-remaining")).toBe("1");
    expect(header(o, "x-envoy-upstream-service-time")).toBeUndefined();
    for (const gw of gws) expect(gw.metric("portico.rate_limit.per_user.allowed_total")).toBe(1);
  });

  it("no token: jwt-auth's 401, rate-limit never charged, header-rewrite (after it) never sees the reply", async () => {
    const gws = await pair([
      ["jwt-auth", jwtInline()],
      ["rate-limit", rateLocal],
      ["header-rewrite", rewrite],
    ]);
    const o = same(gws, request());
    expect(o.status).toBe(401);
    expect(o.body).toContain("missing_token");
    expect(header(o, "www-authenticate")).toMatch(/^Bearer realm=/);
    expect(header(o, "x-served-by")).toBeUndefined();
    for (const gw of gws) {
      expect(gw.metric("portico.jwt_auth.denied_missing_total")).toBe(1);
      expect(gw.metric("portico.rate_limit.per_user.allowed_total")).toBe(0);
      expect(gw.metric("portico.rate_limit.per_user.limited_total")).toBe(0);
      expect(gw.metric("portico.header_rewrite.requests_total")).toBe(0);
    }
  });

  it("over the limit: rate-limit's 429 with its headers; the third request of a user in the hour", async () => {
    const gws = await pair([
      ["jwt-auth", jwtInline()],
      ["rate-limit", rateLocal],
      ["header-rewrite", rewrite],
    ]);
    const alice = request(await bearer("alice"));
    expect(same(gws, alice).status).toBe(200);
    expect(same(gws, alice).status).toBe(200);
    const o = same(gws, alice);
    expect(o.status).toBe(429);
    expect(header(o, "retry-after")).toBeDefined();
    expect(header(o, "x-served-by")).toBeUndefined();
    expect(same(gws, request(await bearer("bob"))).status).toBe(200); // another user, another bucket
  });

  it("with header-rewrite first, its response rules apply to the 401 and the 429 of the filters after it", async () => {
    const gws = await pair([
      ["header-rewrite", rewrite],
      ["jwt-auth", jwtInline()],
      ["rate-limit", rateLocal],
    ]);
    const denied = same(gws, request());
    expect(denied.status).toBe(401);
    expect(header(denied, "x-served-by")).toBe("portico");
    const alice = request(await bearer("alice"));
    same(gws, alice);
    same(gws, alice);
    const limited = same(gws, alice);
    expect(limited.status).toBe(429);
    expect(header(limited, "x-served-by")).toBe("portico");
  });

  it("a remote JWKS: the request waits for the fetch, then passes through the later filters", async () => {
    const gws = await pair([
      ["jwt-auth", jwtRemote()],
      ["rate-limit", rateLocal],
      ["header-rewrite", rewrite],
    ]);
    const fetched: string[] = [];
    const answers: Answers = {
      http: (call) => {
        fetched.push(call.upstream);
        return { status: 200, body: JSON.stringify(jwks) };
      },
    };
    const o = same(gws, request(await bearer("carol")), answers);
    expect(o.paused).toBe(true);
    expect(fetched).toEqual(["jwks", "jwks"]); // one fetch per gateway
    expect(o.status).toBe(200);
    expect(header(o, "x-seen-user", true)).toBe("carol");
    expect(header(o, "ratelimit-remaining")).toBe("1");
    // The keys are known now: no wait.
    expect(same(gws, request(await bearer("carol")), answers).paused).toBe(false);
  });

  it("a remote JWKS fetch never answered: the wait ends on the filter's timer (the suite's tick) with a 401", async () => {
    const gws = await pair([
      ["jwt-auth", jwtRemote()],
      ["rate-limit", rateLocal],
      ["header-rewrite", rewrite],
    ]);
    const tokenHeaders = request(await bearer("dave"));
    const outcomes: HttpStream[][] = [];
    for (const gw of gws) {
      const stream = gw.stages[0]!.plugin.newHttpStream({ properties: { "source.address": PEER } });
      stream.sendRequestHeaders(tokenHeaders, { endOfStream: true });
      expect(stream.paused).toBe(true);
      expect(gw.stages[0]!.vm.pendingHttpCalls).toHaveLength(1);
      gw.stages[0]!.vm.advanceTime(1500); // past remote_jwks.timeout (1s): jwt-auth's tick gives up
      outcomes.push([stream]);
    }
    const [a, b] = outcomes.map(([s]) => ({ status: s!.localResponse?.status, body: s!.localResponse?.body })) as [object, object];
    expect(a).toEqual({ status: 401, body: expect.stringContaining("invalid_token") });
    expect(b).toEqual(a);
    expect(gws[1].stages[0]!.plugin.tickPeriodMs).toBe(200); // gcd of jwt-auth's 200 ms and rate-limit's 5 s
  });

  it("members' periods with a tiny common divisor (jwt-auth 200 ms, a 333 ms sync) step at 200 ms, not 1 ms, and jwt-auth's wait still ends on time", async () => {
    const synced: Json = {
      ...rateGlobal,
      rules: [{ name: "per_user", scope: "global", requests: 5, period: "1h", sync: "333ms", key: [{ header: "x-user" }] }],
    };
    const gws = await pair([
      ["jwt-auth", jwtRemote()],
      ["rate-limit", synced],
    ]);
    const suite = gws[1].stages[0]!;
    expect(suite.plugin.tickPeriodMs).toBe(200); // gcd(200, 333) is 1: the shorter period instead
    const stream = suite.plugin.newHttpStream({ properties: { "source.address": PEER } });
    stream.sendRequestHeaders(request(await bearer("erin")), { endOfStream: true });
    expect(stream.paused).toBe(true);
    suite.vm.advanceTime(1500); // past remote_jwks.timeout (1s)
    expect(stream.localResponse?.status).toBe(401);
  });

  it("a global rate-limit rule: the request waits for the service's answer, OK passes and OVER_LIMIT is a 429", async () => {
    const gws = await pair([
      ["jwt-auth", jwtInline()],
      ["rate-limit", rateGlobal],
      ["header-rewrite", rewrite],
    ]);
    const descriptors: string[] = [];
    const answer =
      (code: "OK" | "OVER_LIMIT"): Answers["grpc"] =>
      (call) => {
        descriptors.push(Buffer.from(call.message).toString("latin1"));
        const limit = { requests_per_unit: 5, unit: "HOUR" as const };
        return encodeResponse(code, [code === "OK" ? { code, limit, limit_remaining: 4, resetMs: 1000 } : { code, limit, resetMs: 1000 }]);
      };
    const ok = same(gws, request(await bearer("erin")), { grpc: answer("OK") });
    expect(ok.paused).toBe(true);
    expect(ok.status).toBe(200);
    expect(header(ok, "x-seen-user", true)).toBe("erin");
    expect(descriptors).toHaveLength(2);
    expect(descriptors[0]).toContain("erin"); // the descriptor carries the x-user jwt-auth set
    const over = same(gws, request(await bearer("erin")), { grpc: answer("OVER_LIMIT") });
    expect(over.status).toBe(429);
    expect(over.paused).toBe(true);
    for (const gw of gws) expect(gw.metric("portico.rate_limit.per_user.limited_total")).toBe(1);
  });
});

describe("suite vs a chain: two pauses in one request (emulator)", () => {
  it("waits for the JWKS fetch, then (resumed inside jwt-auth's answer) for the rate limit service, then passes or gets the 429", async () => {
    const gws = await pair([
      ["jwt-auth", jwtRemote()],
      ["rate-limit", rateGlobal],
      ["header-rewrite", rewrite],
    ]);
    const answered: string[] = [];
    const limit = { requests_per_unit: 5, unit: "HOUR" as const };
    const answers = (code: "OK" | "OVER_LIMIT"): Answers => ({
      http: () => {
        answered.push("jwks");
        return { status: 200, body: JSON.stringify(jwks) };
      },
      grpc: () => {
        answered.push("rls");
        return encodeResponse(code, [code === "OK" ? { code, limit, limit_remaining: 4, resetMs: 1000 } : { code, limit, resetMs: 1000 }]);
      },
    });
    const ok = same(gws, request(await bearer("gina")), answers("OK"));
    expect(ok.status).toBe(200);
    expect(ok.paused).toBe(true);
    expect(header(ok, "x-seen-user", true)).toBe("gina");
    // Per gateway: the key set first, then the service (the suite routes the gRPC answer to rate-limit).
    expect(answered).toEqual(["jwks", "rls", "jwks", "rls"]);
    const over = same(gws, request(await bearer("gina")), answers("OVER_LIMIT"));
    expect(over.status).toBe(429);
    for (const gw of gws) expect(gw.stages.at(-1)!.vm.grpcCalls).toEqual([]);
  });
});

/** A suite VM running two header-rewrite members: `first`, then `second`, which reads what `first` changed. */
async function twoRewrites(first: Json, second: Json, options: { countHostCalls?: boolean } = {}) {
  const vm = await ProxyWasmVm.load(modules.get("suite")!, { startTime: T0, ...options });
  const plugins = [first, second].map((config) => ({ filter: "header-rewrite", config }));
  const p = vm.configurePlugin({ config: JSON.stringify({ plugins }), rootId: "suite" });
  expect(p.ok).toBe(true);
  return { vm, p };
}

describe("suite configuration", () => {
  async function configure(config: unknown, rootId = "suite"): Promise<{ ok: boolean; errors: string }> {
    const vm = await ProxyWasmVm.load(modules.get("suite")!, { startTime: T0 });
    const p = vm.configurePlugin({ config: typeof config === "string" ? config : JSON.stringify(config), rootId });
    return {
      ok: p.ok,
      errors: vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n"),
    };
  }

  const bad: [string, unknown, string][] = [
    ["no plugins field", {}, "suite: invalid configuration: plugins: is required"],
    ["an empty plugins list", { plugins: [] }, "plugins: must list at least one plugin"],
    ["plugins not a list", { plugins: {} }, "plugins: must be an array, got an object"],
    [
      "an unknown filter",
      { plugins: [{ filter: "nope", config: {} }] },
      'plugins[0].filter: unknown filter "nope"; known: jwt-auth, key-auth',
    ],
    ["a missing filter", { plugins: [{ config: {} }] }, "plugins[0].filter: is required"],
    [
      "a config that is not an object",
      { plugins: [{ filter: "rate-limit", config: "x" }] },
      "plugins[0].config: must be an object, got a string",
    ],
    ["a missing config", { plugins: [{ filter: "rate-limit" }] }, "plugins[0].config: is required"],
    ["an unknown field in an entry", { plugins: [{ filter: "rate-limit", config: {}, confg: {} }] }, "plugins[0].confg: unknown field"],
    ["text that is not JSON", "{plugins", "suite: invalid configuration: configuration is not valid JSON"],
    [
      "a member's own error, under its place",
      {
        plugins: [
          { filter: "header-rewrite", config: rewrite },
          { filter: "rate-limit", config: { rules: [{ name: "r", requests: 0, period: "1s" }] } },
        ],
      },
      "plugins[1].config.rules[0].requests: must be",
    ],
    [
      "a member's error at its top level",
      { plugins: [{ filter: "header-rewrite", config: { rulez: [] } }] },
      "plugins[0].config.rulez: unknown field",
    ],
    [
      // The member's own size limit (512 KiB) is below the suite's (8 MiB): the member says it, located.
      "a member's config over the member's size limit",
      { plugins: [{ filter: "header-rewrite", config: { ...rewrite, padding: "x".repeat(600_000) } }] },
      "suite: invalid configuration: plugins[0].config: is 600",
    ],
  ];
  it.each(bad)("%s: Envoy is told to reject it, with the field named", async (_what, config, message) => {
    const r = await configure(config);
    expect(r.ok).toBe(false);
    expect(r.errors).toContain(message);
  });

  it("more than 16 plugins is refused", async () => {
    const r = await configure({ plugins: Array.from({ length: 17 }, () => ({ filter: "header-rewrite", config: rewrite })) });
    expect(r.ok).toBe(false);
    expect(r.errors).toContain("plugins: has 17 items, at most 16 allowed");
  });

  // The members share the callback's one listing of the request headers, which follows each
  // member's changes (assembly/runtime/header-listing.ts): a member must read the map as the
  // members before it left it, as it would behind them in Envoy.
  it("a member reads the headers the members before it changed: removed, set, re-added, repeated", async () => {
    const first: Json = {
      stat_prefix: "first",
      rules: [
        {
          // jwt-auth removed authorization and set x-user; both are what this match sees.
          match: {
            headers: [
              { name: "authorization", present: false },
              { name: "x-user", present: true },
            ],
          },
          request: {
            set: { "x-dup": "set-${request.header.x-user}" },
            set_if_absent: { authorization: "Internal ${request.header.x-user}" },
            add: { "x-dup": ["added"], "x-tag": ["third"] },
          },
        },
      ],
    };
    const second: Json = {
      stat_prefix: "second",
      rules: [
        {
          match: { headers: [{ name: "authorization", prefix: "Internal " }] },
          request: {
            rename: { "x-tag": "x-tags" },
            set: {
              "x-seen-auth": "${request.header.authorization}",
              "x-first-dup": "${request.header.x-dup}",
            },
            set_if_absent: { "x-user": "never", "x-tags": "never" },
          },
        },
      ],
    };
    const gws = await pair([
      ["jwt-auth", jwtInline()],
      ["rate-limit", rateLocal],
      ["header-rewrite", first],
      ["header-rewrite", second],
    ]);
    // The client's own x-user (twice, one spelled with "_") is stripped by jwt-auth before it sets its own.
    const sent = request([
      ...(await bearer("alice")),
      ["x-user", "mallory"],
      ["x_user", "mallory"],
      ["x-dup", "one"],
      ["x-dup", "two"],
      ["x-tag", "first"],
      ["x-tag", "second"],
    ]);
    const o = same(gws, sent);
    expect(o.status).toBe(200);
    const upstream = (name: string) => o.upstream!.filter(([k]) => k === name).map(([, v]) => v);
    expect(upstream("x-user")).toEqual(["alice"]);
    expect(upstream("x_user")).toEqual([]);
    expect(upstream("authorization")).toEqual(["Internal alice"]); // removed by jwt-auth, re-added by the first rewrite
    expect(upstream("x-seen-auth")).toEqual(["Internal alice"]); // ... and read by the second
    expect(upstream("x-dup").sort()).toEqual(["added", "set-alice"]); // set replaced both sent values
    expect(upstream("x-first-dup")).toEqual(["set-alice"]); // the set value first, the added one after it
    expect(upstream("x-tag")).toEqual([]);
    // Every value moved, in order; set_if_absent (after rename, in the same member) saw them there.
    expect(upstream("x-tags")).toEqual(["first", "second", "third"]);
    expect(header(o, "ratelimit-remaining")).toBe("1"); // keyed on x-user as jwt-auth set it
    // The same through the suite for the next user: nothing of alice's request is left over.
    const bob = same(gws, request([...(await bearer("bob")), ["x-tag", "b"]]));
    expect(bob.upstream!.filter(([k]) => k === "x-seen-auth")).toEqual([["x-seen-auth", "Internal bob"]]);
    expect(bob.upstream!.filter(([k]) => k === "x-tags")).toEqual([
      ["x-tags", "b"],
      ["x-tags", "third"],
    ]);
  });

  it("the next member reads the shared listing, unless the change was an add to a header already there", async () => {
    // Envoy may merge an add into an existing entry (an "inline" header such as x-forwarded-for):
    // the runtime cannot know which, so it lists the map again instead of guessing.
    const adds: Json = { rules: [{ match: { path: { prefix: "/" } }, request: { add: { "x-tag": ["added"] } } }] };
    const reads: Json = { stat_prefix: "reads", rules: [{ request: { set: { "x-first-tag": "${request.header.x-tag}" } } }] };
    const { vm, p } = await twoRewrites(adds, reads, { countHostCalls: true });
    const run = (extra: HeaderList) => {
      vm.hostCalls.clear();
      const s = p.newHttpStream({ properties: { "source.address": PEER } });
      s.sendRequestHeaders(request(extra), { endOfStream: true });
      const listings = vm.hostCalls.get("proxy_get_header_map_pairs");
      s.complete();
      return { firstTag: s.requestHeader("x-first-tag"), listings };
    };
    expect(run([])).toEqual({ firstTag: "added", listings: 1 }); // the add applied to the listing
    expect(run([["x-tag", "sent"]])).toEqual({ firstTag: "sent", listings: 2 }); // listed again after it
  });

  it("key-auth's hidden key (header, query parameter, cookie) is gone for the member after it", async () => {
    const key = "suite-key-alice";
    const keyAuth: Json = {
      key_sources: [{ header: "x-api-key" }, { query: "api_key" }, { cookie: "session_key" }],
      consumers: [{ name: "alice", keys: [{ id: "laptop", sha256: createHash("sha256").update(key).digest("hex") }] }],
    };
    const reads: Json = {
      rules: [
        {
          request: {
            set: {
              "x-seen-path": "${request.path}",
              "x-seen-cookie": "${request.header.cookie}",
              "x-seen-key": "${request.header.x-api-key}",
              "x-seen-consumer": "${request.header.x-consumer-name}",
            },
          },
        },
      ],
    };
    const gws = await pair([
      ["key-auth", keyAuth],
      ["header-rewrite", reads],
    ]);
    const o = same(gws, [
      [":method", "GET"],
      [":path", `/api/items?a=1&api_key=${key}&b=2`],
      [":authority", "api.example.test"],
      [":scheme", "http"],
      ["x-api-key", key],
      ["cookie", `theme=dark; session_key=${key}`],
      ["cookie", "lang=en"],
    ]);
    expect(o.status).toBe(200);
    expect(header(o, "x-seen-path", true)).toBe("/api/items?a=1&b=2");
    expect(header(o, "x-seen-key", true)).toBeUndefined();
    expect(header(o, "x-seen-consumer", true)).toBe("alice");
    expect(header(o, "x-seen-cookie", true)).not.toContain(key);
    expect(o.upstream!.filter(([k]) => k === "cookie")).toHaveLength(1); // one Cookie header with the rest
  });

  it("the module still serves each member on its own (root_id jwt-auth)", async () => {
    const vm = await ProxyWasmVm.load(modules.get("suite")!, { startTime: T0 });
    const p = vm.configurePlugin({ config: JSON.stringify(jwtInline()), rootId: "jwt-auth" });
    expect(p.ok).toBe(true);
    const denied = p.newHttpStream({ properties: { "source.address": PEER } });
    denied.sendRequestHeaders(request(), { endOfStream: true });
    expect(denied.localResponse?.status).toBe(401);
    const passed = p.newHttpStream({ properties: { "source.address": PEER } });
    passed.sendRequestHeaders(request(await bearer("frank")), { endOfStream: true });
    expect(passed.localResponse).toBeUndefined();
    expect(passed.requestHeader("x-user")).toBe("frank");
  });
});

describe("suite memory", () => {
  it("the shared listing keeps linear memory flat, with maps past its retain bound (16 KiB) between small ones", async () => {
    const edits: Json = {
      rules: [{ match: { path: { prefix: "/" } }, request: { set: { "x-a": "${request.header.x-big}" }, remove: ["x-drop"] } }],
    };
    const reads: Json = {
      stat_prefix: "reads",
      rules: [{ request: { set: { "x-b": "${request.header.x-a}" }, rename: { "x-key": "x-k" } } }],
    };
    const { vm, p } = await twoRewrites(edits, reads);
    // x-big and x-pad list as 13 KiB; x-big copied into x-a grows the listing past 16 KiB.
    const big = "b".repeat(7 * 1024);
    const one = (i: number) => {
      const s = p.newHttpStream({ properties: { "source.address": PEER } });
      s.sendRequestHeaders(
        request([
          ["x-big", i % 2 ? big : "small"],
          ["x-pad", i % 2 ? "p".repeat(6 * 1024) : ""],
          ["x-drop", "1"],
          ["x-key", "k"],
        ]),
        { endOfStream: true },
      );
      s.complete();
      return s;
    };
    const check = one(1);
    expect(check.requestHeader("x-b")).toBe(big); // the second member read the first one's copy
    expect(check.requestHeader("x-k")).toBe("k");
    for (let i = 0; i < 4000; i++) one(i);
    const afterWarmUp = vm.memoryBytes();
    const samples: number[] = [];
    for (let i = 1; i <= 20_000; i++) {
      one(i);
      if (i % 4000 === 0) samples.push(vm.memoryBytes());
    }
    expect(Math.max(...samples)).toBeLessThanOrEqual(afterWarmUp + 65536);
    expect(samples.at(-1)).toBe(samples.at(-3));
  }, 120_000);
});

describe("filters/suite/config.schema.json", () => {
  /** The schema as an editor resolves it: each member's schema (and the shared one) from its file. */
  function suiteSchema() {
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
    ajv.addKeyword({ keyword: "deprecationMessage", schemaType: "string" });
    const load = (path: string) => {
      const url = pathToFileURL(`${repoRoot}/filters/${path}`).href;
      ajv.addSchema(JSON.parse(readFileSync(`${repoRoot}/filters/${path}`, "utf8")), url);
      return url;
    };
    load("shared.schema.json");
    for (const m of ["jwt-auth", "key-auth", "basic-auth", "rate-limit", "header-rewrite"]) load(`${m}/config.schema.json`);
    return ajv.getSchema(load("suite/config.schema.json"))!;
  }

  it("accepts what the suite accepts, and refuses its list errors and a member's own error", async () => {
    const validate = suiteSchema();
    const good = {
      plugins: [
        { filter: "jwt-auth", config: jwtInline() },
        { filter: "rate-limit", config: rateGlobal },
        { filter: "header-rewrite", config: rewrite },
      ],
    };
    expect(validate(good), JSON.stringify(validate.errors)).toBe(true);
    await stage("suite", "suite", good); // the filter accepts it too
    for (const bad of [
      {},
      { plugins: [] },
      { plugins: [{ filter: "nope", config: {} }] },
      { plugins: [{ filter: "rate-limit", config: "x" }] },
      { plugins: [{ filter: "rate-limit" }] },
      { plugins: [{ filter: "header-rewrite", config: { rulez: [] } }] },
    ]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("suite cost (bench/cost.ts)", () => {
  it("a bench request through the suite reads the headers, the clock and source.address once, which the three standalone filters read twice each", async () => {
    const ours = scenarios("bench").find((s) => s.name === "chain-ours")!;
    const separate = await requestCost(ours.plugins!);
    const suite = scenarios("bench").find((s) => s.name === "chain-suite")!;
    const together = await requestCost(suite.plugins!);
    expect(together.totalHostCalls).toBeGreaterThan(0);
    for (const read of ["proxy_get_header_map_pairs", "proxy_get_current_time_nanoseconds", "proxy_get_property"]) {
      expect(separate.hostCalls[read], read).toBe(2);
      expect(together.hostCalls[read], read).toBe(1);
    }
    // Every other call (the members' writes, metrics, the rate limit's shared data) as apart.
    expect(together.hostCalls).toEqual({
      ...separate.hostCalls,
      proxy_get_header_map_pairs: 1,
      proxy_get_current_time_nanoseconds: 1,
      proxy_get_property: 1,
    });
    expect(together.totalHostCalls).toBe(separate.totalHostCalls - 3);
  }, 120_000);
});
