// The JWS examples of RFC 7515 Appendix A and RFC 7520 section 4 (test/fixtures/jws/*.json)
// against jwt-auth: (a) through the jws-harness module (the filter's jwks/verify code on payloads
// that are not JSON), valid and tampered; (b) the RFC 7515 JWTs through the built filter in the
// proxy-wasm emulator, before and after their exp.
//
// node:crypto is the oracle for the fixture itself: every vector the RFC says is valid must
// verify there (and each key pair must be consistent, deterministic signatures must be
// reproduced), so a transcription error fails the "fixture" tests, not the jwt-auth ones.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, createECDH, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify } from "node:crypto";
import { ProxyWasmVm, runHttpRequest, type HeaderList } from "../../emulator/index.js";
import { builtFilter, fixtureWasm } from "../support/wasm-fixtures.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

// ---- fixture types ----------------------------------------------------------------------------

type Jwk = Record<string, string>;
interface Vector7515 {
  section: string;
  title: string;
  alg: string;
  jwk: Jwk | null;
  compact: string;
}
interface Vector7520 {
  section: string;
  title: string;
  alg: string;
  key: string;
  compact?: string;
  derived_compact?: string;
  detached_compact?: string;
  derivation?: string;
  protected?: string;
  unprotected_header?: Record<string, string>;
  signature?: string;
}
interface Rfc7515 {
  vectors: Vector7515[];
}
interface Rfc7520 {
  payload: string;
  payload_b64: string;
  keys: Record<string, Jwk>;
  vectors: Vector7520[];
}

const rfc7515 = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/jws/rfc7515.json"), "utf8")) as Rfc7515;
const rfc7520 = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/jws/rfc7520.json"), "utf8")) as Rfc7520;

const v7515 = (section: string): Vector7515 => {
  const v = rfc7515.vectors.find((x) => x.section === section);
  if (!v) throw new Error(`RFC 7515 ${section} missing from the fixture`);
  return v;
};
const key7520 = (name: string): Jwk => {
  const k = rfc7520.keys[name];
  if (!k) throw new Error(`RFC 7520 key ${name} missing from the fixture`);
  return k;
};
/** The compact JWS a compact-only verifier gets: the RFC's own, or the documented derived one. */
const token7520 = (v: Vector7520): string => {
  const t = v.compact ?? v.derived_compact;
  if (!t) throw new Error(`RFC 7520 ${v.section} has no compact form in the fixture`);
  return t;
};

// ---- Failure codes (filters/jwt-auth/failure.ts, enum Failure, in declaration order) -----------

const FAILURE = {
  None: 0,
  Missing: 1,
  TooLarge: 2,
  Malformed: 3,
  BadHeaderEncoding: 4,
  BadHeaderJson: 5,
  BadPayloadEncoding: 6,
  BadPayloadJson: 7,
  BadSignatureEncoding: 8,
  UnsupportedAlg: 9,
  AlgNotAllowed: 10,
  UnsupportedCrit: 11,
  NoJwks: 12,
  UnknownKid: 13,
  BadSignature: 14,
  NoExp: 15,
  BadTimeClaim: 16,
  Expired: 17,
  NotYetValid: 18,
  IssuedInFuture: 19,
  WrongIssuer: 20,
  Audience: 21,
  MissingClaim: 22,
} as const;
type FailureName = keyof typeof FAILURE;
const failureName = (code: number): string => (Object.keys(FAILURE) as FailureName[]).find((n) => FAILURE[n] === code) ?? `code ${code}`;

// ---- helpers -----------------------------------------------------------------------------------

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];
/** The public half of an asymmetric JWK (an "oct" key is its secret, kept whole). */
function publicJwk(jwk: Jwk): Jwk {
  if (jwk.kty === "oct") return { ...jwk };
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k)));
}
const b64u = (s: string) => Buffer.from(s, "base64url");
const hashOf = (alg: string) => ({ "256": "sha256", "384": "sha384", "512": "sha512" })[alg.slice(2)] ?? "?";

function split(token: string): { input: string; header: string; payload: string; signature: string } {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error(`not a three-part compact JWS: ${token.slice(0, 40)}…`);
  const [header, payload, signature] = parts as [string, string, string];
  return { input: `${header}.${payload}`, header, payload, signature };
}

/** node:crypto's verdict on a JWS signature (RFC 7518 §3 algorithms). */
function oracleVerify(alg: string, jwk: Jwk, input: string, sig: Buffer): boolean {
  const data = Buffer.from(input, "ascii");
  const hash = hashOf(alg);
  if (alg.startsWith("HS")) {
    const mac = createHmac(hash, b64u(jwk.k ?? ""))
      .update(data)
      .digest();
    return mac.length === sig.length && timingSafeEqual(mac, sig);
  }
  const key = createPublicKey({ key: publicJwk(jwk), format: "jwk" });
  if (alg.startsWith("RS")) return verify(hash, data, key, sig);
  if (alg.startsWith("PS")) {
    return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }, sig);
  }
  if (alg.startsWith("ES")) return verify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sig);
  throw new Error(`no oracle for ${alg}`);
}

/** The token with one decoded byte of segment `seg` (1 payload, 2 signature) at `at` XOR 0x01. */
function tamper(token: string, seg: 1 | 2, at: "first" | "middle" | "last"): string {
  const parts = token.split(".");
  const bytes = b64u(parts[seg]!);
  if (bytes.length === 0) throw new Error("nothing to tamper with");
  const i = at === "first" ? 0 : at === "middle" ? bytes.length >> 1 : bytes.length - 1;
  bytes[i] = bytes[i]! ^ 0x01;
  parts[seg] = bytes.toString("base64url");
  return parts.join(".");
}

// ---- RSA / EC key-pair arithmetic (fixture sanity) ---------------------------------------------

const big = (s: string | undefined) => BigInt(`0x${b64u(s ?? "").toString("hex") || "0"}`);
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/** Every relation of an RSA private JWK (RFC 7518 §6.3.2) that a typo in any member would break. */
function rsaKeyProblems(jwk: Jwk): string[] {
  const [n, e, d, p, q, dp, dq, qi] = ["n", "e", "d", "p", "q", "dp", "dq", "qi"].map((k) => big(jwk[k])) as bigint[];
  const problems: string[] = [];
  const lambda = ((p! - 1n) * (q! - 1n)) / gcd(p! - 1n, q! - 1n);
  if (p! * q! !== n) problems.push("n != p*q");
  if ((d! * e!) % lambda !== 1n) problems.push("d*e != 1 mod lcm(p-1, q-1)");
  if (d! % (p! - 1n) !== dp) problems.push("dp != d mod (p-1)");
  if (d! % (q! - 1n) !== dq) problems.push("dq != d mod (q-1)");
  if ((qi! * q!) % p! !== 1n) problems.push("qi*q != 1 mod p");
  if (modPow(modPow(42n, e!, n!), d!, n!) !== 42n) problems.push("m^(e*d) != m");
  return problems;
}

const CURVES: Record<string, string> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };
/** d·G == (x, y) for an EC private JWK. */
function ecPairMatches(jwk: Jwk): boolean {
  const ecdh = createECDH(CURVES[jwk.crv ?? ""] ?? "?");
  ecdh.setPrivateKey(b64u(jwk.d ?? ""));
  return ecdh.getPublicKey().equals(Buffer.concat([Buffer.of(4), b64u(jwk.x ?? ""), b64u(jwk.y ?? "")]));
}

// ---- the jws-harness module --------------------------------------------------------------------

/** dist/test/jws-harness.wasm (fixtureWasm rebuilds it when it, assembly/ or filters/ changed). */
function harnessWasm(): string {
  return fixtureWasm("jws-harness");
}

interface HarnessResult {
  code: number;
  failure: string;
  keyCount: number;
  skipped: string;
}
interface Harness {
  verify(token: string, jwks: unknown): HarnessResult;
  calls: string[];
}

async function loadHarness(): Promise<Harness> {
  const module = await WebAssembly.compile(readFileSync(harnessWasm()));
  const calls: string[] = [];
  let memory: WebAssembly.Memory | undefined;
  const text = (ptr: number, len: number) => Buffer.from(memory!.buffer, ptr, len).toString("utf8");
  // Every import a function: proxy_log (portico_abort reports a trap through it) records its
  // message; anything else the build happens to import records its name and returns 0.
  const imports: Record<string, Record<string, (...args: number[]) => number>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") throw new Error(`jws-harness imports a ${imp.kind}: ${imp.module}.${imp.name}`);
    const fn =
      imp.module === "env" && imp.name === "proxy_log"
        ? (level: number, ptr: number, len: number) => {
            calls.push(`proxy_log[${level}] ${text(ptr, len)}`);
            return 0;
          }
        : () => {
            calls.push(`${imp.module}.${imp.name}`);
            return 0;
          };
    imports[imp.module] ??= {};
    imports[imp.module]![imp.name] = fn;
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const x = instance.exports as unknown as {
    memory: WebAssembly.Memory;
    _start(): void;
    arena(size: number): number;
    verifyCompact(tok: number, tokLen: number, jwks: number, jwksLen: number): number;
    keyCount(): number;
    skippedInto(out: number, cap: number): number;
  };
  memory = x.memory;
  x._start();
  return {
    calls,
    verify(token: string, jwks: unknown): HarnessResult {
      const tok = Buffer.from(token, "utf8");
      const doc = Buffer.from(JSON.stringify(jwks), "utf8");
      const OUT = 4096;
      const base = x.arena(tok.length + doc.length + OUT + 16);
      const view = new Uint8Array(memory!.buffer);
      const docAt = base + tok.length + 8;
      view.set(tok, base);
      view.set(doc, docAt);
      const mark = calls.length;
      let code: number;
      try {
        code = x.verifyCompact(base, tok.length, docAt, doc.length);
      } catch (err) {
        throw new Error(`jws-harness trapped: ${(err as Error).message}; ${calls.slice(mark).join(" | ") || "(no log)"}`);
      }
      const out = x.arena(OUT);
      const skipped = text(out, x.skippedInto(out, OUT));
      return { code, failure: failureName(code), keyCount: x.keyCount(), skipped };
    },
  };
}

// ---- tests -------------------------------------------------------------------------------------

describe("the Failure codes this test uses", () => {
  it("match the declaration order of enum Failure in filters/jwt-auth/failure.ts", () => {
    const src = readFileSync(join(repoRoot, "filters/jwt-auth/failure.ts"), "utf8");
    const body = /export enum Failure \{([\s\S]*?)\}/.exec(src)?.[1] ?? "";
    const names = body
      .split(",")
      .map((m) =>
        m
          .replace(/\/\/.*$/gm, "")
          .trim()
          .split(/\s*=/)[0]!
          .trim(),
      )
      .filter(Boolean);
    expect(names[0]).toBe("None");
    expect(/None\s*=\s*0/.test(body)).toBe(true);
    expect(Object.fromEntries(names.map((n, i) => [n, i]))).toEqual(FAILURE);
  });
});

describe("the RFC fixtures (node:crypto as the oracle)", () => {
  it("RFC 7515 A.1-A.4: each signature verifies with the vector's JWK", () => {
    for (const v of rfc7515.vectors.filter((x) => x.jwk !== null)) {
      const { input, signature } = split(v.compact);
      expect(oracleVerify(v.alg, v.jwk!, input, b64u(signature)), `RFC 7515 ${v.section}`).toBe(true);
    }
  });

  it('RFC 7515: headers name the vector\'s alg; A.1-A.3 carry the JWT claims, A.4 the text "Payload"; A.5 is unsecured', () => {
    for (const v of rfc7515.vectors) {
      const { header, payload } = split(v.compact);
      expect(JSON.parse(b64u(header).toString("utf8")).alg, v.section).toBe(v.alg);
      if (v.section === "A.4") expect(b64u(payload).toString("utf8")).toBe("Payload");
      else {
        expect(b64u(payload).toString("utf8"), v.section).toBe(
          '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
        );
      }
    }
    expect(v7515("A.5").jwk).toBeNull();
    expect(v7515("A.5").compact.endsWith(".")).toBe(true); // empty JWS Signature
  });

  it("RFC 7515 key pairs are consistent, and the deterministic signatures (HS256, RS256) are reproduced exactly", () => {
    expect(rsaKeyProblems(v7515("A.2").jwk!)).toEqual([]);
    expect(ecPairMatches(v7515("A.3").jwk!)).toBe(true);
    expect(ecPairMatches(v7515("A.4").jwk!)).toBe(true);
    const a1 = split(v7515("A.1").compact);
    expect(
      createHmac("sha256", b64u(v7515("A.1").jwk!.k!))
        .update(a1.input)
        .digest("base64url"),
    ).toBe(a1.signature);
    const a2 = split(v7515("A.2").compact);
    const a2key = createPrivateKey({ key: v7515("A.2").jwk!, format: "jwk" });
    expect(sign("sha256", Buffer.from(a2.input), a2key).toString("base64url")).toBe(a2.signature);
  });

  it("RFC 7520 4.1-4.7: each signature verifies with its section 3 key over its signing input", () => {
    for (const v of rfc7520.vectors) {
      const { input, signature } = split(token7520(v));
      expect(oracleVerify(v.alg, key7520(v.key), input, b64u(signature)), `RFC 7520 ${v.section}`).toBe(true);
    }
  });

  it("RFC 7520: the payload is Figure 7's text, shared by every example; 4.5-4.7 are derived as documented", () => {
    expect(b64u(rfc7520.payload_b64).toString("utf8")).toBe(rfc7520.payload);
    expect(rfc7520.payload).toContain("It\u2019s a dangerous business, Frodo");
    for (const v of rfc7520.vectors) {
      expect(split(token7520(v)).payload, v.section).toBe(rfc7520.payload_b64);
      if (!v.compact) expect(v.derivation, v.section).toBeTruthy();
    }
    const v45 = rfc7520.vectors.find((v) => v.section === "4.5")!;
    const d45 = split(v45.detached_compact!.replace("..", ".X."));
    expect(v45.derived_compact).toBe(`${d45.header}.${rfc7520.payload_b64}.${d45.signature}`);
    const v46 = rfc7520.vectors.find((v) => v.section === "4.6")!;
    expect(v46.derived_compact).toBe(`${v46.protected}.${rfc7520.payload_b64}.${v46.signature}`);
    const v47 = rfc7520.vectors.find((v) => v.section === "4.7")!;
    expect(v47.derived_compact).toBe(`.${rfc7520.payload_b64}.${v47.signature}`);
  });

  it("RFC 7520 section 3: public keys are the private ones' public halves, pairs are consistent, RS256 is reproduced", () => {
    expect(key7520("3.1")).toEqual(publicJwk(key7520("3.2")));
    expect(key7520("3.3")).toEqual(publicJwk(key7520("3.4")));
    expect(ecPairMatches(key7520("3.2"))).toBe(true);
    expect(rsaKeyProblems(key7520("3.4"))).toEqual([]);
    const v41 = split(token7520(rfc7520.vectors.find((v) => v.section === "4.1")!));
    const priv = createPrivateKey({ key: key7520("3.4"), format: "jwk" });
    expect(sign("sha256", Buffer.from(v41.input), priv).toString("base64url")).toBe(v41.signature);
  });
});

describe("RFC vectors through jwt-auth's verification (jws-harness)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await loadHarness();
  }, 180_000);

  const jwks = (...keys: Jwk[]) => ({ keys: keys.map(publicJwk) });

  /** What each vector must get from our filter's code. */
  const EXPECT_7515: Record<string, FailureName> = {
    "A.1": "None",
    "A.2": "None",
    "A.3": "None",
    "A.4": "UnsupportedAlg", // ES512 (P-521) is not among our algorithms
    "A.5": "UnsupportedAlg", // "none" never is
  };
  const EXPECT_7520: Record<string, FailureName> = {
    "4.1": "None",
    "4.2": "None",
    "4.3": "UnsupportedAlg",
    "4.4": "None",
    "4.5": "None",
    "4.6": "None",
    "4.7": "Malformed", // no protected header: an empty first segment, alg out of reach
  };

  const cases = (): { name: string; token: string; keys: Jwk[]; expect: FailureName; oracle: (t: string) => boolean }[] => [
    ...rfc7515.vectors.map((v) => ({
      name: `RFC 7515 ${v.section} ${v.alg}`,
      token: v.compact,
      keys: v.jwk ? [v.jwk] : [],
      expect: EXPECT_7515[v.section]!,
      oracle: (t: string) => {
        const s = split(t);
        return v.jwk !== null && oracleVerify(v.alg, v.jwk, s.input, b64u(s.signature));
      },
    })),
    ...rfc7520.vectors.map((v) => ({
      name: `RFC 7520 ${v.section} ${v.alg}`,
      token: token7520(v),
      keys: [key7520(v.key)],
      expect: EXPECT_7520[v.section]!,
      oracle: (t: string) => {
        const s = split(t);
        return oracleVerify(v.alg, key7520(v.key), s.input, b64u(s.signature));
      },
    })),
  ];

  it("has an expectation for every vector in the fixtures", () => {
    for (const c of cases()) expect(c.expect, c.name).toBeDefined();
  });

  it("verifies the valid HS256, RS256, ES256 and PS384 vectors (Failure.None), with the RFC's JWK accepted", () => {
    const results = cases()
      .filter((c) => c.expect === "None")
      .map((c) => {
        const r = h.verify(c.token, jwks(...c.keys));
        return { name: c.name, failure: r.failure, keyCount: r.keyCount, skipped: r.skipped };
      });
    expect(results.length).toBe(8);
    expect(results).toEqual(results.map((r) => ({ ...r, failure: "None", keyCount: 1, skipped: "" })));
  });

  it('refuses ES512 (A.4, 4.3) and "none" (A.5) as UnsupportedAlg; the P-521 keys are skipped, not used', () => {
    for (const c of cases().filter((c) => c.expect === "UnsupportedAlg")) {
      const r = h.verify(c.token, jwks(...c.keys));
      expect(r.failure, c.name).toBe("UnsupportedAlg");
      if (c.keys.length) {
        expect(r.keyCount, c.name).toBe(0);
        expect(r.skipped, c.name).toMatch(/unsupported EC curve P-521/);
      }
    }
  });

  it("4.5 with its payload still detached fails the signature; 4.7's header-less form is Malformed", () => {
    const v45 = rfc7520.vectors.find((v) => v.section === "4.5")!;
    expect(h.verify(v45.detached_compact!, jwks(key7520("3.5"))).failure).toBe("BadSignature");
    const v47 = rfc7520.vectors.find((v) => v.section === "4.7")!;
    expect(h.verify(token7520(v47), jwks(key7520("3.5"))).failure).toBe("Malformed");
  });

  it("refuses every valid vector with one byte of its payload or signature changed (and so does node:crypto)", () => {
    const seen: string[] = [];
    for (const c of cases().filter((c) => c.expect === "None")) {
      for (const seg of [1, 2] as const) {
        for (const at of ["first", "middle", "last"] as const) {
          const t = tamper(c.token, seg, at);
          const what = `${c.name}, ${seg === 1 ? "payload" : "signature"} byte ${at}`;
          expect(t, what).not.toBe(c.token);
          expect(c.oracle(t), `oracle: ${what}`).toBe(false);
          seen.push(`${what}: ${h.verify(t, jwks(...c.keys)).failure}`);
        }
      }
    }
    expect(seen.length).toBe(8 * 6);
    expect(seen.filter((s) => !s.endsWith(": BadSignature"))).toEqual([]);
  });

  it("does not accept a valid vector with another vector's key (no key confusion across the RFC keys)", () => {
    const all = cases().filter((c) => c.expect === "None");
    const everyOtherKey = (mine: Jwk) =>
      [v7515("A.1").jwk!, v7515("A.2").jwk!, v7515("A.3").jwk!, key7520("3.3"), key7520("3.5")].filter(
        (k) => JSON.stringify(publicJwk(k)) !== JSON.stringify(publicJwk(mine)),
      );
    for (const c of all) {
      const r = h.verify(c.token, jwks(...everyOtherKey(c.keys[0]!)));
      expect(["UnknownKid", "BadSignature"], `${c.name}: ${r.failure}`).toContain(r.failure);
    }
  });

  it("made no host calls (no trap reported through proxy_log)", () => {
    expect(h.calls).toEqual([]);
  });
});

describe("RFC 7515 A.1-A.3 JWTs through the jwt-auth filter (emulator)", () => {
  const EXP = 1300819380; // the vectors' exp claim
  const SKEW = 60;
  let wasm: WebAssembly.Module;
  beforeAll(async () => {
    wasm = await WebAssembly.compile(readFileSync(builtFilter("jwt-auth")));
  }, 180_000);

  async function request(section: string, nowS: number) {
    const v = v7515(section);
    const vm = await ProxyWasmVm.load(wasm, { startTime: nowS * 1000 });
    const plugin = vm.configurePlugin({
      rootId: "jwt-auth",
      config: JSON.stringify({
        providers: [{ name: "joe", issuer: "joe", jwks: { keys: [publicJwk(v.jwk!)] }, require_exp: true, clock_skew_s: SKEW }],
        rules: [{ requires: ["joe"] }],
      }),
    });
    expect(plugin.ok, vm.logs.map((l) => l.message).join("; ")).toBe(true);
    const headers: HeaderList = [
      [":method", "GET"],
      [":path", "/"],
      [":authority", "a"],
      ["authorization", `Bearer ${v.compact}`],
    ];
    return runHttpRequest(plugin, { requestHeaders: headers });
  }

  for (const section of ["A.1", "A.2", "A.3"]) {
    it(`${section} (${v7515(section).alg}) is allowed before exp and while within the clock skew after it`, async () => {
      for (const now of [1300819000, EXP, EXP + SKEW - 1]) {
        const s = await request(section, now);
        expect(s.localResponse, `at ${now}: ${s.localResponse?.body}`).toBeUndefined();
      }
    });

    it(`${section} is refused with 401 "Jwt is expired" from exp + clock skew on`, async () => {
      for (const now of [EXP + SKEW, EXP + 86_400]) {
        const s = await request(section, now);
        expect(s.localResponse?.status, `at ${now}`).toBe(401);
        expect(JSON.parse(s.localResponse!.body)).toEqual({ error: "invalid_token", error_description: "Jwt is expired" });
        expect(s.localResponse!.headers.find(([k]) => k === "www-authenticate")?.[1]).toContain("Jwt is expired");
      }
    });
  }
});
