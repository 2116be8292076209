// One identity through a chain of filters, in the emulator: jwt-auth identifies the caller and
// leaves it in the stream's filter state; rate-limit (key { consumer: true }, rules per group)
// and header-rewrite (${consumer.name}) after it read it. Envoy gives each filter of a chain its
// own VM and one filter state per stream; here each filter's stream starts with the properties
// the one before left (test/e2e/consumer-identity.test.ts does the same through a real Envoy).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, type HeaderList, type Plugin, type Properties } from "../../emulator/index.js";
import { generateKey, jwksOf, mint, type TestKey } from "../support/jwt.js";
import { builtFilter } from "../support/wasm-fixtures.js";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;
const ISSUER = "https://idp.example.com";

let key: TestKey;
const modules = new Map<string, WebAssembly.Module>();
beforeAll(async () => {
  for (const f of ["jwt-auth", "rate-limit", "header-rewrite", "key-auth"])
    modules.set(f, await WebAssembly.compile(readFileSync(builtFilter(f))));
  key = await generateKey("ES256", "idp");
}, 180_000);

async function load(filter: string, config: object): Promise<Plugin> {
  const vm = await ProxyWasmVm.load(modules.get(filter)!, { startTime: T0, vmId: filter });
  const p = vm.configurePlugin({ config: JSON.stringify(config), rootId: filter, name: filter });
  expect(
    p.ok,
    vm.logs
      .filter((l) => l.level >= LogLevel.Error)
      .map((l) => l.message)
      .join("\n"),
  ).toBe(true);
  return p;
}

interface Result {
  /** 200 when the request left the chain for the upstream, else the local reply's status. */
  status: number;
  /** The request headers the upstream gets. */
  upstream(name: string): string | undefined;
}

/** Sends one request through `chain`, filter state carried from each filter to the next as Envoy keeps it per stream. */
function send(chain: Plugin[], headers: HeaderList): Result {
  let state: Properties = { "source.address": "203.0.113.7:5000" };
  let h = headers;
  for (const p of chain) {
    const s = p.newHttpStream({ properties: state });
    s.sendRequestHeaders(h, { endOfStream: true });
    if (s.localResponse) {
      s.complete();
      return { status: s.localResponse.status, upstream: () => undefined };
    }
    h = s.requestHeaders;
    state = Object.fromEntries(s.properties);
    s.sendResponseHeaders([[":status", "200"]], { endOfStream: true });
    s.complete();
  }
  return { status: 200, upstream: (name) => h.find(([k]) => k === name)?.[1] };
}

const request = (token?: string, extra: HeaderList = []): HeaderList => [
  [":method", "GET"],
  [":path", "/api"],
  [":authority", "api.example.test"],
  ...(token ? ([["authorization", `Bearer ${token}`]] as HeaderList) : []),
  ...extra,
];

describe("jwt-auth -> rate-limit -> header-rewrite, one identity", () => {
  let chain: Plugin[];
  const tokenFor = (sub: string) => mint(key, { iss: ISSUER, sub, iat: NOW, exp: NOW + 3600 });

  beforeAll(async () => {
    chain = [
      await load("jwt-auth", {
        providers: [{ name: "idp", issuer: ISSUER, jwks: jwksOf([key]) }],
        rules: [{ match: {}, requires: ["idp"] }],
        consumers: [
          { name: "alice", groups: ["gold"], jwt: [{ issuer: ISSUER, subject: "alice" }] },
          { name: "amy", groups: ["gold"], jwt: [{ issuer: ISSUER, subject: "amy" }] },
          { name: "bob", groups: ["free"], jwt: [{ issuer: ISSUER, subject: "bob" }] },
          { name: "guest", groups: ["free"] },
        ],
        anonymous: "guest",
      }),
      await load("rate-limit", {
        rules: [
          { name: "gold", match: { consumer_groups: ["gold"] }, requests: 4, period: "1m", key: [{ consumer: true }] },
          { name: "free", match: { consumer_groups: ["free"] }, requests: 2, period: "1m", key: [{ consumer: true }] },
        ],
      }),
      await load("header-rewrite", { rules: [{ request: { set: { "x-user": "${consumer.name}", "x-tier": "${consumer.groups}" } } }] }),
    ];
  });

  const admitted = async (sub: string | undefined, forged: HeaderList = []): Promise<number> => {
    const token = sub === undefined ? undefined : await tokenFor(sub);
    for (let i = 0; i < 20; i++) if (send(chain, request(token, forged)).status !== 200) return i;
    return 20;
  };

  it("gives each consumer its own bucket, and gold and free groups their own limits", async () => {
    expect(await admitted("alice")).toBe(4);
    expect(await admitted("amy")).toBe(4);
    expect(await admitted("bob")).toBe(2);
    // The anonymous consumer has the free group's limit; a forged consumer header changes nothing.
    expect(await admitted(undefined, [["x-consumer-name", "alice"]])).toBe(2);
  });

  it("tells the upstream who called through header-rewrite's ${consumer.name}", async () => {
    // A token no mapping names: unidentified, no rule of rate-limit applies, ${consumer.name} is
    // empty and an empty value writes nothing, so a client's own x-user would pass...
    const r = send(chain, request(await tokenFor("carol"), [["x-user", "forged"]]));
    expect(r.status).toBe(200);
    expect(r.upstream("x-user")).toBe("forged");
    // ...unless the rule keeps empty values (or removes the header first): the README says so.
    const strict = await load("header-rewrite", {
      rules: [{ keep_empty_value: true, request: { set: { "x-user": "${consumer.name}" } } }],
    });
    expect(send([chain[0]!, strict], request(await tokenFor("carol"), [["x-user", "forged"]])).upstream("x-user")).toBe("");
    const chainNoLimit = [chain[0]!, chain[2]!];
    const a = send(chainNoLimit, request(await tokenFor("alice")));
    expect([a.upstream("x-user"), a.upstream("x-tier"), a.upstream("x-consumer-name")]).toEqual(["alice", "gold", "alice"]);
  });
});

describe("key-auth -> jwt-auth, both with anonymous: a key or a token (Kong's pattern, docs/consumers.md)", () => {
  const KEY = "alice-key-0000001";
  const digest = createHash("sha256").update(KEY).digest("hex");
  let chain: Plugin[];
  const tokenFor = (sub: string) => mint(key, { iss: ISSUER, sub, iat: NOW, exp: NOW + 3600 });

  beforeAll(async () => {
    const guest = { name: "guest", groups: ["free"] };
    chain = [
      await load("key-auth", {
        consumers: [{ name: "alice", groups: ["gold"], keys: [{ id: "alice-1", sha256: digest }] }, guest],
        anonymous: "guest",
      }),
      await load("jwt-auth", {
        providers: [{ name: "idp", issuer: ISSUER, jwks: jwksOf([key]), claims_to_headers: [{ claim: "sub", header: "x-jwt-sub" }] }],
        rules: [{ match: {}, requires: ["idp"] }],
        consumers: [{ name: "bob", jwt: [{ issuer: ISSUER, subject: "bob" }] }, guest],
        anonymous: "guest",
      }),
    ];
  });

  const who = (r: Result) => [
    r.status,
    r.upstream("x-consumer-name"),
    r.upstream("x-consumer-groups"),
    r.upstream("x-credential-identifier"),
  ];

  it("a key alone: its consumer, through jwt-auth untouched", () => {
    expect(who(send(chain, request(undefined, [["x-api-key", KEY]])))).toEqual([200, "alice", "gold", "key:alice-1"]);
  });

  it("a token alone: its consumer replaces key-auth's anonymous one, headers and all (bob has no groups)", async () => {
    expect(who(send(chain, request(await tokenFor("bob"))))).toEqual([200, "bob", undefined, "jwt:idp"]);
  });

  it("neither: the anonymous consumer; a wrong key or a bad token is still refused", async () => {
    expect(who(send(chain, request()))).toEqual([200, "guest", "free", "anonymous"]);
    expect(send(chain, request(undefined, [["x-api-key", "wrong-key-000001"]])).status).toBe(401);
    expect(send(chain, request("not.a.token", [["x-api-key", KEY]])).status).toBe(401);
  });

  it("a client's own headers never pass: identity headers are removed by the first filter, claim headers by jwt-auth even after a key", () => {
    const forged: HeaderList = [
      ["x-api-key", KEY],
      ["x-jwt-sub", "admin"],
      ["x-consumer-name", "root"],
    ];
    const r = send(chain, request(undefined, forged));
    expect(who(r)).toEqual([200, "alice", "gold", "key:alice-1"]);
    expect(r.upstream("x-jwt-sub")).toBeUndefined();
  });
});
