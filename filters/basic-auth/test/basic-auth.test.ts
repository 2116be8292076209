// basic-auth driven through the proxy-wasm host emulator: RFC 7617 parsing (scheme case, first
// colon, padding), bcrypt and {SHA} users, the 401s and their realm, anonymous callers, the
// identity in filter state and upstream headers, spoofed identity headers, hiding the credential,
// the cache of verified credentials (a hit runs no bcrypt; a wrong password is never answered from
// it), the per-second verification budget, metrics, and configuration errors naming the field.
// Hashes are made by bcryptjs and node:crypto, not by the filter.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import bcryptjs from "bcryptjs";
import { beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type HeaderList, type HttpStream, type Plugin } from "../../../emulator/index.js";
import { builtFilter, exportedCallbacks } from "../../../test/support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("basic-auth")));
}, 180_000);

type Json = Record<string, unknown>;

const ALICE_PW = "correct horse battery staple";
const BOB_PW = "b0b:has:colons";
const CAROL_PW = "carol's sha1 password";
// Cost 4 keeps the suite fast; the cost only changes how long a check takes.
const ALICE_HASH = bcryptjs.hashSync(ALICE_PW, 4);
const BOB_HASH = bcryptjs.hashSync(BOB_PW, 4).replace(/^\$2b\$/, "$2y$");
const shaHash = (pw: string | Buffer) => `{SHA}${createHash("sha1").update(pw).digest("base64")}`;

const consumers = (): Json[] => [
  {
    name: "alice",
    groups: ["gold", "beta"],
    basic: [{ username: "alice", hash: ALICE_HASH }],
    keys: [{ id: "k", sha256: "0".repeat(64) }],
  },
  { name: "bob", basic: [{ username: "bob", hash: BOB_HASH }] },
  { name: "carol", basic: [{ username: "carol", hash: shaHash(CAROL_PW) }] },
  { name: "guest", groups: ["free"] },
];
const config = (extra: Json = {}): Json => ({ stat_prefix: "api", consumers: consumers(), ...extra });

async function load(cfg: Json | string, vm?: ProxyWasmVm): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const v = vm ?? (await ProxyWasmVm.load(module, { vmId: "basic_auth" }));
  const p = v.configurePlugin({ config: typeof cfg === "string" ? cfg : JSON.stringify(cfg), rootId: "basic-auth", name: "basic_auth" });
  return { vm: v, p };
}

async function plugin(cfg: Json = config(), vm?: ProxyWasmVm): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const r = await load(cfg, vm);
  const errors = r.vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(r.p.ok, `configuration refused: ${errors.join("\n")}`).toBe(true);
  return r;
}

interface Reply {
  status: number;
  body: string;
  header(name: string): string | undefined;
  up(name: string): string[];
  state(name: string): string | undefined;
  stream: HttpStream;
}

function send(p: Plugin, headers: HeaderList = []): Reply {
  const s = runHttpRequest(p, {
    requestHeaders: [[":method", "GET"], [":path", "/api/items"], [":authority", "api.example.test"], [":scheme", "https"], ...headers],
  });
  const upstream = s.requestHeaders;
  return {
    status: s.localResponse ? s.localResponse.status : 200,
    body: s.localResponse?.body ?? "",
    header: (name) => (s.localResponse?.headers ?? []).find(([k]) => k === name)?.[1],
    up: (name) => upstream.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v),
    state: (name) => {
      for (const [k, v] of s.properties) if (k.replace(/\0/g, "") === name) return Buffer.from(v).toString("utf8");
      return undefined;
    },
    stream: s,
  };
}

/** "Basic " + base64 of the raw "user:password" bytes. */
const basic = (credentials: string | Buffer, scheme = "Basic"): [string, string] => [
  "authorization",
  `${scheme} ${Buffer.from(credentials).toString("base64")}`,
];
const login = (p: Plugin, user: string, password: string) => send(p, [basic(`${user}:${password}`)]);

/** The VM logged no error and trapped nowhere. */
function noTrap(vm: ProxyWasmVm): void {
  expect(vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message)).toEqual([]);
}

describe("a correct password", () => {
  it("admits the caller as its consumer: filter state, upstream headers, Authorization removed", async () => {
    const { p } = await plugin();
    const r = login(p, "alice", ALICE_PW);
    expect(r.status).toBe(200);
    expect(r.state("portico_consumer")).toBe("alice");
    expect(r.state("portico_consumer_groups")).toBe(",gold,beta,");
    expect(r.state("portico_credential")).toBe("basic:alice");
    expect(r.up("x-consumer-name")).toEqual(["alice"]);
    expect(r.up("x-consumer-groups")).toEqual(["gold,beta"]);
    expect(r.up("x-credential-identifier")).toEqual(["basic:alice"]);
    expect(r.up("authorization")).toEqual([]);
  });

  it("checks $2y$ bcrypt and {SHA} users too", async () => {
    const { p } = await plugin();
    const b = login(p, "bob", BOB_PW);
    expect(b.status).toBe(200);
    expect(b.state("portico_consumer")).toBe("bob");
    expect(b.up("x-consumer-groups")).toEqual([]);
    expect(login(p, "carol", CAROL_PW).state("portico_consumer")).toBe("carol");
  });

  it("splits at the first colon: a password may contain colons, a username cannot", async () => {
    const { p } = await plugin();
    expect(login(p, "bob", BOB_PW).status).toBe(200); // "bob:b0b:has:colons"
    expect(send(p, [basic(`bob:b0b:${BOB_PW.slice(4)}`)]).status).toBe(200);
    expect(send(p, [basic(`bob:b0b:has`)]).status).toBe(401);
  });

  it("takes the scheme in any case, one or more spaces, and base64 with or without padding (RFC 7617, RFC 7235)", async () => {
    const { p } = await plugin();
    const b64 = Buffer.from(`alice:${ALICE_PW}`).toString("base64");
    expect(b64.endsWith("=")).toBe(true);
    for (const value of [`basic ${b64}`, `BASIC ${b64}`, `bAsIc ${b64}`, `Basic   ${b64}`, `Basic ${b64.replace(/=+$/, "")}`]) {
      expect(send(p, [["authorization", value]]).status, value).toBe(200);
    }
  });

  it("upstream_headers: false sets filter state only; hide_credentials: false forwards Authorization", async () => {
    const { p } = await plugin(config({ upstream_headers: false, hide_credentials: false }));
    const r = login(p, "alice", ALICE_PW);
    expect(r.status).toBe(200);
    expect(r.state("portico_consumer")).toBe("alice");
    expect(r.up("x-consumer-name")).toEqual([]);
    expect(r.up("authorization")).toEqual([basic(`alice:${ALICE_PW}`)[1]]);
  });

  it("removes client-sent identity headers in every spelling, whether or not it writes its own", async () => {
    for (const upstream_headers of [true, false]) {
      const { p } = await plugin(config({ upstream_headers }));
      const spoofed: HeaderList = [
        ["x-consumer-name", "admin"],
        ["X_Consumer_Name", "admin"],
        ["x-consumer_groups", "root"],
        ["X-Credential-Identifier", "key:admin"],
      ];
      const r = send(p, [basic(`bob:${BOB_PW}`), ...spoofed]);
      expect(r.status).toBe(200);
      const names = r.stream.requestHeaders.map(([k]) => k.toLowerCase().replace(/_/g, "-"));
      const identity = r.stream.requestHeaders.filter(([k]) =>
        ["x-consumer-name", "x-consumer-groups", "x-credential-identifier"].includes(k.toLowerCase().replace(/_/g, "-")),
      );
      expect(identity, `upstream_headers ${upstream_headers}`).toEqual(
        upstream_headers
          ? [
              ["x-consumer-name", "bob"],
              ["x-credential-identifier", "basic:bob"],
            ]
          : [],
      );
      expect(names.filter((n) => n === "x-consumer-groups")).toEqual([]);
    }
  });
});

describe("refusals", () => {
  it("answers a missing credential with 401 and the configured realm", async () => {
    const { vm, p } = await plugin(config({ realm: "staff area" }));
    const r = send(p);
    expect(r.status).toBe(401);
    expect(r.header("www-authenticate")).toBe('Basic realm="staff area", charset="UTF-8"');
    expect(JSON.parse(r.body)).toEqual({ error: "missing_credentials" });
    expect(vm.metric("portico.basic_auth.api.missing_total")).toBe(1);
  });

  it("defaults the realm to portico, and answers another scheme as no Basic credential", async () => {
    const { vm, p } = await plugin();
    const r = send(p, [["authorization", "Bearer abc.def.ghi"]]);
    expect(r.status).toBe(401);
    expect(r.header("www-authenticate")).toBe('Basic realm="portico", charset="UTF-8"');
    expect(vm.metric("portico.basic_auth.api.missing_total")).toBe(1);
  });

  it("refuses wrong, malformed and ambiguous credentials with 401, never a trap", async () => {
    const { vm, p } = await plugin();
    const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
    const cases: Array<[string, HeaderList]> = [
      ["wrong password", [basic("alice:wrong")]],
      ["password in the wrong case", [basic(`alice:${ALICE_PW.toUpperCase()}`)]],
      ["password with a trailing space", [basic(`alice:${ALICE_PW} `)]],
      ["username in the wrong case", [basic(`Alice:${ALICE_PW}`)]],
      ["username with a trailing space", [basic(`alice :${ALICE_PW}`)]],
      ["unknown user", [basic(`mallory:${ALICE_PW}`)]],
      ["empty username", [basic(`:${ALICE_PW}`)]],
      ["empty password", [basic("alice:")]],
      ["empty user and password", [basic(":")]],
      ["no colon", [basic(`alice${ALICE_PW}`)]],
      ["nothing after Basic", [["authorization", "Basic"]]],
      ["only spaces after Basic", [["authorization", "Basic   "]]],
      ["no space after Basic", [["authorization", `Basic${b64(`alice:${ALICE_PW}`)}`]]],
      ["not base64", [["authorization", "Basic !!!!"]]],
      ["base64 with a space inside", [["authorization", `Basic ${b64(`alice:${ALICE_PW}`).replace(/^(.{8})/, "$1 ")}`]]],
      ["a length no base64 has", [["authorization", "Basic YWxpY2U6Y"]]],
      ["wrong padding", [["authorization", `Basic ${b64("alice:x").replace(/=*$/, "")}=`]]],
      ["non-canonical last character", [["authorization", "Basic YR=="]]],
      ["non-UTF-8 username", [basic(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`:${ALICE_PW}`)]))]],
      ["non-UTF-8 password", [basic(Buffer.concat([Buffer.from("alice:"), Buffer.from([0xc3, 0x28, 0xff])]))]],
      ["a NUL in the username", [basic(`alice\0:${ALICE_PW}`)]],
      ["very long (5 KiB)", [basic(`alice:${"x".repeat(5000)}`)]],
      ["two Authorization headers, both right", [basic(`alice:${ALICE_PW}`), basic(`alice:${ALICE_PW}`)]],
      ["two Authorization headers, one right", [basic("bob:wrong"), basic(`alice:${ALICE_PW}`)]],
    ];
    for (const [label, headers] of cases) {
      const r = send(p, headers);
      expect(r.status, label).toBe(401);
      expect(r.header("www-authenticate"), label).toBe('Basic realm="portico", charset="UTF-8"');
      expect(r.state("portico_consumer"), label).toBeUndefined();
    }
    expect(vm.metric("portico.basic_auth.api.invalid_total")).toBe(cases.length);
    noTrap(vm);
  });

  it("reads at most 4 KiB of Authorization: a longer value is refused without being decoded", async () => {
    const long = "p".repeat(3000);
    const { vm, p } = await plugin(config({ consumers: [{ name: "long", basic: [{ username: "long", hash: shaHash(long) }] }] }));
    // 3,005 bytes → 4,008 base64 characters: with "Basic " just over 4,096? No: 4,014. Under.
    expect(login(p, "long", long).status).toBe(200);
    const longer = "p".repeat(3100); // 4,142 + 6 bytes of header value: over the bound
    const { p: p2 } = await plugin(config({ consumers: [{ name: "long", basic: [{ username: "long", hash: shaHash(longer) }] }] }), vm);
    expect(login(p2, "long", longer).status).toBe(401);
  });

  it("never logs a password or the Authorization header", async () => {
    const { vm, p } = await plugin();
    login(p, "alice", ALICE_PW);
    login(p, "alice", "hunter2-wrong");
    send(p, [["authorization", "Basic !!!!"]]);
    const text = vm.logs.map((l) => l.message).join("\n");
    for (const secret of [ALICE_PW, "hunter2-wrong", Buffer.from(`alice:${ALICE_PW}`).toString("base64"), "!!!!"]) {
      expect(text.includes(secret), secret).toBe(false);
    }
  });
});

describe("anonymous callers", () => {
  it("admits a request without Authorization (or with another scheme) as the anonymous consumer", async () => {
    const { vm, p } = await plugin(config({ anonymous: "guest" }));
    for (const headers of [[], [["authorization", "Bearer t"]]] as HeaderList[]) {
      const r = send(p, headers);
      expect(r.status).toBe(200);
      expect(r.state("portico_consumer")).toBe("guest");
      expect(r.state("portico_credential")).toBe("anonymous");
      expect(r.up("x-consumer-name")).toEqual(["guest"]);
      expect(r.up("x-consumer-groups")).toEqual(["free"]);
      expect(r.up("x-credential-identifier")).toEqual(["anonymous"]);
    }
    // Another scheme's credential is not ours to remove.
    expect(send(p, [["authorization", "Bearer t"]]).up("authorization")).toEqual(["Bearer t"]);
    expect(vm.metric("portico.basic_auth.api.anonymous_total")).toBe(3);
  });

  it("still refuses a wrong or malformed Basic credential: a failed login is not no login", async () => {
    const { vm, p } = await plugin(config({ anonymous: "guest" }));
    expect(login(p, "alice", "wrong").status).toBe(401);
    expect(send(p, [["authorization", "Basic !!!"]]).status).toBe(401);
    expect(login(p, "alice", ALICE_PW).state("portico_consumer")).toBe("alice");
    expect(vm.metric("portico.basic_auth.api.anonymous_total")).toBe(0);
  });
});

describe("the cache of verified credentials", () => {
  it("runs bcrypt once for a correct password, then answers from the cache", async () => {
    const { vm, p } = await plugin();
    for (let i = 0; i < 5; i++) expect(login(p, "alice", ALICE_PW).status).toBe(200);
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(1);
    expect(vm.metric("portico.basic_auth.api.cache_hits_total")).toBe(4);
    expect(vm.metric("portico.basic_auth.api.allowed_total")).toBe(5);
  });

  it("never answers a wrong password from the cache, and never remembers one", async () => {
    const { vm, p } = await plugin();
    expect(login(p, "alice", ALICE_PW).status).toBe(200);
    for (const wrong of ["wrong", "wrong", `${ALICE_PW} `, ALICE_PW.slice(0, -1)]) expect(login(p, "alice", wrong).status, wrong).toBe(401);
    // Every wrong guess was a full check; the right one is still cached.
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(5);
    expect(vm.metric("portico.basic_auth.api.cache_hits_total")).toBe(0);
    expect(login(p, "alice", ALICE_PW).status).toBe(200);
    expect(vm.metric("portico.basic_auth.api.cache_hits_total")).toBe(1);
  });

  it("does not let one user's cached password open another user's account", async () => {
    const { p } = await plugin();
    expect(login(p, "alice", ALICE_PW).status).toBe(200);
    expect(login(p, "bob", ALICE_PW).status).toBe(401);
  });

  it("forgets an entry after cache_ttl", async () => {
    const { vm, p } = await plugin(config({ cache_ttl: "10s" }));
    login(p, "alice", ALICE_PW);
    vm.advanceTime(9_999);
    login(p, "alice", ALICE_PW);
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(1);
    vm.advanceTime(2);
    expect(login(p, "alice", ALICE_PW).status).toBe(200);
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(2);
  });

  it("holds cache_size entries: with one slot, two users evict each other", async () => {
    const { vm, p } = await plugin(config({ cache_size: 1 }));
    for (let i = 0; i < 3; i++) {
      expect(login(p, "alice", ALICE_PW).status).toBe(200);
      expect(login(p, "bob", BOB_PW).status).toBe(200);
    }
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(6);
    expect(vm.metric("portico.basic_auth.api.cache_hits_total")).toBe(0);
  });

  it("starts empty under a new configuration: a changed password stops working at once", async () => {
    const { vm, p } = await plugin();
    expect(login(p, "alice", ALICE_PW).status).toBe(200);
    const changed = consumers();
    changed[0] = { ...changed[0], basic: [{ username: "alice", hash: bcryptjs.hashSync("new password", 4) }] };
    const { p: next } = await plugin(config({ consumers: changed }), vm);
    expect(login(next, "alice", ALICE_PW).status).toBe(401);
    expect(login(next, "alice", "new password").status).toBe(200);
  });

  it("is not used for {SHA} users, whose check costs no more than the cache key", async () => {
    const { vm, p } = await plugin();
    for (let i = 0; i < 3; i++) login(p, "carol", CAROL_PW);
    expect(vm.metric("portico.basic_auth.api.cache_hits_total")).toBe(0);
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(0);
    expect(vm.metric("portico.basic_auth.api.allowed_total")).toBe(3);
  });
});

describe("the verification budget", () => {
  it("answers 429 with Retry-After: 1 above max_verifications_per_second, while cached credentials still pass", async () => {
    const { vm, p } = await plugin(config({ max_verifications_per_second: 2 }));
    expect(login(p, "alice", ALICE_PW).status).toBe(200); // check 1, cached
    expect(login(p, "bob", "guess-1").status).toBe(401); // check 2
    const throttled = login(p, "bob", "guess-2");
    expect(throttled.status).toBe(429);
    expect(throttled.header("retry-after")).toBe("1");
    expect(JSON.parse(throttled.body)).toEqual({ error: "too_many_password_checks" });
    expect(login(p, "bob", BOB_PW).status).toBe(429); // not cached yet: waits like a guess
    expect(login(p, "alice", ALICE_PW).status).toBe(200); // cached: no check needed
    expect(vm.metric("portico.basic_auth.api.verify_throttled_total")).toBe(2);
    // Refilled at 2 a second: one more check after half a second.
    vm.advanceTime(500);
    expect(login(p, "bob", BOB_PW).status).toBe(200);
    expect(login(p, "bob", "guess-3").status).toBe(429);
    vm.advanceTime(1000);
    expect(login(p, "bob", "guess-3").status).toBe(401);
    expect(login(p, "bob", BOB_PW).status).toBe(200); // cached since its check
    expect(vm.metric("portico.basic_auth.api.verifications_total")).toBe(4);
  });

  it("does not ration {SHA} checks, which cost microseconds", async () => {
    const { vm, p } = await plugin(config({ max_verifications_per_second: 1 }));
    for (let i = 0; i < 10; i++) expect(login(p, "carol", `guess-${i}`).status).toBe(401);
    expect(vm.metric("portico.basic_auth.api.verify_throttled_total") ?? 0).toBe(0);
  });
});

describe("configuration", () => {
  it("accepts a consumers block shared with other auth filters (keys, jwt ignored), and stat_prefix in metric names", async () => {
    const { vm, p } = await plugin({
      consumers: [{ name: "a", basic: [{ username: "a", hash: ALICE_HASH }], jwt: [{ issuer: "i", subject: "s" }] }],
    });
    expect(login(p, "a", ALICE_PW).status).toBe(200);
    expect(vm.metric("portico.basic_auth.allowed_total")).toBe(1);
  });

  // Each configuration has exactly one problem.
  const bad: Array<[string, () => Json | string, string | RegExp]> = [
    [
      "a username given to two consumers",
      () => ({
        consumers: [
          { name: "a", basic: [{ username: "u", hash: ALICE_HASH }] },
          { name: "b", basic: [{ username: "u", hash: BOB_HASH }] },
        ],
      }),
      'consumers[1].basic[0].username: username "u" is also given at consumers[0].basic[0] (consumer "a"): a username identifies one consumer',
    ],
    [
      "a username with a colon",
      () => ({ consumers: [{ name: "a", basic: [{ username: "a:b", hash: ALICE_HASH }] }] }),
      'consumers[0].basic[0].username: a username is 1 to 256 visible ASCII characters without ":"',
    ],
    [
      "an empty username",
      () => ({ consumers: [{ name: "a", basic: [{ username: "", hash: ALICE_HASH }] }] }),
      "consumers[0].basic[0].username: a username is",
    ],
    ["a missing hash", () => ({ consumers: [{ name: "a", basic: [{ username: "a" }] }] }), "consumers[0].basic[0].hash: is required"],
    [
      "an Apache MD5 hash",
      () => ({ consumers: [{ name: "a", basic: [{ username: "a", hash: "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/" }] }] }),
      /consumers\[0\]\.basic\[0\]\.hash: unsupported password hash format: Apache MD5 \(\$apr1\$, htpasswd -m\); supported: bcrypt/,
    ],
    [
      "SHA-512-crypt",
      () => ({ consumers: [{ name: "a", basic: [{ username: "a", hash: "$6$salt$abc" }] }] }),
      /unsupported password hash format: SHA-512-crypt/,
    ],
    [
      "a plain-text password",
      () => ({ consumers: [{ name: "a", basic: [{ username: "a", hash: "hunter2" }] }] }),
      /consumers\[0\]\.basic\[0\]\.hash: unsupported password hash format: plain text/,
    ],
    [
      "bcrypt above cost 14",
      () => ({ consumers: [{ name: "a", basic: [{ username: "a", hash: ALICE_HASH.replace("$04$", "$15$") }] }] }),
      /consumers\[0\]\.basic\[0\]\.hash: bcrypt cost 15 is above 14: every check .* blocks an Envoy worker thread/,
    ],
    ["a realm with a quote", () => config({ realm: 'a"b' }), "realm: may contain only printable ASCII"],
    ["cache_size 0", () => config({ cache_size: 0 }), "cache_size: must be an integer from 1 to 65536"],
    ["a cache_ttl under a second", () => config({ cache_ttl: "500ms" }), "cache_ttl: must be between 1s and 24h"],
    [
      "max_verifications_per_second 0",
      () => config({ max_verifications_per_second: 0 }),
      "max_verifications_per_second: must be an integer from 1 to 10000",
    ],
    ["an unknown field", () => config({ hide_credential: true }), "hide_credential: unknown field"],
    [
      "an unknown credential field",
      () => ({ consumers: [{ name: "a", basic: [{ username: "a", hash: ALICE_HASH, password: "x" }] }] }),
      "consumers[0].basic[0].password: unknown field",
    ],
    ["no consumers", () => ({}), "consumers: is required"],
    ["an unknown anonymous consumer", () => config({ anonymous: "nobody" }), 'anonymous: no consumer named "nobody"'],
  ];
  for (const [label, cfg, message] of bad) {
    it(`refuses ${label}, naming the field`, async () => {
      const { vm, p } = await load(cfg());
      expect(p.ok).toBe(false);
      const errors = vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n");
      if (typeof message === "string") expect(errors).toContain(message);
      else expect(errors).toMatch(message);
      // A hash is a secret: no message quotes one.
      for (const secret of [ALICE_HASH, BOB_HASH, "hunter2", "HqJZimcKQFAMYayBlzkrA"]) expect(errors.includes(secret)).toBe(false);
    });
  }
});

describe("memory", () => {
  it("stays flat over 20,000 requests of every kind (cached, {SHA}, wrong bcrypt, malformed, anonymous, 4 KiB values, throttled)", async () => {
    const { vm, p } = await plugin(config({ anonymous: "guest", cache_size: 4, max_verifications_per_second: 10 }));
    const big = `Basic ${"QUFB".repeat(1000)}`;
    const mix = (i: number) => {
      switch (i % 8) {
        case 0:
        case 1:
          return login(p, "alice", ALICE_PW);
        case 2:
          return login(p, "carol", `${CAROL_PW}${i % 3 === 0 ? "" : "x"}`);
        case 3:
          // A bcrypt check now and then (the budget answers the rest with 429).
          return login(p, "bob", `guess-${i}`);
        case 4:
          return send(p, [["authorization", big]]);
        case 5:
          return send(p, [["x-consumer-name", `spoof-${i}`]]);
        case 6:
          return send(p, [["authorization", `Basic ${Buffer.from(`user-${i}:${"p".repeat(i % 200)}`).toString("base64")}`]]);
        default:
          return send(p, [["authorization", `bearer ${i}`]]);
      }
    };
    for (let i = 0; i < 2_000; i++) mix(i);
    const warm = vm.memoryBytes();
    for (let i = 0; i < 20_000; i++) {
      // Advance the clock now and then, so that cache entries expire and the budget refills.
      if (i % 1000 === 0) vm.advanceTime(60_000);
      expect([200, 401, 429]).toContain(mix(i).status);
    }
    expect(vm.memoryBytes()).toBe(warm);
  });
});

describe("the module", () => {
  it("exports only the callbacks it uses (request headers; no response, body, tick, log or done callbacks)", () => {
    expect(exportedCallbacks(module)).toEqual([
      "proxy_on_configure",
      "proxy_on_context_create",
      "proxy_on_delete",
      "proxy_on_request_headers",
      "proxy_on_vm_start",
    ]);
  });
});
