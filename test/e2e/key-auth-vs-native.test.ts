// Differential test: one Envoy, two listeners in front of one echo upstream — one with our
// key-auth filter (configured with the keys' SHA-256 digests), one with Envoy's native
// envoy.filters.http.api_key_auth (configured with the plain keys) — with the same key sources
// (header x-api-key, query api_key, cookie api_key, in that order) and hide_credentials. A corpus
// of good and bad credentials goes through both, byte for byte the same request; the native filter
// is the oracle, and every case must get the same status from both (and, when admitted, the same
// consumer). The differences by design (filters/key-auth/README.md, "Differences from
// api_key_auth") have their own tests below, asserting both sides.
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoedHeader,
  filterWasm,
  httpListener,
  parseEcho,
  request,
  staticCluster,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
  type HttpResponse,
  type Json,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const sha256 = (k: string) => createHash("sha256").update(k, "utf8").digest("hex");

const KEYS: Record<string, string> = {
  alice: "alice-Key-0123456789",
  // Non-ASCII (valid UTF-8): native keys are proto strings, so UTF-8 is the most both can hold.
  bob: "bób-κλειδί-ключ",
  // Characters a query string encodes.
  carol: "c+a/r=o&l%?#",
  // Longer than our 1,024-byte bound: only native admits it (a difference by design).
  long: "L".repeat(2000),
};
const SOURCES = [{ header: "x-api-key" }, { query: "api_key" }, { cookie: "api_key" }];

const ours = (): Json =>
  wasmHttpFilter({
    file: filterWasm("key-auth"),
    name: "ours",
    rootId: "key-auth",
    vmId: "ours",
    configuration: {
      key_sources: SOURCES,
      consumers: Object.entries(KEYS).map(([name, key]) => ({ name, keys: [{ id: `${name}-key`, sha256: sha256(key) }] })),
    },
  });

const native = (): Json => ({
  name: "envoy.filters.http.api_key_auth",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth",
    credentials: Object.entries(KEYS).map(([client, key]) => ({ key, client })),
    key_sources: SOURCES,
    forwarding: { header: "x-client-id", hide_credentials: true },
  },
});

let e: Envoy;

beforeAll(async () => {
  const up = await upstream();
  e = await envoy({
    name: "key-auth-vs-native",
    config: bootstrap({
      listeners: [httpListener({ name: "ours", httpFilters: [ours()] }), httpListener({ name: "native", httpFilters: [native()] })],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);

/**
 * Header values travel as node:http writes them: latin1, one byte per character. `raw()` turns
 * bytes into such a string, so a value can be any bytes (UTF-8 or not).
 */
const raw = (b: Buffer | string): string => (typeof b === "string" ? Buffer.from(b, "utf8") : b).toString("latin1");

interface Case {
  name: string;
  path?: string;
  headers?: [string, string][];
  /** Who both must admit (a consumer name), or the status both must answer. */
  expect: string | number;
}

const k = (name: string) => raw(KEYS[name]!);
const q = (s: string) => encodeURIComponent(s);

const CORPUS: Case[] = [
  { name: "good key in the header", headers: [["x-api-key", k("alice")]], expect: "alice" },
  { name: "good non-ASCII (UTF-8) key in the header", headers: [["x-api-key", k("bob")]], expect: "bob" },
  { name: "good key in the query", path: `/p?api_key=${q(KEYS.alice!)}`, expect: "alice" },
  { name: "good key in a cookie", headers: [["cookie", `a=1; api_key=${k("alice")}; b=2`]], expect: "alice" },
  { name: "good key in a quoted cookie", headers: [["cookie", `api_key="${k("alice")}"`]], expect: "alice" },
  { name: "good key after 'Bearer '", headers: [["x-api-key", `Bearer ${k("alice")}`]], expect: "alice" },
  { name: "no key", expect: 401 },
  { name: "empty header", headers: [["x-api-key", ""]], expect: 401 },
  { name: "empty query value", path: "/p?api_key=", expect: 401 },
  { name: "query parameter without '='", path: "/p?api_key", expect: 401 },
  { name: "empty cookie", headers: [["cookie", "api_key="]], expect: 401 },
  { name: "'Bearer ' and nothing else", headers: [["x-api-key", "Bearer "]], expect: 401 },
  { name: "'bearer ' in lower case is part of the key", headers: [["x-api-key", `bearer ${k("alice")}`]], expect: 401 },
  { name: "wrong key", headers: [["x-api-key", "alice-Key-0123456780"]], expect: 401 },
  { name: "wrong case", headers: [["x-api-key", k("alice").toUpperCase()]], expect: 401 },
  { name: "a prefix of the key", headers: [["x-api-key", k("alice").slice(0, -1)]], expect: 401 },
  { name: "the key and one byte more", headers: [["x-api-key", `${k("alice")}9`]], expect: 401 },
  // Envoy's codec trims a header value's surrounding whitespace before any filter sees it.
  { name: "leading and trailing spaces in the header", headers: [["x-api-key", `  ${k("alice")}  `]], expect: "alice" },
  { name: "leading space in the query value (%20)", path: `/p?api_key=%20${q(KEYS.alice!)}`, expect: 401 },
  { name: "leading space in the cookie value", headers: [["cookie", `api_key= ${k("alice")}`]], expect: 401 },
  { name: "the key's digest instead of the key", headers: [["x-api-key", sha256(KEYS.alice!)]], expect: 401 },
  { name: "non-UTF-8 bytes", headers: [["x-api-key", raw(Buffer.from([0xff, 0xfe, 0x61, 0x80]))]], expect: 401 },
  {
    name: "the UTF-8 key in Latin-1 (other bytes, same look)",
    headers: [["x-api-key", raw(Buffer.from(KEYS.bob!, "latin1"))]],
    expect: 401,
  },
  { name: "non-UTF-8 percent-encoded query value", path: "/p?api_key=%FF%FE", expect: 401 },
  { name: "very long wrong key (8 KiB)", headers: [["x-api-key", "x".repeat(8192)]], expect: 401 },
  // Over Envoy's 60 KiB header limit: the codec answers 431 before any filter runs.
  { name: "key past Envoy's header size limit (70 KiB)", headers: [["x-api-key", "x".repeat(70 * 1024)]], expect: 431 },
  {
    name: "duplicate headers, good first",
    headers: [
      ["x-api-key", k("alice")],
      ["x-api-key", "wrong"],
    ],
    expect: "alice",
  },
  {
    name: "duplicate headers, wrong first",
    headers: [
      ["x-api-key", "wrong"],
      ["x-api-key", k("alice")],
    ],
    expect: 401,
  },
  { name: "good header, wrong query: the header wins", path: "/p?api_key=wrong", headers: [["x-api-key", k("alice")]], expect: "alice" },
  {
    name: "wrong header, good query: the header wins",
    path: `/p?api_key=${q(KEYS.alice!)}`,
    headers: [["x-api-key", "wrong"]],
    expect: 401,
  },
  { name: "empty header, good query: falls through", path: `/p?api_key=${q(KEYS.alice!)}`, headers: [["x-api-key", ""]], expect: "alice" },
  {
    name: "good query, wrong cookie: the query wins",
    path: `/p?api_key=${q(KEYS.bob!)}`,
    headers: [["cookie", "api_key=wrong"]],
    expect: "bob",
  },
  { name: "URL-encoded key with reserved characters", path: `/p?api_key=${q(KEYS.carol!)}`, expect: "carol" },
  {
    name: "every byte of the key percent-encoded",
    path: `/p?api_key=${[...Buffer.from(KEYS.alice!)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")}`,
    expect: "alice",
  },
  { name: "percent-encoded parameter name (api%5Fkey)", path: `/p?api%5Fkey=${q(KEYS.alice!)}`, expect: "alice" },
  { name: "lower-case hex escapes (%2b)", path: `/p?api_key=${q(KEYS.carol!).replace(/%2B/g, "%2b")}`, expect: "carol" },
  { name: "'+' is not a space in the query", path: "/p?api_key=c+a%2Fr%3Do%26l%25%3F%23", expect: "carol" },
  { name: "an unescaped '&' in the key cuts it", path: "/p?api_key=c%2Ba%2Fr%3Do&l%25%3F%23", expect: 401 },
  { name: "unescaped '/' and '=' in the value are part of it", path: "/p?api_key=c%2Ba/r=o%26l%25%3F%23", expect: "carol" },
  { name: "first of two query parameters decides (wrong first)", path: `/p?api_key=wrong&api_key=${q(KEYS.alice!)}`, expect: 401 },
  { name: "first of two query parameters decides (empty first)", path: `/p?api_key=&api_key=${q(KEYS.alice!)}`, expect: 401 },
  { name: "first of two cookies decides (wrong first)", headers: [["cookie", `api_key=wrong; api_key=${k("alice")}`]], expect: 401 },
  { name: "a cookie named like the source's prefix", headers: [["cookie", `api_key2=${k("alice")}`]], expect: 401 },
  {
    name: "cookie in a second Cookie header",
    headers: [
      ["cookie", "a=1"],
      ["cookie", `api_key=${k("alice")}`],
    ],
    expect: "alice",
  },
  { name: "the over-long (2,000-byte) key's wrong sibling", headers: [["x-api-key", "L".repeat(1999)]], expect: 401 },
];

type Req = Pick<Case, "path" | "headers"> & { name?: string };

async function send(listener: string, c: Req): Promise<HttpResponse> {
  return request(e.url(c.path ?? "/p", listener), { headers: c.headers ?? [] });
}

/** Who the upstream says was admitted: our x-consumer-name, native's x-client-id. */
function admitted(r: HttpResponse, header: string): string | undefined {
  return r.status === 200 ? echoedHeader(parseEcho(r.body), header)[0] : undefined;
}

describe("key-auth vs Envoy's api_key_auth: the same verdict on every credential in the corpus", () => {
  for (const c of CORPUS) {
    it(c.name, async () => {
      const [mine, theirs] = [await send("ours", c), await send("native", c)];
      const summary = `ours ${mine.status} ${admitted(mine, "x-consumer-name") ?? ""}; native ${theirs.status} ${admitted(theirs, "x-client-id") ?? ""}`;
      expect(mine.status, summary).toBe(theirs.status);
      if (typeof c.expect === "number") expect(theirs.status, summary).toBe(c.expect);
      else {
        expect(admitted(theirs, "x-client-id"), summary).toBe(c.expect);
        expect(admitted(mine, "x-consumer-name"), summary).toBe(c.expect);
      }
    });
  }
});

describe("differences by design (filters/key-auth/README.md)", () => {
  it("a key longer than 1,024 bytes: native admits it, ours refuses it unhashed (bounded work per request)", async () => {
    const c: Req = { name: "long", headers: [["x-api-key", KEYS.long!]] };
    const [mine, theirs] = [await send("ours", c), await send("native", c)];
    expect(admitted(theirs, "x-client-id")).toBe("long");
    expect(mine.status).toBe(401);
    expect(mine.json()).toEqual({ error: "invalid_key" });
  });

  it("a refusal: ours says how to authenticate (WWW-Authenticate, RFC 9110) and why, as JSON; native sends neither", async () => {
    const c: Req = { name: "wrong", headers: [["x-api-key", "wrong"]] };
    const [mine, theirs] = [await send("ours", c), await send("native", c)];
    expect(mine.header("www-authenticate")).toBe('Key realm="portico"');
    expect(mine.json()).toEqual({ error: "invalid_key" });
    expect(theirs.header("www-authenticate")).toBeUndefined();
    expect(theirs.body).toBe("Client authentication failed.");
  });

  it("hiding a query key: ours removes only that parameter, leaving the rest of the query byte for byte; native rebuilds the query", async () => {
    const c: Req = { name: "query", path: `/p?z=1&b=%2F&api_key=${q(KEYS.alice!)}&a=x+y` };
    const [mine, theirs] = [await send("ours", c), await send("native", c)];
    expect(parseEcho(mine.body).path).toBe("/p?z=1&b=%2F&a=x+y");
    // Native parses the query into a map and writes it back: the survivors, decoded and re-encoded
    // in its own order, need not be what the client sent.
    expect(parseEcho(theirs.body).path).not.toBe("/p?z=1&b=%2F&a=x+y");
  });

  it("both take every source's key out (not only the one used), as native does", async () => {
    const c: Req = {
      name: "all",
      path: "/p?api_key=wrong&k=v",
      headers: [
        ["x-api-key", KEYS.alice!],
        ["cookie", "api_key=other; c=1"],
      ],
    };
    for (const [listener, who] of [
      ["ours", "x-consumer-name"],
      ["native", "x-client-id"],
    ] as const) {
      const r = await send(listener, c);
      const rec = parseEcho(r.body);
      expect(echoedHeader(rec, who), listener).toEqual(["alice"]);
      expect(echoedHeader(rec, "x-api-key"), listener).toEqual([]);
      expect(rec.path, listener).toBe("/p?k=v");
      expect(echoedHeader(rec, "cookie"), listener).toEqual(["c=1"]);
    }
  });
});
