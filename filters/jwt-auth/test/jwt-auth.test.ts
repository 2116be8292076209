// jwt-auth driven through the proxy-wasm host emulator: every algorithm accepted and its forgeries
// refused, exp/nbf/iat against the emulated clock with skew, token sources, claims to headers,
// failure responses, metrics, and the remote JWKS life cycle (first fetch, waiting requests,
// periodic refresh, keeping the last good set, unknown-kid refetch and its rate limit, one fetch
// shared by worker VMs). Tokens are minted by `jose` (test/support/jwt.ts), not by the filter.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  LogLevel,
  MetricsStore,
  ProxyWasmVm,
  SharedData,
  type HeaderList,
  type HttpCall,
  type HttpStream,
  type Plugin,
} from "../../../emulator/index.js";
import { builtFilter, exportedCallbacks } from "../../../test/support/wasm-fixtures.js";
import {
  algNone,
  assemble,
  generateKey,
  generateKeys,
  hmacWithPublicKey,
  JWT_AUTH_ALGORITHMS,
  jwksOf,
  malformedTokens,
  mint,
  oversized,
  payloadSegment,
  tamperPayload,
  tamperSignature,
  type Claims,
  type JwsAlg,
  type Jwks,
  type TestKey,
} from "../../../test/support/jwt.js";

let module: WebAssembly.Module;
let keys: Map<JwsAlg, TestKey>;
let impostors: Map<JwsAlg, TestKey>;

beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(builtFilter("jwt-auth")));
  keys = await generateKeys(JWT_AUTH_ALGORITHMS, "main");
  impostors = await generateKeys(JWT_AUTH_ALGORITHMS, "impostor");
}, 180_000);

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;
const ISSUER = "https://idp.example.com";
const AUTHORITY = "api.example.test";
const key = (alg: JwsAlg) => keys.get(alg)!;
const claims = (extra: Claims = {}): Claims => ({ iss: ISSUER, aud: "api", sub: "user-1", iat: NOW, exp: NOW + 3600, ...extra });

const request = (path: string, extra: HeaderList = [], method = "GET"): HeaderList => [
  [":method", method],
  [":path", path],
  [":authority", AUTHORITY],
  [":scheme", "https"],
  ...extra,
];
const bearer = (t: string): [string, string] => ["authorization", `Bearer ${t}`];

function localProvider(extra: object = {}, jwks: Jwks = jwksOf(keys.values())): object {
  return { name: "idp", issuer: ISSUER, audiences: ["api"], jwks, ...extra };
}
/** A provider with remote_jwks; `extra` goes into remote_jwks. */
function remoteProvider(extra: object = {}): object {
  return { name: "idp", issuer: ISSUER, remote_jwks: { cluster: "jwks", path: "/jwks.json", ...extra } };
}
const requireAll = (providers: object[], extra: object = {}) => ({ providers, rules: [{ match: {}, requires: ["idp"] }], ...extra });

async function plugin(
  config: object | string,
  vmOptions: Parameters<typeof ProxyWasmVm.load>[1] = {},
): Promise<{ vm: ProxyWasmVm; p: Plugin }> {
  const vm = await ProxyWasmVm.load(module, { startTime: T0, ...vmOptions });
  const p = vm.configurePlugin({ config: typeof config === "string" ? config : JSON.stringify(config), rootId: "jwt-auth", name: "jwt" });
  return { vm, p };
}

interface Outcome {
  stream: HttpStream;
  /** 200 when the request went upstream, else the local reply's status. */
  status: number;
  header(name: string): string[];
  json(): Record<string, unknown>;
}

/** Sends the request headers, answers nothing, and reports where the request stands. */
function start(p: Plugin, headers: HeaderList): HttpStream {
  const s = p.newHttpStream();
  s.sendRequestHeaders(headers, { endOfStream: true });
  return s;
}

function finish(s: HttpStream): Outcome {
  if (s.paused) throw new Error("the filter still holds the request (paused, no local reply)");
  if (!s.localResponse) {
    s.sendResponseHeaders([[":status", "200"]], { endOfStream: true });
  }
  s.complete();
  const local = s.localResponse;
  return {
    stream: s,
    status: local ? local.status : 200,
    header: (name) => (local ? local.headers : s.requestHeaders).filter(([k]) => k.toLowerCase() === name).map(([, v]) => v),
    json: () => JSON.parse(local?.body ?? "null") as Record<string, unknown>,
  };
}

const send = (p: Plugin, headers: HeaderList): Outcome => finish(start(p, headers));
const withToken = (p: Plugin, token: string, path = "/r"): Outcome => send(p, request(path, [bearer(token)]));

describe("configuration", () => {
  it("accepts a valid configuration", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    expect(p.ok).toBe(true);
    expect(vm.logs.filter((l) => l.level >= LogLevel.Error)).toEqual([]);
  });

  it("declares the cluster of each remote JWKS, with its config path (for the control plane's check)", async () => {
    const remote = (name: string, cluster: string) => ({ name, issuer: ISSUER, remote_jwks: { cluster, path: "/j" } });
    const { p } = await plugin({
      providers: [remote("idp", "idp"), localProvider({ name: "local" }), remote("b", "idp_b")],
      rules: [{ match: {}, requires: ["idp"] }],
    });
    expect(p.ok).toBe(true);
    expect(p.declaredClusters).toEqual([
      { name: "idp", path: "providers[0].remote_jwks.cluster" },
      { name: "idp_b", path: "providers[2].remote_jwks.cluster" },
    ]);
    expect((await plugin(requireAll([localProvider()]))).p.declaredClusters).toEqual([]);
  });

  const rules = [{ match: {}, requires: ["idp"] }];
  // Each configuration has exactly one problem.
  const bad: [string, () => unknown, string | RegExp][] = [
    ["a misspelt field", () => ({ providers: [{ ...localProvider(), isuer: ISSUER }], rules }), "providers[0].isuer: unknown field"],
    ["an unknown top-level field", () => ({ providers: [localProvider()], rules, rulez: [] }), "rulez: unknown field"],
    ["a missing issuer", () => ({ providers: [{ name: "idp", jwks: jwksOf([key("RS256")]) }], rules }), "providers[0].issuer"],
    [
      "a bad provider name",
      () => ({ providers: [{ ...localProvider(), name: "Bad-Name" }], rules: [{ match: {}, requires: ["Bad-Name"] }] }),
      "providers[0].name",
    ],
    [
      "alg none in the allow-list",
      () => ({ providers: [localProvider({ algorithms: ["RS256", "none"] })], rules }),
      "providers[0].algorithms",
    ],
    ["an unknown algorithm", () => ({ providers: [localProvider({ algorithms: ["RS1"] })], rules }), "providers[0].algorithms"],
    [
      "a rule naming an unknown provider",
      () => ({ providers: [localProvider()], rules: [{ match: {}, requires: ["other"] }] }),
      "rules[0].requires",
    ],
    [
      "both jwks and remote_jwks",
      () => ({ providers: [localProvider({ remote_jwks: { cluster: "c", path: "/j" } })], rules }),
      /providers\[0\]/,
    ],
    ["neither jwks nor remote_jwks", () => ({ providers: [{ name: "idp", issuer: ISSUER }], rules }), /providers\[0\]/],
    ["an unknown token source", () => ({ providers: [localProvider({ from: [{ body: "t" }] })], rules }), "providers[0].from[0]"],
    ["a wrong type", () => ({ providers: [localProvider({ forward_token: "yes" })], rules }), "providers[0].forward_token"],
    ["text that is not JSON", () => "{providers", /JSON/],
    [
      "both clock_skew and clock_skew_s",
      () => ({ providers: [localProvider({ clock_skew: "30s", clock_skew_s: 30 })], rules }),
      "providers[0]: give either clock_skew or the legacy clock_skew_s, not both",
    ],
    [
      "a clock_skew over an hour",
      () => ({ providers: [localProvider({ clock_skew: "61m" })], rules }),
      "providers[0].clock_skew: must be between 0s and 1h",
    ],
    [
      "a legacy clock_skew_s over an hour",
      () => ({ providers: [localProvider({ clock_skew_s: 3601 })], rules }),
      "providers[0].clock_skew_s: must be between 0s and 1h",
    ],
    [
      "a malformed clock_skew",
      () => ({ providers: [localProvider({ clock_skew: "1 minute" })], rules }),
      "providers[0].clock_skew: invalid duration",
    ],
    [
      "both timeout and timeout_ms",
      () => ({ providers: [remoteProvider({ timeout: "2s", timeout_ms: 2000 })], rules }),
      "providers[0].remote_jwks: give either timeout or the legacy timeout_ms, not both",
    ],
    [
      "both refresh and refresh_s",
      () => ({ providers: [remoteProvider({ refresh: "5m", refresh_s: 300 })], rules }),
      "providers[0].remote_jwks: give either refresh or the legacy refresh_s, not both",
    ],
    [
      "both min_refresh and min_refresh_s",
      () => ({ providers: [remoteProvider({ min_refresh: "5s", min_refresh_s: 5 })], rules }),
      "providers[0].remote_jwks: give either min_refresh or the legacy min_refresh_s, not both",
    ],
    [
      "a timeout under 100ms",
      () => ({ providers: [remoteProvider({ timeout: "50ms" })], rules }),
      "providers[0].remote_jwks.timeout: must be between 100ms and 60s",
    ],
    [
      "a legacy timeout_ms over 60s",
      () => ({ providers: [remoteProvider({ timeout_ms: 60_001 })], rules }),
      "providers[0].remote_jwks.timeout_ms: must be between 100ms and 60s",
    ],
    [
      "a refresh over a day",
      () => ({ providers: [remoteProvider({ refresh: "25h" })], rules }),
      "providers[0].remote_jwks.refresh: must be between 1s and 24h",
    ],
    [
      "a min_refresh under a second",
      () => ({ providers: [remoteProvider({ min_refresh: 0.5 })], rules }),
      "providers[0].remote_jwks.min_refresh: must be between 1s and 1h",
    ],
    [
      "an unsupported regex in a rule",
      () => ({ providers: [localProvider()], rules: [{ match: { path: { regex: "/a(?!b)" } }, requires: ["idp"] }] }),
      "rules[0].match.path.regex: invalid regex: lookahead ((?!...)) is not supported",
    ],
    // Found by fuzzing (filters/jwt-auth/test/fuzz.test.ts): the refusal must still say where.
    [
      "a configuration that is not an object",
      () => "[]",
      "jwt-auth: invalid configuration: configuration: must be an object, got an array",
    ],
    [
      "an unknown key that must be quoted to be read",
      () => ({ providers: [{ ...localProvider(), " ": 1 }], rules }),
      'providers[0][" "]: unknown field',
    ],
  ];
  it("keeps the error line bounded whatever the config: 20 errors, then how many more", async () => {
    const junk = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    const { vm, p } = await plugin({ providers: [localProvider()], rules, ...junk });
    expect(p.ok).toBe(false);
    const line = vm.logs.find((l) => l.level >= LogLevel.Error)!.message;
    expect(line).toMatch(/^jwt-auth: invalid configuration: k0: unknown field; .*; k19: unknown field; and 4980 more$/);
    expect(line.length).toBeLessThan(1000);
  });
  for (const [what, config, reason] of bad) {
    it(`refuses ${what}, naming it in an error log`, async () => {
      const { vm, p } = await plugin(config() as object | string);
      expect(p.ok).toBe(false);
      const errors = vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n");
      if (typeof reason === "string") expect(errors).toContain(reason);
      else expect(errors).toMatch(reason);
    });
  }
});

describe("algorithms", () => {
  for (const alg of JWT_AUTH_ALGORITHMS) {
    it(`${alg}: accepts a good token, refuses tampered payload, tampered signature and a wrong key`, async () => {
      const { vm, p } = await plugin(requireAll([localProvider()]));
      const good = await mint(key(alg), claims());
      expect(withToken(p, good).status).toBe(200);
      expect(withToken(p, tamperPayload(good, claims({ sub: "admin" }))).status).toBe(401);
      expect(withToken(p, tamperSignature(good)).status).toBe(401);
      expect(withToken(p, await mint(impostors.get(alg)!, claims(), { header: { kid: key(alg).kid } })).status).toBe(401);
      expect(vm.failure).toBeUndefined();
    });
  }

  it("never accepts alg none, whatever the header says", async () => {
    const { p } = await plugin(requireAll([localProvider()]));
    for (const t of [
      algNone(claims()),
      algNone(claims(), { kid: key("RS256").kid }),
      algNone(claims(), { alg: "NONE" }),
      algNone(claims(), { signature: "AAAA" }),
    ]) {
      const o = withToken(p, t);
      expect(o.status).toBe(401);
      expect(o.json().error).toBe("invalid_token");
    }
  });

  it("refuses algorithm confusion: HMAC keyed with a trusted public key's bytes", async () => {
    const { p } = await plugin(requireAll([localProvider()]));
    for (const [k, form, alg] of [
      ["RS256", "pem", "HS256"],
      ["RS256", "jwk", "HS256"],
      ["RS512", "der", "HS512"],
      ["PS256", "pem", "HS256"],
      ["ES256", "pem", "HS256"],
      ["ES384", "jwk", "HS384"],
      ["EdDSA", "pem", "HS256"],
    ] as [JwsAlg, "pem" | "jwk" | "der", "HS256" | "HS384" | "HS512"][]) {
      expect(withToken(p, hmacWithPublicKey(key(k), claims(), { form, alg })).status, `${alg} keyed with ${k} ${form}`).toBe(401);
    }
  });

  it("refuses a token whose algorithm does not fit the key its kid names", async () => {
    const { p } = await plugin(requireAll([localProvider()]));
    const ec = key("ES256");
    const rsa = key("RS256");
    expect(withToken(p, assemble({ alg: "RS256", kid: ec.kid }, claims(), { alg: "RS256", key: rsa.signingKey })).status).toBe(401);
    expect(withToken(p, assemble({ alg: "ES256", kid: rsa.kid }, claims(), { alg: "ES256", key: ec.signingKey })).status).toBe(401);
    expect(
      withToken(p, assemble({ alg: "ES256", kid: key("ES384").kid }, claims(), { alg: "ES256", key: key("ES384").signingKey })).status,
    ).toBe(401);
    expect(withToken(p, assemble({ alg: "EdDSA", kid: ec.kid }, claims(), { alg: "EdDSA", key: key("EdDSA").signingKey })).status).toBe(
      401,
    );
  });

  it("honours the algorithms allow-list, and by default every algorithm the keys support", async () => {
    // A JWKS whose RSA key carries no "alg": RS* and PS* both fit it.
    const rsa = await generateKey("RS256", "bare");
    const bare = { keys: [{ ...rsa.jwk, alg: undefined }] };
    const rs = await mint(rsa, claims());
    const ps = assemble({ alg: "PS384", kid: rsa.kid, typ: "JWT" }, claims(), { alg: "PS384", key: rsa.signingKey });
    const anyAlg = await plugin(requireAll([localProvider({}, bare)]));
    expect(withToken(anyAlg.p, rs).status).toBe(200);
    expect(withToken(anyAlg.p, ps).status).toBe(200);
    const onlyRs = await plugin(requireAll([localProvider({ algorithms: ["RS256"] }, bare)]));
    expect(withToken(onlyRs.p, rs).status).toBe(200);
    expect(withToken(onlyRs.p, ps).status).toBe(401);
  });

  it("treats kid only as a lookup key: an unknown kid is refused, a token without kid finds its key", async () => {
    const { p } = await plugin(requireAll([localProvider()]));
    expect(withToken(p, await mint(key("RS256"), claims(), { header: { kid: "unknown" } })).status).toBe(401);
    expect(withToken(p, await mint(key("ES384"), claims(), { noKid: true })).status).toBe(200);
    expect(withToken(p, await mint(impostors.get("ES384")!, claims(), { noKid: true })).status).toBe(401);
    // kid text that would be dangerous as a path or a query changes nothing.
    expect(withToken(p, await mint(key("RS256"), claims(), { header: { kid: "../../etc/passwd" } })).status).toBe(401);
  });

  it("tries a JWKS key without kid for tokens with any kid or none, as jwt_authn does; alg and key type still decide", async () => {
    // jwt_verify_lib skips a key only when both it and the token name a kid and they differ.
    const bare = await generateKey("ES256", "kidless");
    const rsa = key("RS256");
    const { p } = await plugin(requireAll([localProvider({}, { keys: [{ ...bare.jwk, kid: undefined }, rsa.jwk] })]));
    expect(withToken(p, await mint(bare, claims(), { header: { kid: "rotated-2031" } })).status, "unrelated kid").toBe(200);
    expect(withToken(p, await mint(bare, claims(), { noKid: true })).status, "no kid").toBe(200);
    expect(withToken(p, await mint(bare, claims(), { header: { kid: "" } })).status, "empty kid").toBe(200);
    expect(withToken(p, await mint(bare, claims(), { header: { kid: rsa.kid } })).status, "the RSA key's kid, ES256").toBe(200);
    const forged = withToken(p, await mint(impostors.get("ES256")!, claims(), { header: { kid: "rotated-2031" } }));
    expect(forged.status, "another key, unknown kid: the kid-less key is tried and fails").toBe(401);
    expect(forged.json().error_description).toBe("Jwt verification fails");
    // The kid-less key is ES256 only: an RS256 token with an unknown kid has no key to try.
    const noKey = withToken(p, await mint(rsa, claims(), { header: { kid: "rotated-2031" } }));
    expect(noKey.status).toBe(401);
    expect(noKey.json().error_description).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    // A kid naming another key is still only a lookup key: the RSA key verifies its own tokens.
    expect(withToken(p, await mint(rsa, claims())).status).toBe(200);
  });

  it("refuses a correctly signed token whose header has crit or b64 (RFC 7515 §4.1.11, RFC 7797)", async () => {
    const { p } = await plugin(requireAll([localProvider()]));
    const k = key("ES256");
    // Signed over the token's own header.payload, so only the header parameters can be the reason.
    const signed = (extra: object) =>
      assemble({ alg: "ES256", kid: k.kid, typ: "JWT", ...extra }, claims(), { alg: "ES256", key: k.signingKey });
    expect(withToken(p, signed({})).status, "the same token without them").toBe(200);
    for (const [what, extra] of [
      ["crit naming a registered claim", { crit: ["exp"], exp: NOW + 3600 }],
      ["crit naming an unknown extension", { crit: ["urn:example:policy"], "urn:example:policy": "x" }],
      ["b64: false", { b64: false, crit: ["b64"] }],
      ["b64: false without crit", { b64: false }],
    ] as [string, object][]) {
      const o = withToken(p, signed(extra));
      expect(o.status, what).toBe(401);
      expect(o.json().error_description, what).toBe("Jwt header has an unsupported critical parameter");
    }
  });

  it("never trusts keys or key locations carried by the token (jwk, jku, x5u, x5c)", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    const attacker = await generateKey("RS256", "attacker");
    for (const header of [
      { jwk: attacker.jwk },
      { jku: "https://evil.example.com/jwks.json" },
      { x5u: "https://evil.example.com/cert.pem" },
      { x5c: ["MIIB"] },
    ]) {
      expect(withToken(p, await mint(attacker, claims(), { header })).status, JSON.stringify(Object.keys(header))).toBe(401);
    }
    expect(vm.pendingHttpCalls).toEqual([]);
  });

  it("refuses malformed and oversized tokens with 401, without crashing", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    const good = await mint(key("RS256"), claims());
    for (const [what, t] of Object.entries(malformedTokens(good))) {
      expect(withToken(p, t).status, what).toBe(401);
    }
    expect(withToken(p, await oversized(key("RS256"), claims(), 8193)).status).toBe(401);
    expect(withToken(p, await oversized(key("RS256"), claims(), 6000)).status).toBe(200);
    const small = await plugin(requireAll([localProvider({ max_token_bytes: 1024 })]));
    expect(withToken(small.p, await oversized(key("RS256"), claims(), 1100)).status).toBe(401);
    expect(vm.failure).toBeUndefined();
  });

  it("refuses every single-character change of a token and every truncation, and never crashes", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    const good = await mint(key("ES256"), claims());
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const segmentEnds = new Set<number>();
    good.split("").forEach((_c, i) => {
      if (good[i + 1] === "." || i === good.length - 1) segmentEnds.add(i);
    });
    for (let n = 0; n < 150; n++) {
      const i = rnd(good.length);
      // The last character of a segment may carry unused bits; every other one carries data.
      if (good[i] === "." || segmentEnds.has(i)) continue;
      const c = alphabet[(alphabet.indexOf(good[i]!) + 1 + rnd(alphabet.length - 1)) % alphabet.length]!;
      const mutated = good.slice(0, i) + c + good.slice(i + 1);
      expect(withToken(p, mutated).status, `char ${i} ${good[i]} -> ${c}`).toBe(401);
    }
    for (let n = 0; n < 40; n++) {
      expect(withToken(p, good.slice(0, rnd(good.length - 1))).status).toBe(401);
    }
    expect(withToken(p, good).status).toBe(200);
    expect(vm.failure).toBeUndefined();
  });
});

// A verified token is cached (cache.ts): a repeat costs a lookup, not a signature check. The
// cache is keyed by a fingerprint of the token, so what matters is that a hit needs the exact
// token, under the provider that verified it.
describe("the verified-token cache", () => {
  it("serves only the exact token: every one-character change of a cached token is refused", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    const good = await mint(key("RS256"), claims());
    expect(withToken(p, good).status).toBe(200); // cached from now on
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // Every position but the dots and each segment's last character (which may carry unused bits).
    for (let i = 0; i < good.length; i += 7) {
      if (good[i] === "." || good[i + 1] === "." || i === good.length - 1) continue;
      const c = alphabet[(alphabet.indexOf(good[i]!) + 1) % alphabet.length]!;
      const mutated = good.slice(0, i) + c + good.slice(i + 1);
      expect(withToken(p, mutated).status, `char ${i} ${good[i]} -> ${c}`).toBe(401);
    }
    expect(withToken(p, `${good}A`).status).toBe(401);
    expect(withToken(p, good.slice(1)).status).toBe(401);
    expect(withToken(p, good).status).toBe(200);
    expect(vm.failure).toBeUndefined();
  });

  it("serves a token only to the provider that verified it", async () => {
    const rs = key("RS256");
    const es = key("ES256");
    const { p } = await plugin({
      providers: [localProvider({ name: "rs" }, jwksOf([rs])), localProvider({ name: "es" }, jwksOf([es]))],
      rules: [
        { match: { path: { prefix: "/rs" } }, requires: ["rs"] },
        { match: { path: { prefix: "/es" } }, requires: ["es"] },
      ],
    });
    const token = await mint(rs, claims());
    expect(withToken(p, token, "/rs").status).toBe(200);
    expect(withToken(p, token, "/es").status).toBe(401);
    expect(withToken(p, token, "/rs").status).toBe(200);
  });

  it("keeps serving many tokens at once, each its own claims", async () => {
    const { p } = await plugin({
      providers: [localProvider({ claims_to_headers: [{ claim: "sub", header: "x-user" }] })],
      rules: [{ match: {}, requires: ["idp"] }],
    });
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => mint(key("RS256"), claims({ sub: `user-${i}` }))));
    for (const round of [1, 2]) {
      tokens.forEach((t, i) => {
        const o = withToken(p, t);
        expect(o.status, `round ${round}, token ${i}`).toBe(200);
        expect(o.header("x-user")).toEqual([`user-${i}`]);
      });
    }
  });
});

describe("time claims against the emulated clock", () => {
  it("applies exp with the default 60s skew, and re-checks a token it accepted before", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    expect(withToken(p, await mint(key("RS256"), claims({ exp: NOW - 50 }))).status).toBe(200);
    expect(withToken(p, await mint(key("RS256"), claims({ exp: NOW - 70 }))).status).toBe(401);
    const shortLived = await mint(key("ES256"), claims({ exp: NOW + 10 }));
    expect(withToken(p, shortLived).status).toBe(200);
    vm.advanceTime(65_000); // exp + 55s: inside the skew
    expect(withToken(p, shortLived).status).toBe(200);
    vm.advanceTime(10_000); // exp + 65s
    const expired = withToken(p, shortLived);
    expect(expired.status).toBe(401);
    expect(expired.json().error).toBe("invalid_token");
  });

  it("applies nbf and iat with skew, and accepts a token once it becomes valid", async () => {
    const { vm, p } = await plugin(requireAll([localProvider()]));
    expect(withToken(p, await mint(key("RS256"), claims({ nbf: NOW + 50 }))).status).toBe(200);
    expect(withToken(p, await mint(key("RS256"), claims({ iat: NOW + 50 }))).status).toBe(200);
    expect(withToken(p, await mint(key("RS256"), claims({ iat: NOW + 70 }))).status).toBe(401);
    const early = await mint(key("RS256"), claims({ nbf: NOW + 120 }));
    expect(withToken(p, early).status).toBe(401);
    vm.advanceTime(65_000); // nbf - 55s
    expect(withToken(p, early).status).toBe(200);
  });

  it("takes clock_skew as a duration, like clock_skew_s", async () => {
    for (const skew of [{ clock_skew: "0s" }, { clock_skew: 0 }, { clock_skew_s: 0 }]) {
      const strict = await plugin(requireAll([localProvider(skew)]));
      expect(withToken(strict.p, await mint(key("RS256"), claims({ exp: NOW - 2 }))).status, JSON.stringify(skew)).toBe(401);
    }
    for (const skew of [{ clock_skew: "2m" }, { clock_skew: 120 }, { clock_skew: "1m60s" }, { clock_skew_s: 120 }]) {
      const lax = await plugin(requireAll([localProvider(skew)]));
      expect(withToken(lax.p, await mint(key("RS256"), claims({ exp: NOW - 100 }))).status, JSON.stringify(skew)).toBe(200);
      expect(withToken(lax.p, await mint(key("RS256"), claims({ exp: NOW - 130 }))).status, JSON.stringify(skew)).toBe(401);
    }
  });

  it("uses clock_skew_s, and require_exp decides about tokens without exp", async () => {
    const strict = await plugin(requireAll([localProvider({ clock_skew_s: 0 })]));
    expect(withToken(strict.p, await mint(key("RS256"), claims({ exp: NOW - 2 }))).status).toBe(401);
    expect(withToken(strict.p, await mint(key("RS256"), claims({ nbf: NOW + 2 }))).status).toBe(401);
    expect(withToken(strict.p, await mint(key("RS256"), claims({ exp: NOW + 2 }))).status).toBe(200);
    const { exp: _, ...noExp } = claims();
    expect(withToken(strict.p, await mint(key("RS256"), noExp)).status).toBe(401);
    const lax = await plugin(requireAll([localProvider({ require_exp: false })]));
    expect(withToken(lax.p, await mint(key("RS256"), noExp)).status).toBe(200);
    expect(withToken(lax.p, await mint(key("RS256"), claims({ exp: NOW - 3600 }))).status).toBe(401);
  });

  it("refuses time claims that are not numbers", async () => {
    const { p } = await plugin(requireAll([localProvider()]));
    expect(withToken(p, await mint(key("RS256"), claims({ exp: String(NOW + 3600) }))).status).toBe(401);
    expect(withToken(p, await mint(key("RS256"), claims({ nbf: "0" }))).status).toBe(401);
  });
});

describe("issuer, audience and required claims", () => {
  it("refuses another issuer with 401 and a wrong audience or a missing required claim with 403", async () => {
    const { p } = await plugin(requireAll([localProvider({ required_claims: ["sub", "email"] })]));
    const ok = claims({ email: "a@example.com" });
    expect(withToken(p, await mint(key("RS256"), ok)).status).toBe(200);
    expect(withToken(p, await mint(key("RS256"), { ...ok, aud: ["x", "api"] })).status).toBe(200);
    expect(withToken(p, await mint(key("RS256"), { ...ok, iss: `${ISSUER}/` })).status).toBe(401);
    const wrongAud = withToken(p, await mint(key("RS256"), { ...ok, aud: "apis" }));
    expect(wrongAud.status).toBe(403);
    expect(wrongAud.json().error).toBe("insufficient_scope");
    expect(wrongAud.header("www-authenticate")[0]).toMatch(
      /^Bearer realm="api\.example\.test", error="insufficient_scope", error_description="[^"]+"$/,
    );
    const { email: _, ...noEmail } = ok;
    expect(withToken(p, await mint(key("RS256"), noEmail)).status).toBe(403);
  });
});

describe("token sources, stripping and claims to headers", () => {
  const sources = {
    from: [{ header: "authorization", prefix: "Bearer " }, { header: "x-token" }, { query: "access_token" }, { cookie: "jwt" }],
  };

  it("takes the token from a header, a query parameter or a cookie and removes it there", async () => {
    const { p } = await plugin(requireAll([localProvider(sources)]));
    const t = await mint(key("ES256"), claims());
    const h = send(p, request("/r", [["x-token", t]]));
    expect(h.status).toBe(200);
    expect(h.header("x-token")).toEqual([]);
    const q = send(p, request(`/r?a=1&access_token=${t}&b=2`));
    expect(q.status).toBe(200);
    expect(q.stream.requestHeader(":path")).toBe("/r?a=1&b=2");
    const c = send(p, request("/r", [["cookie", `a=1; jwt=${t}; b=2`]]));
    expect(c.status).toBe(200);
    expect(c.header("cookie").join("; ")).toBe("a=1; b=2");
    const b = send(p, request("/r", [bearer(t)]));
    expect(b.header("authorization")).toEqual([]);
  });

  it("keeps it with forward_token", async () => {
    const { p } = await plugin(requireAll([localProvider({ ...sources, forward_token: true })]));
    const t = await mint(key("ES256"), claims());
    expect(send(p, request("/r", [bearer(t)])).header("authorization")).toEqual([`Bearer ${t}`]);
    expect(send(p, request(`/r?access_token=${t}`)).stream.requestHeader(":path")).toBe(`/r?access_token=${t}`);
  });

  it("sets claim headers (nested, arrays and objects as JSON) after removing client-sent ones", async () => {
    const { p } = await plugin(
      requireAll([
        localProvider({
          claims_to_headers: [
            { claim: "sub", header: "x-jwt-sub" },
            { claim: "realm.roles", header: "x-jwt-roles" },
            { claim: "realm", header: "x-jwt-realm" },
            { claim: "email", header: "x-jwt-email" },
            { claim: "n", header: "x-jwt-n" },
          ],
          payload_header: "x-jwt-payload",
        }),
      ]),
    );
    const t = await mint(key("RS256"), claims({ realm: { roles: ["a", "b"] }, n: 1.5 }));
    const o = send(p, request("/r", [bearer(t), ["x-jwt-sub", "forged"], ["x-jwt-email", "forged"], ["x-jwt-payload", "forged"]]));
    expect(o.status).toBe(200);
    expect(o.header("x-jwt-sub")).toEqual(["user-1"]);
    expect(JSON.parse(o.header("x-jwt-roles")[0]!)).toEqual(["a", "b"]);
    expect(JSON.parse(o.header("x-jwt-realm")[0]!)).toEqual({ roles: ["a", "b"] });
    expect(o.header("x-jwt-n")).toEqual(["1.5"]);
    expect(o.header("x-jwt-email")).toEqual([]);
    expect(o.header("x-jwt-payload")).toEqual([payloadSegment(t)]);
  });
});

describe("identity headers: client-sent spellings a lenient upstream reads as ours are removed", () => {
  // CGI, PHP-FPM, most WSGI servers and nginx with underscores_in_headers fold `_` into `-` (and
  // ignore case), so `x_jwt_sub` reaches them as the verified subject unless the filter drops it.
  const identity = {
    claims_to_headers: [
      { claim: "sub", header: "x-jwt-sub" },
      { claim: "email", header: "X-JWT-Email" },
    ],
    payload_header: "x-jwt-payload",
  };
  const forged: HeaderList = [
    ["x_jwt_sub", "admin"],
    ["X_Jwt-Sub", "admin"],
    ["x-jwt_sub", "admin"],
    ["x-jwt-sub", "admin"],
    ["x_jwt_email", "root@example.com"],
    ["x_jwt_payload", "e30"],
  ];
  // Names that merely look alike must stay: only an exact fold is the same header upstream.
  const unrelated: HeaderList = [
    ["x_jwt_subject", "keep"],
    ["x-jwt-su", "keep"],
    ["xx-jwt-sub", "keep"],
    ["x_other", "keep"],
  ];
  const names = (o: Outcome) => o.stream.requestHeaders.map(([k]) => k);
  const config = () => ({
    providers: [localProvider(identity)],
    rules: [
      { match: { path: { prefix: "/public/" } }, requires: [] },
      { match: { path: { prefix: "/opt/" } }, requires: ["idp"], allow_missing: true },
      { match: { path: { prefix: "/api/" } }, requires: ["idp"] },
    ],
  });

  it("a verified request reaches the upstream with only the filter's own values", async () => {
    const { p } = await plugin(config());
    const t = await mint(key("ES256"), claims({ email: "user@example.com" }));
    const o = send(p, request("/api/x", [bearer(t), ...forged, ...unrelated]));
    expect(o.status).toBe(200);
    expect(o.header("x-jwt-sub")).toEqual(["user-1"]);
    expect(o.header("x-jwt-email")).toEqual(["user@example.com"]);
    expect(o.header("x-jwt-payload")).toEqual([payloadSegment(t)]);
    expect(names(o).filter((n) => n.replaceAll("_", "-").toLowerCase().startsWith("x-jwt-"))).toEqual(
      expect.arrayContaining(["x-jwt-sub", "x-jwt-email", "x-jwt-payload"]),
    );
    for (const [n] of forged) if (n !== "x-jwt-sub") expect(names(o), n).not.toContain(n.toLowerCase());
    for (const [n, v] of unrelated) expect(o.header(n.toLowerCase()), n).toEqual([v]);
  });

  it("a claim the token lacks leaves no client-sent variant behind", async () => {
    const { p } = await plugin(config());
    const o = send(p, request("/api/x", [bearer(await mint(key("ES256"), claims())), ...forged]));
    expect(o.status).toBe(200);
    expect(names(o).filter((n) => /^x[-_]jwt[-_]email$/i.test(n))).toEqual([]);
  });

  it("requests that pass unverified (no token required, optional token absent, no rule) lose them too", async () => {
    const { p } = await plugin(config());
    for (const path of ["/public/x", "/opt/x", "/elsewhere"]) {
      const o = send(p, request(path, [...forged, ...unrelated]));
      expect(o.status, path).toBe(200);
      expect(
        names(o).filter((n) => /^x[-_]jwt[-_]/i.test(n) && !/subject|su$/.test(n)),
        path,
      ).toEqual([]);
      for (const [n, v] of unrelated) expect(o.header(n.toLowerCase()), `${path} ${n}`).toEqual([v]);
    }
  });

  it("costs one header-list call per request, also without claim headers (the consumer headers are always identity headers)", async () => {
    const counted = async (provider: object) => {
      const vm = await ProxyWasmVm.load(module, { startTime: T0, countHostCalls: true });
      const p = vm.configurePlugin({
        config: JSON.stringify({ providers: [provider], rules: [{ match: {}, requires: [] }] }),
        rootId: "jwt-auth",
      });
      expect(p.ok).toBe(true);
      vm.hostCalls.clear();
      for (let i = 0; i < 3; i++) send(p, request("/x", [["x_jwt_sub", "admin"]]));
      return {
        pairs: vm.hostCalls.get("proxy_get_header_map_pairs") ?? 0,
        removes: vm.hostCalls.get("proxy_remove_header_map_value") ?? 0,
      };
    };
    expect(await counted(localProvider())).toEqual({ pairs: 3, removes: 0 });
    expect(await counted(localProvider(identity))).toEqual({ pairs: 3, removes: 3 });
  });
});

describe("rules and failure responses", () => {
  const config = () => ({
    providers: [localProvider(), { name: "other", issuer: "https://other.example.com", jwks: jwksOf([key("EdDSA")]) }],
    rules: [
      { match: { path: { prefix: "/public/" } }, requires: [] },
      { match: { path: { prefix: "/opt/" } }, requires: ["idp"], allow_missing: true },
      { match: { path: { prefix: "/either/" } }, requires: ["idp", "other"] },
      { match: { methods: ["POST"] }, requires: ["other"] },
      { match: { path: { prefix: "/api/" } }, requires: ["idp"] },
    ],
  });

  it("answers a missing token exactly as documented", async () => {
    const { p } = await plugin(config());
    const o = send(p, request("/api/x"));
    expect(o.status).toBe(401);
    expect(o.header("www-authenticate")).toEqual([`Bearer realm="${AUTHORITY}"`]);
    expect(o.json()).toEqual({ error: "missing_token", error_description: "Jwt is missing" });
  });

  it("answers an invalid token with the reason in both the challenge and the body", async () => {
    const { p } = await plugin(config());
    const o = withToken(p, await mint(key("RS256"), claims({ exp: NOW - 3600 })), "/api/x");
    expect(o.status).toBe(401);
    const body = o.json();
    expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
    expect(body.error).toBe("invalid_token");
    expect(o.header("www-authenticate")).toEqual([
      `Bearer realm="${AUTHORITY}", error="invalid_token", error_description="${String(body.error_description)}"`,
    ]);
  });

  it("selects rules with the shared match vocabulary: path regex, query, absent and inverted headers", async () => {
    const { p } = await plugin({
      providers: [localProvider()],
      rules: [
        { match: { path: { regex: "/api/v[0-9]+/docs(/.*)?" } }, requires: [] },
        { match: { query: [{ name: "preview", exact: "1" }], headers: [{ name: "x-internal", present: false }] }, requires: [] },
        { match: { headers: [{ name: "x-tenant", regex: "[a-z]+", invert: true }] }, requires: [] },
        { match: {}, requires: ["idp"] },
      ],
    });
    const tenant: [string, string] = ["x-tenant", "acme"];
    expect(send(p, request("/api/v2/docs/intro", [tenant])).status).toBe(200);
    expect(send(p, request("/api/v2/docsx", [tenant])).status).toBe(401);
    expect(send(p, request("/api/x?preview=1", [tenant])).status).toBe(200);
    expect(send(p, request("/api/x?preview=1", [tenant, ["x-internal", "1"]])).status).toBe(401);
    expect(send(p, request("/api/x?preview=2&preview=1", [tenant])).status, "first value only").toBe(401);
    expect(send(p, request("/api/x", [["x-tenant", "ACME"]])).status, "inverted regex").toBe(200);
    expect(send(p, request("/api/x")).status, "inverted: an absent header passes").toBe(200);
    expect(send(p, request("/api/x", [tenant])).status).toBe(401);
    expect(send(p, request("/api/x", [tenant, bearer(await mint(key("RS256"), claims()))])).status).toBe(200);
  });

  it("applies the first matching rule; no rule means no check", async () => {
    const { p } = await plugin(config());
    const idp = await mint(key("RS256"), claims());
    const other = await mint(key("EdDSA"), { iss: "https://other.example.com", exp: NOW + 60 });
    expect(send(p, request("/public/x")).status).toBe(200);
    expect(send(p, request("/public/x", [bearer("junk")])).status).toBe(200);
    expect(send(p, request("/nowhere")).status).toBe(200);
    expect(send(p, request("/opt/x")).status).toBe(200);
    expect(send(p, request("/opt/x", [bearer("junk")])).status).toBe(401);
    expect(send(p, request("/either/x", [bearer(idp)])).status).toBe(200);
    expect(send(p, request("/either/x", [bearer(other)])).status).toBe(200);
    expect(send(p, request("/api/x", [bearer(other)])).status).toBe(401);
    expect(send(p, request("/api/x", [bearer(other)], "POST")).status).toBe(200);
    expect(send(p, request("/api/x", [bearer(idp)], "POST")).status).toBe(401);
  });

  it("counts allowed, denied and missing in metrics, with stat_prefix", async () => {
    const { vm, p } = await plugin({ ...config(), stat_prefix: "edge" });
    const idp = await mint(key("RS256"), claims());
    withToken(p, idp, "/api/x");
    withToken(p, idp, "/api/x");
    withToken(p, tamperSignature(idp), "/api/x");
    send(p, request("/api/x"));
    expect(vm.metric("portico.jwt_auth.edge.idp.allowed_total")).toBe(2);
    expect(vm.metric("portico.jwt_auth.edge.idp.denied_total")).toBe(1);
    expect(vm.metric("portico.jwt_auth.edge.denied_missing_total")).toBe(1);
    expect(vm.metric("portico.jwt_auth.edge.other.allowed_total") ?? 0).toBe(0);
  });

  it("counts each refusal under its reason, as docs/observability.md names them", async () => {
    const { vm, p } = await plugin(requireAll([localProvider({ required_claims: ["sub"] })]));
    const rs = key("RS256");
    const good = await mint(rs, claims());
    const { sub: _, ...noSub } = claims();
    // A different count per reason, so a refusal counted under the wrong reason shows.
    const sent: [reason: string, status: number, tokens: string[]][] = [
      ["expired", 401, [await mint(rs, claims({ exp: NOW - 3600 }))]],
      ["signature", 401, [tamperSignature(good), tamperPayload(good, claims({ sub: "admin" }))]],
      ["unknown_key", 401, await Promise.all([1, 2, 3].map((i) => mint(rs, claims(), { header: { kid: `no-such-kid-${i}` } })))],
      ["audience", 403, await Promise.all([1, 2, 3, 4].map((i) => mint(rs, claims({ aud: `other-${i}` }))))],
      ["issuer", 401, await Promise.all([1, 2, 3, 4, 5].map((i) => mint(rs, claims({ iss: `https://evil-${i}.example.com` }))))],
      ["malformed", 401, Object.values(malformedTokens(good)).slice(0, 6)],
      ["not_yet_valid", 401, await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => mint(rs, claims({ nbf: NOW + 3600 * i }))))],
      ["algorithm", 401, [algNone(claims())]],
      ["claims", 403, [await mint(rs, noSub), await mint(rs, noSub)]],
      ["too_large", 401, [await oversized(rs, claims(), 9000)]],
    ];
    for (const [reason, status, tokens] of sent) {
      for (const t of tokens) expect(withToken(p, t).status, reason).toBe(status);
    }
    send(p, request("/r"));
    send(p, request("/r", [["authorization", "Basic dXNlcjpwYXNz"]]));
    for (const [reason, , tokens] of sent) {
      expect(vm.metric(`portico.jwt_auth.idp.denied.${reason}_total`), reason).toBe(tokens.length);
    }
    const refused = sent.reduce((n, [, , tokens]) => n + tokens.length, 0);
    expect(vm.metric("portico.jwt_auth.idp.denied_total")).toBe(refused);
    // A missing token belongs to no provider: counted once, globally.
    expect(vm.metric("portico.jwt_auth.denied_missing_total")).toBe(2);
    expect(vm.metric("portico.jwt_auth.idp.denied.missing_total")).toBeUndefined();
    expect(vm.metric("portico.jwt_auth.idp.allowed_total") ?? 0).toBe(0);
  });
});

// ---- remote JWKS ------------------------------------------------------------------------------

const REMOTE = {
  cluster: "jwks",
  path: "/.well-known/jwks.json",
  authority: "idp.example.com",
  timeout_ms: 2000,
  refresh_s: 300,
  min_refresh_s: 5,
};
const remoteConfig = (extra: object = {}) =>
  requireAll([{ name: "idp", issuer: ISSUER, audiences: ["api"], remote_jwks: { ...REMOTE, ...extra } }]);
const fetchTotal = (vm: ProxyWasmVm) => vm.metric("portico.jwt_auth.idp.jwks_fetch_total") ?? 0;
const fetchFailures = (vm: ProxyWasmVm) => vm.metric("portico.jwt_auth.idp.jwks_fetch_failure_total") ?? 0;

type Reply = { status?: number; body?: string } | "reset";

/** Worker VMs sharing shared data and stats (as Envoy's workers do), clocks advanced together, and
 * an identity provider answering their JWKS fetches. */
class Workers {
  readonly vms: ProxyWasmVm[] = [];
  readonly plugins: Plugin[] = [];
  /** Every callout any VM started, in order. */
  readonly calls: { vm: ProxyWasmVm; call: HttpCall }[] = [];
  /** What the IdP answers when `serve()` runs. */
  idp: Reply = { body: JSON.stringify({ keys: [] }) };
  private readonly seen = new Set<string>();
  private readonly sharedData = new SharedData();
  private readonly metrics = new MetricsStore();
  private elapsedMs = 0;

  private constructor(private readonly config: object) {}

  static async start(n: number, config: object): Promise<Workers> {
    const w = new Workers(config);
    for (let i = 0; i < n; i++) await w.addWorker();
    return w;
  }

  async addWorker(): Promise<Plugin> {
    const vm = await ProxyWasmVm.load(module, {
      startTime: T0 + this.elapsedMs,
      sharedData: this.sharedData,
      metrics: this.metrics,
      clusters: ["jwks"],
    });
    const p = vm.configurePlugin({ config: JSON.stringify(this.config), rootId: "jwt-auth", name: "jwt" });
    expect(p.ok, vm.logs.map((l) => l.message).join("\n")).toBe(true);
    this.vms.push(vm);
    this.plugins.push(p);
    this.collect();
    return p;
  }

  get vm(): ProxyWasmVm {
    return this.vms[0]!;
  }
  get plugin(): Plugin {
    return this.plugins[0]!;
  }
  setKeys(ks: TestKey[]): void {
    this.idp = jwksBody(ks);
  }

  /** Records callouts started since the last look. */
  collect(): void {
    this.vms.forEach((vm, i) => {
      for (const call of vm.pendingHttpCalls) {
        if (this.seen.has(`${i}:${call.token}`)) continue;
        this.seen.add(`${i}:${call.token}`);
        this.calls.push({ vm, call });
      }
    });
  }

  pending(): { vm: ProxyWasmVm; call: HttpCall }[] {
    this.collect();
    return this.calls.filter(({ vm, call }) => vm.pendingHttpCalls.some((c) => c.token === call.token));
  }

  advance(ms: number): void {
    this.elapsedMs += ms;
    for (const vm of this.vms) vm.advanceTime(ms);
    this.collect();
  }

  /** The next pending JWKS fetch, letting emulated time pass in small steps (timers) until one starts. */
  nextFetch(withinMs = 2000): { vm: ProxyWasmVm; call: HttpCall } {
    for (let waited = 0; ; waited += 50) {
      const p = this.pending();
      if (p.length > 0) return p[0]!;
      if (waited >= withinMs) throw new Error(`no JWKS fetch started within ${withinMs} ms of emulated time`);
      this.advance(50);
    }
  }

  answer(f: { vm: ProxyWasmVm; call: HttpCall }, reply: Reply): void {
    if (reply === "reset") f.vm.failHttpCall(f.call.token);
    else
      f.vm.respondToHttpCall(f.call.token, {
        status: reply.status ?? 200,
        headers: [["content-type", "application/json"]],
        body: reply.body ?? "",
      });
    this.collect();
  }

  /** Answers every pending fetch from the IdP's current state; returns how many. */
  serve(): number {
    const p = this.pending();
    for (const f of p) this.answer(f, this.idp);
    return p.length;
  }

  /** Lets up to `withinMs` of emulated time pass while the stream is paused and no fetch is pending. */
  settle(s: HttpStream, withinMs = 2000): void {
    for (let waited = 0; s.paused && this.pending().length === 0 && waited < withinMs; waited += 50) this.advance(50);
  }

  /** Lets emulated time pass in small steps, the IdP answering any fetch (timer-driven work settles). */
  idle(ms: number): void {
    for (let waited = 0; waited < ms; waited += 50) {
      this.serve();
      this.advance(50);
    }
    this.serve();
  }

  /** A whole request; any fetch it causes is answered by the IdP. */
  send(p: Plugin, token: string): Outcome {
    const s = start(p, request("/r", [bearer(token)]));
    for (let i = 0; s.paused && i < 100; i++) {
      if (this.serve() === 0) this.advance(50);
    }
    return finish(s);
  }
}

const jwksBody = (ks: TestKey[]) => ({ body: JSON.stringify(jwksOf(ks)) });

/**
 * Lets `ms` of emulated time pass in 100 ms steps with the IdP answering every fetch from
 * `w.idp`, and returns when each JWKS fetch started (ms since the first one), by any worker.
 */
function fetchTimes(w: Workers, ms: number): number[] {
  const startedAt: number[] = [];
  for (let t = 0; t <= ms; t += 100) {
    w.serve();
    const before = w.calls.length;
    w.advance(100);
    // A fetch starts on a tick within the step just taken: stamp it with the step's end.
    for (let i = before; i < w.calls.length; i++) startedAt.push(w.vm.now().getTime());
  }
  w.serve();
  return startedAt.map((at) => at - startedAt[0]!);
}

/** Seconds between consecutive fetches, rounded (fetches start on 200 ms ticks). */
const gapsS = (times: number[]) => times.slice(1).map((t, i) => Math.round((t - times[i]!) / 1000));

describe("remote JWKS", () => {
  it("fetches through the configured cluster; requests before the first fetch wait for it", async () => {
    const w = await Workers.start(1, remoteConfig());
    const k1 = key("RS256");
    const s = start(w.plugin, request("/r", [bearer(await mint(k1, claims()))]));
    const f = w.nextFetch();
    expect(s.paused, "the request waits for the key set").toBe(true);
    expect(f.call.upstream).toBe("jwks");
    expect(f.call.timeoutMs).toBe(2000);
    const h = Object.fromEntries(f.call.headers.map(([k, v]) => [k.toLowerCase(), v]));
    expect(h[":method"]).toBe("GET");
    expect(h[":path"]).toBe("/.well-known/jwks.json");
    expect(h[":authority"]).toBe("idp.example.com");
    w.answer(f, jwksBody([k1]));
    expect(finish(s).status).toBe(200);
    expect(fetchTotal(w.vm)).toBe(1);
    expect(fetchFailures(w.vm)).toBe(0);
    expect(withToken(w.plugin, await mint(k1, claims({ sub: "again" }))).status).toBe(200);
    expect(w.calls).toHaveLength(1);
  });

  for (const [what, reply] of [
    ["a reset callout", "reset"],
    ["a 500", { status: 500, body: "oops" }],
    ["a body that is not JSON", { body: "<html>" }],
    ["a JSON body without keys", { body: '{"nokeys":[]}' }],
  ] as [string, Reply][]) {
    it(`answers waiting requests 401 when the first fetch fails (${what})`, async () => {
      const w = await Workers.start(1, remoteConfig());
      const s = start(w.plugin, request("/r", [bearer(await mint(key("RS256"), claims()))]));
      w.answer(w.nextFetch(), reply);
      w.settle(s);
      const o = finish(s);
      expect(o.status).toBe(401);
      expect(o.json().error).toBe("invalid_token");
      expect(fetchFailures(w.vm)).toBe(1);
      expect(w.vm.failure).toBeUndefined();
    });
  }

  it("takes timeout, refresh and min_refresh as durations, like the legacy keys", async () => {
    const { timeout_ms: _t, refresh_s: _r, min_refresh_s: _m, ...rest } = REMOTE;
    const config = () =>
      requireAll([
        { name: "idp", issuer: ISSUER, audiences: ["api"], remote_jwks: { ...rest, timeout: "1.5s", refresh: "2m", min_refresh: 10 } },
      ]);
    const [k1, k2] = [key("RS256"), key("ES256")];

    // timeout and refresh: the fetch's timeout, then no refresh before 2 minutes.
    const a = await Workers.start(1, config());
    a.setKeys([k1]);
    expect(a.send(a.plugin, await mint(k1, claims())).status).toBe(200);
    expect(a.calls).toHaveLength(1);
    expect(a.calls[0]!.call.timeoutMs).toBe(1500);
    a.advance(120_000 - 1000);
    expect(a.pending(), "no refresh before refresh").toEqual([]);
    a.answer(a.nextFetch(3000), jwksBody([k1]));
    expect(a.calls).toHaveLength(2);

    // min_refresh: an unknown kid refetches, then not again within 10 s.
    const b = await Workers.start(1, config());
    b.setKeys([k1]);
    expect(b.send(b.plugin, await mint(k1, claims())).status).toBe(200);
    b.advance(10_100);
    const t2 = await mint(k2, claims());
    expect(b.send(b.plugin, t2).status).toBe(401); // the IdP does not publish k2 yet
    b.idle(1000);
    expect(b.calls, "one refetch for the unknown kid").toHaveLength(2);
    b.setKeys([k1, k2]);
    b.advance(7000);
    expect(b.send(b.plugin, t2).status).toBe(401);
    b.idle(1000);
    expect(b.calls, "no refetch within min_refresh").toHaveLength(2);
    b.advance(2000);
    b.send(b.plugin, t2);
    b.idle(1000);
    expect(b.calls, "a refetch after min_refresh").toHaveLength(3);
    expect(b.send(b.plugin, t2).status).toBe(200);
  });

  it("recovers after a failed first fetch once the IdP answers", async () => {
    const w = await Workers.start(1, remoteConfig());
    const k1 = key("ES256");
    const t = await mint(k1, claims());
    w.idp = "reset";
    expect(w.send(w.plugin, t).status).toBe(401);
    w.setKeys([k1]);
    w.advance(REMOTE.min_refresh_s * 1000 + 100);
    const retried = w.send(w.plugin, t);
    // Whether that request waited for the retry or not, the next one is served from the new set.
    if (retried.status !== 200) expect(w.send(w.plugin, t).status).toBe(200);
    expect(w.calls).toHaveLength(2);
    expect(fetchFailures(w.vm)).toBe(1);
  });

  it("refreshes every refresh_s and keeps the last good set when a refresh fails", async () => {
    const w = await Workers.start(1, remoteConfig());
    const [k1, k2] = [key("RS256"), key("EdDSA")];
    w.setKeys([k1]);
    expect(w.send(w.plugin, await mint(k1, claims())).status).toBe(200);
    expect(w.calls).toHaveLength(1);

    w.advance(REMOTE.refresh_s * 1000 - 1000);
    expect(w.pending(), "no refresh before refresh_s").toEqual([]);
    w.answer(w.nextFetch(3000), { status: 503, body: "down" });
    expect(fetchFailures(w.vm)).toBe(1);
    expect(fetchTotal(w.vm), "jwks_fetch_total counts attempts").toBe(2);
    // The last good set keeps serving, for new tokens too.
    expect(w.send(w.plugin, await mint(k1, claims({ sub: "later" }))).status).toBe(200);

    w.advance(REMOTE.refresh_s * 1000);
    w.answer(w.nextFetch(3000), { body: "not json" });
    expect(w.send(w.plugin, await mint(k1, claims())).status).toBe(200);

    w.advance(REMOTE.refresh_s * 1000);
    w.answer(w.nextFetch(3000), jwksBody([k2]));
    // The periodic refresh replaced the set: the new key works without any further fetch...
    const callsBefore = w.calls.length;
    expect(w.send(w.plugin, await mint(k2, claims())).status).toBe(200);
    expect(w.calls.length).toBe(callsBefore);
    // ...and the retired one is refused (the IdP no longer publishes it either).
    w.setKeys([k2]);
    expect(w.send(w.plugin, await mint(k1, claims())).status).toBe(401);
    expect(w.vm.failure).toBeUndefined();
  });

  it("refetches on an unknown kid, at most once per min_refresh_s", async () => {
    const w = await Workers.start(1, remoteConfig());
    const [k1, k2, k3] = [key("RS256"), key("ES256"), key("PS256")];
    w.setKeys([k1]);
    expect(w.send(w.plugin, await mint(k1, claims())).status).toBe(200);
    w.advance(REMOTE.min_refresh_s * 1000 + 100);

    // Rotation: k2 appears at the IdP; the first k2 token makes the filter refetch.
    w.setKeys([k1, k2]);
    const t2 = await mint(k2, claims());
    const first = w.send(w.plugin, t2);
    w.idle(1000); // a refetch the filter schedules on its timer instead of at once has happened by now
    expect(w.calls, "one refetch for the unknown kid").toHaveLength(2);
    expect(w.send(w.plugin, t2).status).toBe(200);
    expect(w.send(w.plugin, await mint(k1, claims())).status).toBe(200);

    // Another unknown kid right away: no new fetch (rate limit), refused.
    w.setKeys([k1, k2, k3]);
    const t3 = await mint(k3, claims());
    expect(w.send(w.plugin, t3).status).toBe(401);
    expect(w.send(w.plugin, t3).status).toBe(401);
    w.idle(1000);
    expect(w.calls, "no refetch within min_refresh_s").toHaveLength(2);

    // After min_refresh_s the next unknown kid may refetch again.
    w.advance(REMOTE.min_refresh_s * 1000 + 100);
    const third = w.send(w.plugin, t3);
    w.idle(1000);
    expect(w.calls).toHaveLength(3);
    expect(w.send(w.plugin, t3).status).toBe(200);
    expect(fetchTotal(w.vm)).toBe(3);
    if (first.status !== 200 || third.status !== 200) {
      console.info(`remote JWKS (emulator): requests that triggered an unknown-kid refetch got ${first.status} and ${third.status}`);
    }
  });

  it("serves the key set another worker fetched, even when the IdP is down by the time it is needed", async () => {
    const w = await Workers.start(2, remoteConfig());
    const k1 = key("RS256");
    const t = await mint(k1, claims());
    w.setKeys([k1]);
    expect(w.send(w.plugins[0]!, t).status).toBe(200); // worker 0 fetched; no timer has run since
    w.idp = "reset";
    expect(w.send(w.plugins[1]!, t).status, "worker 1, right after worker 0's fetch, IdP down").toBe(200);
    w.idle(2000);
    expect(w.send(w.plugins[1]!, t).status, "worker 1, after its timers ran with the IdP down").toBe(200);
    expect(fetchFailures(w.vm), "fetches that failed although a good set was there").toBe(0);
  });

  it("retries a failing IdP after min_refresh_s, then twice as long after each failure, at most refresh_s apart", async () => {
    const w = await Workers.start(1, remoteConfig({ min_refresh_s: 5, refresh_s: 60 }));
    w.idp = { status: 503, body: "down" };
    const times = fetchTimes(w, 240_000);
    expect(gapsS(times)).toEqual([5, 10, 20, 40, 60, 60]);
    expect(fetchFailures(w.vm)).toBe(times.length);
    // Once the IdP is back, the next retry installs the keys and the backoff is over.
    const k1 = key("RS256");
    w.setKeys([k1]);
    w.idle(60_000);
    expect(w.send(w.plugin, await mint(k1, claims())).status).toBe(200);
    expect(fetchFailures(w.vm)).toBe(times.length);
  });

  it("shares the backoff between workers: while the IdP is down, all of them together fetch on one schedule", async () => {
    const w = await Workers.start(2, remoteConfig({ min_refresh_s: 5, refresh_s: 60 }));
    w.idp = "reset";
    const times = fetchTimes(w, 80_000);
    expect(gapsS(times), "fetches by both workers, seconds apart").toEqual([5, 10, 20, 40]);
    // A request on a worker during the backoff is refused at once: no fetch, no wait for one.
    const k1 = key("ES256");
    for (const p of w.plugins) {
      const s = start(p, request("/r", [bearer(await mint(k1, claims()))]));
      expect(s.paused, "a request waiting for a fetch the backoff forbids").toBe(false);
      expect(finish(s).status).toBe(401);
    }
    expect(w.pending()).toEqual([]);
    expect(w.calls.length).toBe(times.length);
  });

  it("refetches for a kid the set lacks even when a kid-less key of the same type was tried", async () => {
    const w = await Workers.start(1, remoteConfig());
    const bare = await generateKey("ES256", "kidless");
    const rotated = key("ES256");
    w.idp = { body: JSON.stringify({ keys: [{ ...bare.jwk, kid: undefined }] }) };
    expect(w.send(w.plugin, await mint(bare, claims(), { header: { kid: "any" } })).status).toBe(200);
    w.advance(REMOTE.min_refresh_s * 1000 + 100);
    w.idp = { body: JSON.stringify({ keys: [{ ...bare.jwk, kid: undefined }, rotated.jwk] }) };
    const t = await mint(rotated, claims());
    w.send(w.plugin, t);
    w.idle(1000);
    expect(w.calls, "one refetch for the unknown kid").toHaveLength(2);
    expect(w.send(w.plugin, t).status).toBe(200);
  });

  it("shares one fetch between worker VMs, including a worker started later", async () => {
    const w = await Workers.start(2, remoteConfig());
    const k1 = key("ES384");
    const t = await mint(k1, claims());
    const s1 = start(w.plugins[0]!, request("/r", [bearer(t)]));
    const s2 = start(w.plugins[1]!, request("/r", [bearer(t)]));
    w.answer(w.nextFetch(), jwksBody([k1]));
    w.settle(s1);
    w.settle(s2);
    expect(finish(s1).status).toBe(200);
    expect(finish(s2).status).toBe(200);
    w.setKeys([k1]);
    w.idle(2000); // both workers' timers run a few times
    expect(
      w.calls.map((c) => w.vms.indexOf(c.vm)),
      "callouts (by worker) within refresh_s",
    ).toEqual([0]);
    expect(fetchTotal(w.vm)).toBe(1);
    const late = await w.addWorker();
    expect(w.send(late, t).status).toBe(200);
    w.idle(2000);
    expect(w.calls.length, "callouts after a third worker joined").toBe(1);
  });
});

// README "Differences from jwt_authn": HMAC key length and RSA modulus size floors.
describe("key floors (HMAC key length, RSA modulus size)", () => {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  const octJwk = (bytes: number, alg?: string) => ({
    kty: "oct",
    kid: "h",
    k: b64u(new Uint8Array(bytes).fill(7)),
    ...(alg ? { alg } : {}),
  });
  /** An odd modulus of exactly `bits` bits (top bit set): only its size is judged at load. */
  const rsaJwk = (bits: number) => {
    const n = new Uint8Array(Math.ceil(bits / 8)).fill(0xa5);
    n[0] = (1 << ((bits - 1) % 8)) | (n[0]! & ((1 << ((bits - 1) % 8)) - 1));
    n[n.length - 1] = 0xa7;
    return { kty: "RSA", kid: "r", n: b64u(n), e: "AQAB" };
  };
  const load = (jwk: object) => plugin(requireAll([localProvider({}, { keys: [jwk] })]));
  const errorText = (vm: ProxyWasmVm) =>
    vm.logs
      .filter((l) => l.level >= LogLevel.Error)
      .map((l) => l.message)
      .join("\n");

  it.each([
    ["HS256", 32],
    ["HS384", 48],
    ["HS512", 64],
  ])("an inline %s key of %i bytes is accepted, one byte shorter is a configuration error naming the key", async (alg, bytes) => {
    expect((await load(octJwk(bytes, alg))).p.ok).toBe(true);
    const { vm, p } = await load(octJwk(bytes - 1, alg));
    expect(p.ok).toBe(false);
    expect(errorText(vm)).toContain(`providers[0].jwks: keys[0]: alg ${alg} does not fit this key`);
  });

  it("an inline HMAC key without alg is used only for the algorithms it is long enough for", async () => {
    const secret = new Uint8Array(48).fill(7);
    const { p } = await load(octJwk(48));
    expect(p.ok).toBe(true);
    const hs = (alg: JwsAlg) => assemble({ alg, kid: "h", typ: "JWT" }, claims(), { alg, key: secret });
    expect(withToken(p, hs("HS256")).status).toBe(200);
    expect(withToken(p, hs("HS384")).status).toBe(200);
    expect(withToken(p, hs("HS512")).status).toBe(401);
  });

  it.each([
    [2048, "accepted"],
    [8192, "accepted"],
    [2047, "refused"],
    [1024, "refused"],
    [8193, "refused"],
  ])("an inline RSA key of %i bits: %s (a refusal is a configuration error naming the key)", async (bits, verdict) => {
    const { vm, p } = await load(rsaJwk(bits));
    expect(p.ok).toBe(verdict === "accepted");
    if (verdict === "refused") expect(errorText(vm)).toContain("providers[0].jwks: keys[0]: RSA key is invalid or shorter than 2048 bits");
  });

  it("a real 1024-bit RSA key in a fetched JWKS is skipped with a warning; its tokens are refused, the other keys still work", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const weak = { ...(publicKey.export({ format: "jwk" }) as object), kid: "weak", alg: "RS256", use: "sig" };
    const good = key("RS256");
    const w = await Workers.start(1, remoteConfig());
    const weakToken = assemble({ alg: "RS256", kid: "weak", typ: "JWT" }, claims(), { alg: "RS256", key: privateKey });
    const s = start(w.plugin, request("/r", [bearer(await mint(good, claims()))]));
    w.answer(w.nextFetch(), { body: JSON.stringify({ keys: [weak, good.jwk] }) });
    expect(finish(s).status).toBe(200);
    expect(withToken(w.plugin, weakToken).status).toBe(401);
    const warnings = w.vm.logs.filter((l) => l.level === LogLevel.Warn).map((l) => l.message);
    expect(warnings.join("\n")).toContain("RSA key is invalid or shorter than 2048 bits");
  });
});

// README "Security": the configuration is bounded (512 KiB, 16 providers, 64 rules), the fetched JWKS 256 KiB.
describe("size and count limits: at the limit accepted, one over refused", () => {
  const padTo = (o: object, bytes: number) => {
    const s = JSON.stringify(o);
    return s + " ".repeat(bytes - s.length);
  };
  const named = (i: number) => localProvider({ name: `p${i}` }, jwksOf([key("HS256")]));
  const withProviders = (n: number) => ({
    providers: Array.from({ length: n }, (_, i) => named(i)),
    rules: [{ match: {}, requires: ["p0"] }],
  });
  const withRules = (n: number) => ({ providers: [named(0)], rules: Array.from({ length: n }, () => ({ match: {}, requires: ["p0"] })) });
  it.each([
    ["16 providers", () => withProviders(16), () => withProviders(17), "providers: has 17 items, at most 16 allowed"],
    ["64 rules", () => withRules(64), () => withRules(65), "rules: has 65 items, at most 64 allowed"],
    [
      "a 512 KiB configuration",
      () => padTo(withRules(1), 512 * 1024),
      () => padTo(withRules(1), 512 * 1024 + 1),
      `configuration is ${512 * 1024 + 1} bytes, at most ${512 * 1024} allowed`,
    ],
  ] as [string, () => object | string, () => object | string, string][])("%s", async (_what, atLimit, over, reason) => {
    expect((await plugin(atLimit())).p.ok).toBe(true);
    const { vm, p } = await plugin(over());
    expect(p.ok).toBe(false);
    expect(
      vm.logs
        .filter((l) => l.level >= LogLevel.Error)
        .map((l) => l.message)
        .join("\n"),
    ).toContain(reason);
  });

  it.each([
    [256 * 1024, 200],
    [256 * 1024 + 1, 401],
  ])("a fetched JWKS of %i bytes: the request with a good token gets %i", async (bytes, status) => {
    const w = await Workers.start(1, remoteConfig());
    const k = key("RS256");
    const s = start(w.plugin, request("/r", [bearer(await mint(k, claims()))]));
    w.answer(w.nextFetch(), { body: padTo(jwksOf([k]), bytes) });
    expect(finish(s).status).toBe(status);
    expect(fetchFailures(w.vm)).toBe(status === 200 ? 0 : 1);
  });
});

// #14: the request headers are listed once per request. Identity-header stripping lists them
// anyway; when it removed nothing, the token and every other header the rule needs come from
// that same listing. The module exports only the callbacks it uses.
describe("host calls and callbacks per request", () => {
  const config = () => ({
    providers: [localProvider({ claims_to_headers: [{ claim: "sub", header: "x-user" }] })],
    rules: [{ requires: ["idp"] }],
  });

  async function counted(headers: (token: string) => HeaderList) {
    const { vm, p } = await plugin(config(), { countHostCalls: true });
    expect(p.ok).toBe(true);
    const token = await mint(key("RS256"), claims());
    expect(withToken(p, token).status).toBe(200); // verified once, cached from now on
    vm.hostCalls.clear();
    const o = send(p, request("/r", headers(token)));
    return { o, calls: Object.fromEntries([...vm.hostCalls].sort()) };
  }

  it("makes 5 host calls for a cached token (was 6): one listing serves stripping and the token", async () => {
    const { o, calls } = await counted((t) => [bearer(t), ["user-agent", "wrk"]]);
    expect(o.status).toBe(200);
    expect(o.header("x-user")).toEqual(["user-1"]);
    expect(o.header("authorization")).toEqual([]);
    expect(calls).toEqual({
      proxy_get_current_time_nanoseconds: 1, // exp / nbf against now
      proxy_get_header_map_pairs: 1, // identity headers to strip, and the token
      proxy_increment_metric: 1, // allowed_total
      proxy_remove_header_map_value: 1, // the token (forward: false)
      proxy_replace_header_map_value: 1, // x-user
    });
  });

  it("stripping a forged identity header edits the listing instead of listing again, and the token is still found", async () => {
    const { o, calls } = await counted((t) => [["x-user", "admin"], bearer(t)]);
    expect(o.status).toBe(200);
    expect(o.header("x-user")).toEqual(["user-1"]);
    // One listing: the forged x-user removed from Envoy's map and from the listing (header-listing.ts).
    expect(calls).toMatchObject({ proxy_get_header_map_pairs: 1, proxy_remove_header_map_value: 2 });
  });

  it("exports only the callbacks it uses (no response, body, trailer, log or done callbacks)", () => {
    expect(exportedCallbacks(module)).toEqual([
      "proxy_on_configure",
      "proxy_on_context_create",
      "proxy_on_delete",
      "proxy_on_http_call_response",
      "proxy_on_request_headers",
      "proxy_on_tick",
      "proxy_on_vm_start",
    ]);
  });
});
