// key-auth in a real Envoy 1.40: a good key reaches the upstream as the consumer's identity with
// the key taken out (header, query parameter, cookie); a missing or wrong key is answered 401 with
// WWW-Authenticate; client-sent identity headers in any spelling never reach the upstream;
// anonymous callers; the identity in Envoy's filter state (read back by the access log); metrics
// on /stats; a bad config refused at start with the field named; the shipped example config.
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoedHeader,
  filterWasm,
  httpListener,
  loadExampleConfig,
  parseEcho,
  pollUntil,
  request,
  staticCluster,
  startEnvoyExpectFailure,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type EchoUpstream,
  type Envoy,
  type HttpResponse,
  type Json,
} from "../support/index.js";

const WASM = filterWasm("key-auth");
const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const sha256 = (k: string) => createHash("sha256").update(k).digest("hex");
const ALICE_KEY = "e2e-alice-key-7f3a";
const BOB_KEY = "e2e-bob-key-91c2";

const CONSUMERS = [
  { name: "alice", groups: ["gold", "beta"], keys: [{ id: "alice-laptop", sha256: sha256(ALICE_KEY) }] },
  { name: "bob", keys: [{ id: "bob-1", sha256: sha256(BOB_KEY) }] },
  { name: "guest", groups: ["free"] },
];
const SOURCES = [{ header: "x-api-key" }, { query: "api_key" }, { cookie: "api_key" }];

function keyAuth(name: string, config: object): Json {
  return wasmHttpFilter({ file: WASM, name, rootId: "key-auth", vmId: name, configuration: config });
}

/** A listener whose access log writes the consumer filter state, one line per request. */
function listener(name: string, filters: Json[], accessLog?: string): Json {
  const l = httpListener({ name, httpFilters: filters });
  if (accessLog) {
    const hcm = ((l.filter_chains as Json[])[0]!.filters as Json[])[0]!.typed_config as Json;
    hcm.access_log = [
      {
        name: "envoy.access_loggers.file",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
          path: accessLog,
          log_format: {
            text_format_source: {
              inline_string:
                "%FILTER_STATE(wasm.portico_consumer:PLAIN)% %FILTER_STATE(wasm.portico_consumer_groups:PLAIN)% %FILTER_STATE(wasm.portico_credential:PLAIN)%\n",
            },
          },
        },
      },
    ];
  }
  return l;
}

let e: Envoy;
let up: EchoUpstream;
let accessLog: string;

beforeAll(async () => {
  up = await upstream();
  accessLog = `/tmp/key-auth-e2e-${process.pid}-${Date.now()}.log`;
  e = await envoy({
    name: "key-auth",
    config: bootstrap({
      listeners: [
        listener(
          "main",
          [keyAuth("ka_main", { stat_prefix: "main", key_sources: SOURCES, consumers: CONSUMERS, per_consumer_metrics: true })],
          accessLog,
        ),
        listener("anon", [keyAuth("ka_anon", { stat_prefix: "anon", consumers: CONSUMERS, anonymous: "guest" })]),
        listener("keep", [
          keyAuth("ka_keep", { stat_prefix: "keep", consumers: CONSUMERS, hide_credentials: false, upstream_headers: false }),
        ]),
      ],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);
afterAll(() => rmSync(accessLog, { force: true }));

const get = (listenerName: string, path: string, headers: [string, string][] = []) => request(e.url(path, listenerName), { headers });

function seen(r: HttpResponse) {
  expect(r.status, r.body).toBe(200);
  return parseEcho(r.body);
}

describe("a good key", () => {
  it("in the header: the upstream sees the consumer, its groups and credential, and no key", async () => {
    const rec = seen(await get("main", "/api/profile", [["x-api-key", ALICE_KEY]]));
    expect(echoedHeader(rec, "x-consumer-name")).toEqual(["alice"]);
    expect(echoedHeader(rec, "x-consumer-groups")).toEqual(["gold,beta"]);
    expect(echoedHeader(rec, "x-credential-identifier")).toEqual(["key:alice-laptop"]);
    expect(echoedHeader(rec, "x-api-key")).toEqual([]);
  });

  it("in the query: taken out of the path, the rest of the query intact", async () => {
    const rec = seen(await get("main", `/api/items?page=2&api_key=${BOB_KEY}&sort=-name&x=%2F`));
    expect(echoedHeader(rec, "x-consumer-name")).toEqual(["bob"]);
    expect(echoedHeader(rec, "x-consumer-groups")).toEqual([]);
    expect(rec.path).toBe("/api/items?page=2&sort=-name&x=%2F");
  });

  it("in a cookie: taken out of Cookie, the other cookies kept", async () => {
    const rec = seen(await get("main", "/api/items", [["cookie", `session=s1; api_key=${ALICE_KEY}; theme=dark`]]));
    expect(echoedHeader(rec, "x-consumer-name")).toEqual(["alice"]);
    expect(echoedHeader(rec, "cookie")).toEqual(["session=s1; theme=dark"]);
  });

  it("writes the identity to filter state, which Envoy's access log reads (wasm.portico_consumer)", async () => {
    await get("main", "/api/log-probe", [["x-api-key", ALICE_KEY]]);
    // Envoy flushes access logs on its own schedule: poll the file.
    const line = await pollUntil(
      async () => {
        try {
          return readFileSync(accessLog, "utf8")
            .split("\n")
            .find((l) => l.startsWith("alice "));
        } catch {
          return undefined;
        }
      },
      (l) => l !== undefined,
      { timeoutMs: 10_000, what: "an access log line for alice" },
    );
    expect(line).toBe("alice ,gold,beta, key:alice-laptop");
  });

  it("hide_credentials: false and upstream_headers: false forward the key and write no identity header", async () => {
    const rec = seen(await get("keep", "/x", [["x-api-key", ALICE_KEY]]));
    expect(echoedHeader(rec, "x-api-key")).toEqual([ALICE_KEY]);
    expect(echoedHeader(rec, "x-consumer-name")).toEqual([]);
  });
});

describe("a missing or wrong key", () => {
  for (const [what, headers, path, error] of [
    ["no key", [], "/api/items", "missing_key"],
    ["an empty key", [["x-api-key", ""]], "/api/items", "missing_key"],
    ["a wrong key", [["x-api-key", "guess"]], "/api/items", "invalid_key"],
    ["a wrong query key", [], "/api/items?api_key=guess", "invalid_key"],
    ["a key in the wrong case", [["x-api-key", ALICE_KEY.toUpperCase()]], "/api/items", "invalid_key"],
  ] as [string, [string, string][], string, string][]) {
    it(`${what}: 401 with WWW-Authenticate and {"error":"${error}"}, the upstream never asked`, async () => {
      const before = up.requests.length;
      const r = await get("main", path, headers);
      expect(r.status).toBe(401);
      expect(r.header("www-authenticate")).toBe('Key realm="portico"');
      expect(r.header("content-type")).toBe("application/json");
      expect(r.json()).toEqual({ error });
      expect(r.body).not.toContain("guess");
      expect(up.requests.length).toBe(before);
    });
  }
});

describe("spoofed identity headers", () => {
  const spoofed: [string, string][] = [
    ["x-consumer-name", "admin"],
    ["X_Consumer_Name", "admin"],
    ["x-consumer_groups", "root"],
    ["X-Credential-Identifier", "key:admin"],
  ];
  const noSpoof = (rec: { headers: [string, string][] }) => {
    const values = rec.headers.filter(([k]) => /^x[-_]consumer[-_]|^x[-_]credential[-_]identifier$/i.test(k)).map(([k, v]) => `${k}: ${v}`);
    expect(
      values.some((v) => v.includes("admin") || v.includes("root")),
      values.join("; "),
    ).toBe(false);
    return values;
  };

  it("never reach the upstream with a good key: only the filter's own", async () => {
    const rec = seen(await get("main", "/api/items", [["x-api-key", ALICE_KEY], ...spoofed]));
    expect(noSpoof(rec).sort()).toEqual([
      "x-consumer-groups: gold,beta",
      "x-consumer-name: alice",
      "x-credential-identifier: key:alice-laptop",
    ]);
  });

  it("never reach the upstream for an anonymous caller, nor when the filter writes no identity headers", async () => {
    const anon = seen(await get("anon", "/api/items", spoofed));
    expect(echoedHeader(anon, "x-consumer-name")).toEqual(["guest"]);
    noSpoof(anon);
    const keep = seen(await get("keep", "/api/items", [["x-api-key", BOB_KEY], ...spoofed]));
    expect(noSpoof(keep)).toEqual([]);
  });
});

describe("anonymous", () => {
  it("admits a request without a key as the anonymous consumer, still refuses a wrong key", async () => {
    const rec = seen(await get("anon", "/api/items"));
    expect(echoedHeader(rec, "x-consumer-name")).toEqual(["guest"]);
    expect(echoedHeader(rec, "x-consumer-groups")).toEqual(["free"]);
    expect(echoedHeader(rec, "x-credential-identifier")).toEqual(["anonymous"]);
    expect((await get("anon", "/api/items", [["x-api-key", "guess"]])).status).toBe(401);
    expect(echoedHeader(seen(await get("anon", "/api/items", [["x-api-key", BOB_KEY]])), "x-consumer-name")).toEqual(["bob"]);
  });
});

describe("metrics", () => {
  it("counts outcomes and, with per_consumer_metrics, admissions per consumer, on /stats", async () => {
    const before = await e.stats("key_auth\\.main\\.");
    const at = (m: Map<string, number>, n: string) => m.get(`wasmcustom.portico.key_auth.main.${n}`) ?? 0;
    await get("main", "/m", [["x-api-key", ALICE_KEY]]);
    await get("main", "/m", [["x-api-key", BOB_KEY]]);
    await get("main", "/m", [["x-api-key", "nope"]]);
    await get("main", "/m");
    const after = await e.stats("key_auth\\.main\\.");
    expect(at(after, "allowed_total") - at(before, "allowed_total")).toBe(2);
    expect(at(after, "invalid_total") - at(before, "invalid_total")).toBe(1);
    expect(at(after, "missing_total") - at(before, "missing_total")).toBe(1);
    expect(at(after, "consumer.alice.allowed_total") - at(before, "consumer.alice.allowed_total")).toBe(1);
    expect(at(after, "consumer.bob.allowed_total") - at(before, "consumer.bob.allowed_total")).toBe(1);
  });
});

describe("configuration", () => {
  it("refuses one key given to two consumers at start, naming the field and both consumers", async () => {
    const same = sha256("shared");
    const failure = await startEnvoyExpectFailure(
      bootstrap({
        listeners: [
          httpListener({
            name: "bad",
            directResponse: { status: 200 },
            httpFilters: [
              keyAuth("ka_bad", {
                consumers: [
                  { name: "alice", keys: [{ id: "a", sha256: same }] },
                  { name: "bob", keys: [{ id: "b", sha256: same }] },
                ],
              }),
            ],
          }),
        ],
      }),
      { name: "key-auth-bad" },
    );
    expect(failure.code).not.toBe(0);
    const line = failure.logs.split("\n").find((l) => l.includes("key-auth: invalid configuration"));
    expect(line).toContain('consumers[1].keys[0].sha256: the same key (digest) is given to consumers "alice" and "bob"');
  });
});

describe("key-auth example config (envoy-configs/key-auth.yaml)", () => {
  it("admits the demo keys from header, query and cookie, refuses a missing or wrong key", async () => {
    const ex = await envoy({ name: "key-auth-example", config: loadExampleConfig("key-auth.yaml", { upstreamPort: up.port }) });
    const alice = parseEcho((await request(ex.url("/api/profile"), { headers: [["x-api-key", "demo-key-alice"]] })).body);
    expect(echoedHeader(alice, "x-consumer-name")).toEqual(["alice"]);
    expect(echoedHeader(alice, "x-consumer-groups")).toEqual(["gold,beta"]);
    expect(echoedHeader(alice, "x-credential-identifier")).toEqual(["key:alice-laptop"]);
    expect(echoedHeader(alice, "x-api-key")).toEqual([]);
    const bob = parseEcho((await request(ex.url("/api/profile?api_key=demo-key-bob&page=2"))).body);
    expect(echoedHeader(bob, "x-consumer-name")).toEqual(["bob"]);
    expect(bob.path).toBe("/api/profile?page=2");
    const cookie = parseEcho((await request(ex.url("/api/profile"), { headers: [["cookie", "api_key=demo-key-bob; theme=dark"]] })).body);
    expect(echoedHeader(cookie, "cookie")).toEqual(["theme=dark"]);
    const none = await request(ex.url("/api/profile"));
    expect(none.status).toBe(401);
    expect(none.header("www-authenticate")).toBe('Key realm="portico"');
    expect(none.json()).toEqual({ error: "missing_key" });
    const wrong = await request(ex.url("/api/profile"), { headers: [["x-api-key", "guess"]] });
    expect(wrong.json()).toEqual({ error: "invalid_key" });
    const stats = await ex.stats("key_auth");
    expect(stats.get("wasmcustom.portico.key_auth.demo.allowed_total")).toBe(3);
    expect(stats.get("wasmcustom.portico.key_auth.demo.consumer.bob.allowed_total")).toBe(2);
  });
});
