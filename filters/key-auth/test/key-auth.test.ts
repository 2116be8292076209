// key-auth driven through the proxy-wasm host emulator: keys from headers, query parameters and
// cookies in order (with native api_key_auth's rules for empty values and "Bearer "), the digest
// lookup and the full compare, the 401s, anonymous callers, the identity in filter state and
// upstream headers, spoofed identity headers, hiding the key, metrics, and configuration errors
// naming the field.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type HeaderList, type HttpStream, type Plugin } from "../../../emulator/index.js";
import { builtFilter, exportedCallbacks } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("key-auth")));
}, 180_000);

type Json = Record<string, unknown>;

const sha256 = (key: string | Buffer) => createHash("sha256").update(key).digest("hex");

const ALICE_KEY = "alice-secret-key-0001";
const ALICE_KEY_2 = "alice-secret-key-0002";
const BOB_KEY = "bob-secret-key-0001";

const alice = (extra: Json = {}): Json => ({
  name: "alice",
  groups: ["gold", "beta"],
  keys: [
    { id: "alice-laptop", sha256: sha256(ALICE_KEY) },
    { id: "alice-ci", sha256: sha256(ALICE_KEY_2) },
  ],
  ...extra,
});
const bob = (extra: Json = {}): Json => ({ name: "bob", keys: [{ id: "bob-1", sha256: sha256(BOB_KEY) }], ...extra });
const guest = { name: "guest", groups: ["free"] };

const config = (extra: Json = {}): Json => ({ stat_prefix: "api", consumers: [alice(), bob(), guest], ...extra });

async function load(cfg: Json | string, headerBytes: "utf8" | "latin1" = "utf8"): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const vm = await ProxyWasmVm.load(module, { vmId: "key_auth", headerBytes });
  const p = vm.configurePlugin({ config: typeof cfg === "string" ? cfg : JSON.stringify(cfg), rootId: "key-auth", name: "key_auth" });
  return { vm, p };
}

async function plugin(cfg: Json = config(), headerBytes: "utf8" | "latin1" = "utf8"): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const r = await load(cfg, headerBytes);
  const errors = r.vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(r.p.ok, `configuration refused: ${errors.join("\n")}`).toBe(true);
  return r;
}

interface Reply {
  status: number;
  body: string;
  header(name: string): string | undefined;
  /** The request headers as the upstream gets them. */
  upstream: HeaderList;
  up(name: string): string[];
  /** Filter state the filter wrote (portico_consumer, ...). */
  state(name: string): string | undefined;
  stream: HttpStream;
}

function send(p: Plugin, headers: HeaderList = [], path = "/api/items"): Reply {
  const s = runHttpRequest(p, {
    requestHeaders: [[":method", "GET"], [":path", path], [":authority", "api.example.test"], [":scheme", "https"], ...headers],
  });
  const status = s.localResponse ? s.localResponse.status : 200;
  const upstream = s.requestHeaders;
  return {
    status,
    body: s.localResponse?.body ?? "",
    header: (name) => (s.localResponse?.headers ?? []).find(([k]) => k === name)?.[1],
    upstream,
    up: (name) => upstream.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v),
    state: (name) => {
      for (const [k, v] of s.properties) if (k.replace(/\0/g, "") === name) return Buffer.from(v).toString("utf8");
      return undefined;
    },
    stream: s,
  };
}

const withKey = (p: Plugin, key: string, header = "x-api-key") => send(p, [[header, key]]);

describe("a good key", () => {
  it("admits the caller as its consumer: filter state, upstream headers, the key removed", async () => {
    const { p } = await plugin();
    const r = withKey(p, ALICE_KEY);
    expect(r.status).toBe(200);
    expect(r.state("portico_consumer")).toBe("alice");
    expect(r.state("portico_consumer_groups")).toBe(",gold,beta,");
    expect(r.state("portico_credential")).toBe("key:alice-laptop");
    expect(r.up("x-consumer-name")).toEqual(["alice"]);
    expect(r.up("x-consumer-groups")).toEqual(["gold,beta"]);
    expect(r.up("x-credential-identifier")).toEqual(["key:alice-laptop"]);
    expect(r.up("x-api-key")).toEqual([]);
  });

  it("finds the consumer of each key (two keys of one consumer, another consumer's key)", async () => {
    const { p } = await plugin();
    expect(withKey(p, ALICE_KEY_2).up("x-credential-identifier")).toEqual(["key:alice-ci"]);
    const b = withKey(p, BOB_KEY);
    expect(b.status).toBe(200);
    expect(b.state("portico_consumer")).toBe("bob");
    expect(b.state("portico_consumer_groups")).toBe(",");
    expect(b.up("x-consumer-name")).toEqual(["bob"]);
    // No groups: no x-consumer-groups header at all.
    expect(b.up("x-consumer-groups")).toEqual([]);
  });

  it("upstream_headers: false sets filter state only", async () => {
    const { p } = await plugin(config({ upstream_headers: false }));
    const r = withKey(p, ALICE_KEY);
    expect(r.status).toBe(200);
    expect(r.state("portico_consumer")).toBe("alice");
    expect(r.up("x-consumer-name")).toEqual([]);
    expect(r.up("x-credential-identifier")).toEqual([]);
  });

  it("hide_credentials: false forwards the key", async () => {
    const { p } = await plugin(config({ hide_credentials: false }));
    expect(withKey(p, ALICE_KEY).up("x-api-key")).toEqual([ALICE_KEY]);
  });

  it("accepts a key of exactly 1024 bytes and refuses 1025 (bounded: a longer key is not hashed)", async () => {
    const k1024 = "k".repeat(1024);
    const k1025 = "k".repeat(1025);
    const { p } = await plugin(
      config({
        consumers: [
          alice(),
          {
            name: "long",
            keys: [
              { id: "l1", sha256: sha256(k1024) },
              { id: "l2", sha256: sha256(k1025) },
            ],
          },
        ],
      }),
    );
    expect(withKey(p, k1024).status).toBe(200);
    const r = withKey(p, k1025);
    expect(r.status).toBe(401);
    expect(r.body).toBe('{"error":"invalid_key"}');
  });
});

describe("wrong and missing keys", () => {
  it("401 missing_key with WWW-Authenticate when no key is sent", async () => {
    const { p } = await plugin();
    const r = send(p);
    expect(r.status).toBe(401);
    expect(r.body).toBe('{"error":"missing_key"}');
    expect(r.header("www-authenticate")).toBe('Key realm="portico"');
    expect(r.header("content-type")).toBe("application/json");
    expect(r.stream.localResponse!.details).toBe("key_auth_missing_key");
  });

  it("401 invalid_key for a wrong key, never echoing it; the realm is configurable", async () => {
    const { vm, p } = await plugin(config({ realm: "my api" }));
    const wrong = "not-a-key-of-anyone-123";
    const r = withKey(p, wrong);
    expect(r.status).toBe(401);
    expect(r.body).toBe('{"error":"invalid_key"}');
    expect(r.header("www-authenticate")).toBe('Key realm="my api"');
    expect(JSON.stringify(r.stream.localResponse)).not.toContain(wrong);
    expect(vm.logs.map((l) => l.message).join("\n")).not.toContain(wrong);
  });

  it("is case-sensitive and exact: another case, a prefix, an extra byte are all refused", async () => {
    const { p } = await plugin();
    for (const k of [ALICE_KEY.toUpperCase(), ALICE_KEY.slice(0, -1), `${ALICE_KEY}x`, `x${ALICE_KEY}`]) {
      expect(withKey(p, k).status, k).toBe(401);
    }
  });

  it("compares the whole digest: a configured digest differing from the key's only in its last byte refuses the key", async () => {
    const d = sha256(ALICE_KEY);
    const last = d.slice(0, 62) + (d.slice(62) === "00" ? "01" : "00");
    const { p } = await plugin({ consumers: [{ name: "alice", keys: [{ id: "a", sha256: last }] }] });
    expect(withKey(p, ALICE_KEY).status).toBe(401);
  });

  it("looks up by the digest: one differing in its first byte refuses the key, the exact one admits it", async () => {
    const d = sha256(ALICE_KEY);
    const first = (d.slice(0, 2) === "00" ? "01" : "00") + d.slice(2);
    const { p } = await plugin({ consumers: [{ name: "alice", keys: [{ id: "a", sha256: first }] }] });
    expect(withKey(p, ALICE_KEY).status).toBe(401);
    const { p: exact } = await plugin({ consumers: [{ name: "alice", keys: [{ id: "a", sha256: d.toUpperCase() }] }] });
    expect(withKey(exact, ALICE_KEY).status).toBe(200);
  });

  it("hashes the key's bytes as sent: a non-UTF-8 key matches only itself, not what it would decode to", async () => {
    // Header values reach the filter as raw bytes (obs-text); latin1 strings stand for them here.
    const bytes = Buffer.from([0x6b, 0x65, 0x79, 0xff, 0x80]);
    const { p } = await plugin({ consumers: [{ name: "raw", keys: [{ id: "r", sha256: sha256(bytes) }] }] }, "latin1");
    expect(withKey(p, bytes.toString("latin1")).status).toBe(200);
    // The same key with its invalid bytes as U+FFFD (what a lossy decode would hash) is another key.
    expect(withKey(p, Buffer.from("key\uFFFD\uFFFD", "utf8").toString("latin1")).status).toBe(401);
    expect(send(p, [], "/x?api_key=key%FF%80").status).toBe(401); // not a query source here
    const { p: q } = await plugin({
      key_sources: [{ query: "api_key" }],
      consumers: [{ name: "raw", keys: [{ id: "r", sha256: sha256(bytes) }] }],
    });
    expect(send(q, [], "/x?api_key=key%FF%80").state("portico_consumer")).toBe("raw");
  });

  it("refuses the digest itself sent as the key", async () => {
    const { p } = await plugin();
    expect(withKey(p, sha256(ALICE_KEY)).status).toBe(401);
  });
});

describe("anonymous", () => {
  it("admits a request without a key as the anonymous consumer", async () => {
    const { vm, p } = await plugin(config({ anonymous: "guest" }));
    const r = send(p);
    expect(r.status).toBe(200);
    expect(r.state("portico_consumer")).toBe("guest");
    expect(r.state("portico_consumer_groups")).toBe(",free,");
    expect(r.state("portico_credential")).toBe("anonymous");
    expect(r.up("x-consumer-name")).toEqual(["guest"]);
    expect(r.up("x-credential-identifier")).toEqual(["anonymous"]);
    expect(vm.metric("portico.key_auth.api.anonymous_total")).toBe(1);
  });

  it("still refuses a wrong key (and a too-long one) with 401", async () => {
    const { p } = await plugin(config({ anonymous: "guest" }));
    expect(withKey(p, "wrong").status).toBe(401);
    expect(withKey(p, "k".repeat(2000)).status).toBe(401);
  });

  it("an empty key counts as no key (native api_key_auth: empty is absent)", async () => {
    const { p } = await plugin(config({ anonymous: "guest" }));
    expect(withKey(p, "").up("x-consumer-name")).toEqual(["guest"]);
    const { p: strict } = await plugin();
    expect(withKey(strict, "").body).toBe('{"error":"missing_key"}');
  });
});

describe("key sources", () => {
  const sources = [{ header: "x-api-key" }, { query: "api_key" }, { cookie: "key" }];

  it("defaults to the x-api-key header; another header is not looked at", async () => {
    const { p } = await plugin();
    expect(withKey(p, ALICE_KEY, "x-other-key").status).toBe(401);
  });

  it("reads a query parameter, removing only it from :path (the rest of the query intact)", async () => {
    const { p } = await plugin(config({ key_sources: sources }));
    const r = send(p, [], `/api/items?a=1&api_key=${ALICE_KEY}&b=%2F&c`);
    expect(r.status).toBe(200);
    expect(r.up(":path")).toEqual(["/api/items?a=1&b=%2F&c"]);
    const only = send(p, [], `/api/items?api_key=${ALICE_KEY}`);
    expect(only.up(":path")).toEqual(["/api/items"]);
  });

  it("percent-decodes the query parameter's name and value (as native does), '+' stays '+'", async () => {
    const plus = "a+b c";
    const { p } = await plugin(
      config({ key_sources: sources, consumers: [alice(), { name: "carol", keys: [{ id: "c", sha256: sha256(plus) }] }] }),
    );
    expect(send(p, [], `/x?api%5Fkey=${encodeURIComponent(ALICE_KEY).replace(/-/g, "%2D")}`).status).toBe(200);
    expect(send(p, [], "/x?api_key=a%2Bb%20c").state("portico_consumer")).toBe("carol");
    expect(send(p, [], "/x?api_key=a+b%20c").state("portico_consumer")).toBe("carol");
    expect(send(p, [], "/x?api_key=a+b+c").status).toBe(401);
  });

  it("the first query parameter of the name decides; an empty one means no key in the query", async () => {
    const { p } = await plugin(config({ key_sources: [{ query: "api_key" }], anonymous: "guest" }));
    expect(send(p, [], `/x?api_key=wrong&api_key=${ALICE_KEY}`).status).toBe(401);
    expect(send(p, [], `/x?api_key=${ALICE_KEY}&api_key=wrong`).status).toBe(200);
    const empty = send(p, [], `/x?api_key=&api_key=${ALICE_KEY}`);
    expect(empty.state("portico_consumer")).toBe("guest");
    // Every parameter of that name is taken out.
    expect(send(p, [], `/x?api_key=${ALICE_KEY}&z=1&api_key=other`).up(":path")).toEqual(["/x?z=1"]);
  });

  it("reads a cookie, removing only it from Cookie (other cookies kept)", async () => {
    const { p } = await plugin(config({ key_sources: sources }));
    const r = send(p, [["cookie", `session=abc; key=${ALICE_KEY}; theme=dark`]]);
    expect(r.status).toBe(200);
    expect(r.up("cookie")).toEqual(["session=abc; theme=dark"]);
    const only = send(p, [["cookie", `key="${ALICE_KEY}"`]]);
    expect(only.status).toBe(200);
    expect(only.up("cookie")).toEqual([]);
  });

  it("finds the cookie in a second Cookie header; the first cookie of the name decides", async () => {
    const { p } = await plugin(config({ key_sources: [{ cookie: "key" }] }));
    const r = send(p, [
      ["cookie", "a=1"],
      ["cookie", `key=${ALICE_KEY}; b=2`],
    ]);
    expect(r.status).toBe(200);
    expect(r.up("cookie")).toEqual(["a=1; b=2"]);
    expect(send(p, [["cookie", `key=wrong; key=${ALICE_KEY}`]]).status).toBe(401);
    expect(send(p, [["cookie", "mykey=x; key2=y"]]).body).toBe('{"error":"missing_key"}');
  });

  it("tries sources in order: the first non-empty one is used, a key in a later one changes nothing, and all are removed", async () => {
    const { p } = await plugin(config({ key_sources: sources }));
    // Header first: a wrong header key is refused even with a good query key.
    expect(send(p, [["x-api-key", "wrong"]], `/x?api_key=${ALICE_KEY}`).status).toBe(401);
    // Good header, wrong query and cookie: admitted, and every copy is taken out.
    const r = send(
      p,
      [
        ["x-api-key", ALICE_KEY],
        ["cookie", "key=wrong; k=v"],
      ],
      "/x?api_key=wrong&q=1",
    );
    expect(r.status).toBe(200);
    expect(r.up("x-api-key")).toEqual([]);
    expect(r.up(":path")).toEqual(["/x?q=1"]);
    expect(r.up("cookie")).toEqual(["k=v"]);
    // An empty header falls through to the query.
    expect(send(p, [["x-api-key", ""]], `/x?api_key=${ALICE_KEY}`).status).toBe(200);
  });

  it("takes the first of duplicate headers, and drops a leading 'Bearer ' (as native does)", async () => {
    const { p } = await plugin(config({ key_sources: [{ header: "authorization" }] }));
    expect(send(p, [["authorization", `Bearer ${ALICE_KEY}`]]).status).toBe(200);
    expect(send(p, [["authorization", ALICE_KEY]]).status).toBe(200);
    expect(send(p, [["authorization", `bearer ${ALICE_KEY}`]]).status).toBe(401);
    expect(send(p, [["authorization", "Bearer "]]).body).toBe('{"error":"missing_key"}');
    const { p: dup } = await plugin();
    expect(
      send(dup, [
        ["x-api-key", ALICE_KEY],
        ["x-api-key", "wrong"],
      ]).status,
    ).toBe(200);
    const r = send(dup, [
      ["x-api-key", "wrong"],
      ["x-api-key", ALICE_KEY],
    ]);
    expect(r.status).toBe(401);
  });
});

describe("identity headers from the client", () => {
  const spoofed: HeaderList = [
    ["x-consumer-name", "admin"],
    ["X_Consumer_Name", "admin"],
    ["x-consumer_groups", "root"],
    ["X-Credential-Identifier", "key:admin"],
  ];

  it("are removed in every spelling on success, with the filter's own in their place", async () => {
    const { p } = await plugin();
    const r = send(p, [["x-api-key", ALICE_KEY], ...spoofed]);
    expect(r.status).toBe(200);
    const names = r.upstream.map(([k]) => k.toLowerCase().replace(/_/g, "-"));
    expect(names.filter((n) => n === "x-consumer-name")).toHaveLength(1);
    expect(r.up("x-consumer-name")).toEqual(["alice"]);
    expect(r.up("x-consumer-groups")).toEqual(["gold,beta"]);
    expect(r.up("x-credential-identifier")).toEqual(["key:alice-laptop"]);
    expect(r.upstream.some(([, v]) => v === "admin" || v === "root" || v === "key:admin")).toBe(false);
  });

  it("are removed even when the filter writes none (upstream_headers: false) and for anonymous callers", async () => {
    const { p } = await plugin(config({ upstream_headers: false, anonymous: "guest" }));
    for (const r of [send(p, [["x-api-key", ALICE_KEY], ...spoofed]), send(p, spoofed)]) {
      expect(r.status).toBe(200);
      expect(r.upstream.some(([, v]) => v === "admin" || v === "root" || v === "key:admin")).toBe(false);
    }
  });
});

describe("metrics", () => {
  it("counts allowed, missing, invalid and anonymous; per consumer only when asked", async () => {
    const { vm, p } = await plugin(config({ anonymous: "guest", per_consumer_metrics: true }));
    withKey(p, ALICE_KEY);
    withKey(p, ALICE_KEY_2);
    withKey(p, BOB_KEY);
    withKey(p, "wrong");
    send(p);
    expect(vm.metric("portico.key_auth.api.allowed_total")).toBe(3);
    expect(vm.metric("portico.key_auth.api.invalid_total")).toBe(1);
    expect(vm.metric("portico.key_auth.api.anonymous_total")).toBe(1);
    expect(vm.metric("portico.key_auth.api.missing_total")).toBe(0);
    expect(vm.metric("portico.key_auth.api.consumer.alice.allowed_total")).toBe(2);
    expect(vm.metric("portico.key_auth.api.consumer.bob.allowed_total")).toBe(1);
    expect(vm.metric("portico.key_auth.api.consumer.guest.allowed_total")).toBe(1);
    const { vm: plain, p: p2 } = await plugin({ consumers: [alice()] });
    send(p2);
    expect(plain.metric("portico.key_auth.missing_total")).toBe(1);
    expect(Object.keys(plain.metrics()).filter((m) => m.includes("consumer."))).toEqual([]);
  });
});

describe("memory", () => {
  it("stays flat over 20,000 requests of every kind (admitted, refused, anonymous, query and cookie keys, 60 KiB headers)", async () => {
    const { vm, p } = await plugin(
      config({ anonymous: "guest", key_sources: [{ header: "x-api-key" }, { query: "api_key" }, { cookie: "api_key" }] }),
    );
    const big = "b".repeat(60 * 1024);
    const mix = (i: number) => {
      switch (i % 5) {
        case 0:
          return withKey(p, ALICE_KEY);
        case 1:
          return withKey(p, `wrong-${i}`);
        case 2:
          return send(p, [["cookie", `a=${i}; api_key=${BOB_KEY}`]], `/x?q=${i}`);
        case 3:
          return send(p, [["x-big", big]], `/x?api_key=${ALICE_KEY}&i=${i}`);
        default:
          return send(p);
      }
    };
    for (let i = 0; i < 2_000; i++) mix(i);
    const warm = vm.memoryBytes();
    for (let i = 0; i < 20_000; i++) expect([200, 401]).toContain(mix(i).status);
    expect(vm.memoryBytes()).toBe(warm);
  }, 120_000);

  it("with 1,000 consumers (a large live heap, collected less often: assembly/runtime/collector.ts) stays flat over 10,000 requests", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({
      name: `c${i}`,
      groups: ["gold"],
      keys: [{ id: `c${i}-1`, sha256: sha256(`key-of-c${i}`) }],
    }));
    const { vm, p } = await plugin({ stat_prefix: "api", consumers: many });
    const one = (i: number) => withKey(p, i % 4 === 3 ? `wrong-${i}` : `key-of-c${i % 1000}`);
    // Past two of the longest intervals (1,024 streams), so the heap has reached its slack.
    for (let i = 0; i < 3_000; i++) one(i);
    const warm = vm.memoryBytes();
    for (let i = 0; i < 10_000; i++) expect(one(i).status).toBe(i % 4 === 3 ? 401 : 200);
    expect(vm.memoryBytes()).toBe(warm);
  }, 120_000);
});

describe("entry points", () => {
  it("exports only the callbacks it uses", () => {
    const cbs = exportedCallbacks(module);
    expect(cbs).toContain("proxy_on_request_headers");
    expect(cbs).not.toContain("proxy_on_response_headers");
    expect(cbs).not.toContain("proxy_on_request_body");
    expect(cbs).not.toContain("proxy_on_tick");
  });
});

describe("configuration errors name the field", () => {
  const key = (id: string, k = id) => ({ id, sha256: sha256(k) });
  const bad: [string, Json | string, string][] = [
    ["an unknown top-level field", { consumers: [alice()], bogus: 1 }, "bogus: unknown field"],
    ["no consumers", {}, "consumers: is required"],
    [
      "an unknown field in a key",
      { consumers: [{ name: "a", keys: [{ ...key("k"), key: "plain" }] }] },
      "consumers[0].keys[0].key: unknown field",
    ],
    [
      "a key that is not a digest",
      { consumers: [{ name: "a", keys: [{ id: "k", sha256: "secret" }] }] },
      "consumers[0].keys[0].sha256: must be 64 hex digits",
    ],
    [
      "a digest with a non-hex digit",
      { consumers: [{ name: "a", keys: [{ id: "k", sha256: "g".repeat(64) }] }] },
      "consumers[0].keys[0].sha256: must be 64 hex digits",
    ],
    ["a key without id", { consumers: [{ name: "a", keys: [{ sha256: sha256("x") }] }] }, "consumers[0].keys[0].id: is required"],
    ["a key id with a space", { consumers: [{ name: "a", keys: [key("my key")] }] }, 'consumers[0].keys[0].id: invalid key id "my key"'],
    [
      "one key id twice",
      {
        consumers: [
          { name: "a", keys: [key("k", "1")] },
          { name: "b", keys: [key("k", "2")] },
        ],
      },
      'consumers[1].keys[0].id: key id "k" is already used by consumers[0].keys[0]',
    ],
    [
      "one key on two consumers",
      {
        consumers: [
          { name: "alice", keys: [key("a", "same")] },
          { name: "bob", keys: [key("b", "same")] },
        ],
      },
      'consumers[1].keys[0].sha256: the same key (digest) is given to consumers "alice" and "bob"',
    ],
    [
      "one key twice on one consumer",
      { consumers: [{ name: "alice", keys: [key("a", "same"), key("b", "same")] }] },
      'consumers[0].keys[1].sha256: the same key (digest) is given twice for consumer "alice"',
    ],
    ["a bad consumer name", { consumers: [{ name: "Alice" }] }, 'consumers[0].name: invalid consumer name "Alice"'],
    ["an unknown anonymous consumer", { consumers: [alice()], anonymous: "nobody" }, 'anonymous: no consumer named "nobody"'],
    ["a bad stat_prefix", { consumers: [alice()], stat_prefix: "A-B" }, "stat_prefix: may contain only a-z, 0-9 and _"],
    ["key_sources empty", { consumers: [alice()], key_sources: [] }, "key_sources: must name at least one place"],
    [
      "a source with two places",
      { consumers: [alice()], key_sources: [{ header: "x-k", query: "k" }] },
      "key_sources[0]: needs exactly one of header, query, cookie",
    ],
    [
      "a source with an unknown field",
      { consumers: [alice()], key_sources: [{ header: "x-k", prefix: "Key " }] },
      "key_sources[0].prefix: unknown field",
    ],
    [
      "a bad header name",
      { consumers: [alice()], key_sources: [{ header: "x key" }] },
      "key_sources[0].header: invalid character in header name",
    ],
    [
      "an identity header as source",
      { consumers: [alice()], key_sources: [{ header: "X_Consumer_Name" }] },
      'key_sources[0].header: "X_Consumer_Name" is an identity header',
    ],
    [
      "a pseudo-header as source",
      { consumers: [alice()], key_sources: [{ header: ":path" }] },
      'key_sources[0].header: ":path" cannot carry a key',
    ],
    ["an empty query name", { consumers: [alice()], key_sources: [{ query: "" }] }, "key_sources[0].query: must not be empty"],
    ["a bad cookie name", { consumers: [alice()], key_sources: [{ cookie: "a;b" }] }, "key_sources[0].cookie: must be a cookie name"],
    [
      "more than 8 sources",
      { consumers: [alice()], key_sources: Array(9).fill({ header: "x-k" }) },
      "key_sources: has 9 items, at most 8 allowed",
    ],
    ["a realm with a quote", { consumers: [alice()], realm: 'a"b' }, "realm: must be 1 to 128 printable ASCII characters"],
    ["hide_credentials not a bool", { consumers: [alice()], hide_credentials: "yes" }, "hide_credentials: must be a boolean"],
    [
      "per-consumer metrics for more than 1,000 consumers",
      { consumers: Array.from({ length: 1001 }, (_, i) => ({ name: `c${i}` })), per_consumer_metrics: true },
      "per_consumer_metrics: at most 1000 consumers with per-consumer metrics, this configuration has 1001",
    ],
    ["a configuration that is not JSON", "{", "key-auth: invalid configuration: configuration is not valid JSON"],
  ];
  for (const [what, cfg, reason] of bad) {
    it(`refuses ${what}`, async () => {
      const { vm, p } = await load(cfg);
      expect(p.ok).toBe(false);
      const errors = vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n");
      expect(errors).toContain(reason);
    });
  }

  it("accepts 1,001 consumers without per-consumer metrics, and the other filters' credential kinds", async () => {
    const consumers = Array.from({ length: 1001 }, (_, i) => ({ name: `c${i}`, keys: [{ id: `k${i}`, sha256: sha256(`key-${i}`) }] }));
    consumers.push({
      name: "both",
      keys: [{ id: "kb", sha256: sha256("kb") }],
      basic: [{ username: "u", hash: "$2y$10$x" }],
      jwt: [{ issuer: "https://idp", subject: "s" }],
      metadata: { tier: "gold" },
    } as never);
    const { p } = await plugin({ consumers });
    expect(withKey(p, "key-777").up("x-consumer-name")).toEqual(["c777"]);
    expect(withKey(p, "kb").up("x-consumer-name")).toEqual(["both"]);
  });
});
