// Project Wycheproof vectors (C2SP/wycheproof, shared/testdata/wycheproof beside the clone)
// against the AssemblyScript crypto library, driven through the crypto-harness test module.
// Every `valid` case must verify and every `invalid` one must fail; `acceptable` cases are
// decided by ACCEPTABLE_POLICY below (see docs/crypto.md for the reasoning). Keys come from
// the group's JWK, decoded by our own base64url decoder, exactly as a JWKS would supply them.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCryptoHarness, repoRoot, Hash, Curve, type CryptoHarness } from "../fixtures/wasm/crypto-harness/load.mjs";

const dir = join(repoRoot, "../shared/testdata/wycheproof");

/** Decision per flag for `acceptable` cases: true = we accept, false = we reject. */
const ACCEPTABLE_POLICY: Record<string, boolean> = {
  // DigestInfo without the NULL parameter: RFC 8017 §9.2 Note 1 gives the one encoding (with
  // NULL) that we build and compare; accepting a second one would mean a second candidate
  // encoding. OpenSSL 3 (node:crypto) and BoringSSL reject it too.
  MissingNull: false,
};

interface TestCase {
  tcId: number;
  comment: string;
  flags: string[];
  result: "valid" | "invalid" | "acceptable";
  [k: string]: unknown;
}
interface TestGroup {
  tests: TestCase[];
  [k: string]: unknown;
}
interface TestFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: TestGroup[];
}

function load(name: string): TestFile {
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`Wycheproof vectors not found at ${path} (expected shared/ beside the clone)`);
  return JSON.parse(readFileSync(path, "utf8")) as TestFile;
}

const hex = (s: unknown) => Buffer.from(String(s), "hex");

function expectedOf(t: TestCase): boolean {
  if (t.result === "valid") return true;
  if (t.result === "invalid") return false;
  const decisions = t.flags.map((f) => ACCEPTABLE_POLICY[f]);
  if (t.flags.length === 0 || decisions.some((d) => d === undefined)) {
    throw new Error(`tcId ${t.tcId}: no policy for acceptable case with flags [${t.flags.join(", ")}] — decide and document it`);
  }
  return decisions.every((d) => d === true);
}

/** Runs every case; fails once, listing every mismatch with tcId, comment, flags and result. */
function runFile(file: TestFile, verify: (g: TestGroup, t: TestCase) => boolean) {
  const counts = { valid: 0, invalid: 0, acceptableAccepted: 0, acceptableRejected: 0 };
  const failures: string[] = [];
  let total = 0;
  for (const g of file.testGroups) {
    for (const t of g.tests) {
      total++;
      const want = expectedOf(t);
      let got: boolean;
      try {
        got = verify(g, t);
      } catch (err) {
        failures.push(`tcId ${t.tcId} (${t.comment}; flags ${t.flags.join(",")}): threw ${(err as Error).message}`);
        continue;
      }
      if (got !== want) {
        failures.push(
          `tcId ${t.tcId} (${t.comment || "no comment"}; flags [${t.flags.join(", ")}]; result ${t.result}): ${got ? "accepted" : "rejected"}`,
        );
        continue;
      }
      if (t.result === "valid") counts.valid++;
      else if (t.result === "invalid") counts.invalid++;
      else if (got) counts.acceptableAccepted++;
      else counts.acceptableRejected++;
    }
  }
  expect(failures, failures.join("\n")).toEqual([]);
  expect(total).toBe(file.numberOfTests);
  return counts;
}

let h: CryptoHarness;
beforeAll(async () => {
  h = await loadCryptoHarness();
}, 120_000);

/** Decodes a JWK member with the library's strict base64url decoder, checked against Node's. */
function jwkBytes(v: unknown): Uint8Array {
  const s = String(v);
  const ours = h.b64Decode(s, true);
  if (ours === null) throw new Error(`our base64url decoder refused JWK member ${s}`);
  expect(Buffer.from(ours).equals(Buffer.from(s, "base64url"))).toBe(true);
  return ours;
}

describe("Wycheproof RSASSA-PKCS1-v1_5", () => {
  for (const [name, alg] of [
    ["rsa_signature_2048_sha256_test.json", Hash.SHA256],
    ["rsa_signature_2048_sha512_test.json", Hash.SHA512],
  ] as const) {
    it(name, () => {
      h.resetKeys();
      const file = load(name);
      const keys = new Map<TestGroup, number>();
      const counts = runFile(file, (g, t) => {
        let k = keys.get(g);
        if (k === undefined) {
          const jwk = g.keyJwk as { n: string; e: string };
          k = h.rsaKey(jwkBytes(jwk.n), jwkBytes(jwk.e));
          keys.set(g, k);
          expect(k, "the group's public key must be accepted").toBeGreaterThanOrEqual(0);
        }
        return h.rsaVerifyPkcs1(k, alg, hex(t.msg), hex(t.sig));
      });
      console.info(
        `${name}: ${counts.valid} valid accepted, ${counts.invalid} invalid rejected, ${counts.acceptableRejected} acceptable rejected, ${counts.acceptableAccepted} acceptable accepted`,
      );
    });
  }
});

describe("Wycheproof ECDSA P-256 (r ‖ s)", () => {
  const name = "ecdsa_secp256r1_sha256_p1363_test.json";
  it(name, () => {
    h.resetKeys();
    const file = load(name);
    const keys = new Map<TestGroup, number>();
    const counts = runFile(file, (g, t) => {
      let k = keys.get(g);
      if (k === undefined) {
        const jwk = g.publicKeyJwk as { crv: string; x: string; y: string } | undefined;
        const pub = g.publicKey as { uncompressed: string; curve: string };
        expect(pub.curve).toBe("secp256r1");
        if (jwk) {
          k = h.ecKey(Curve.P256, jwkBytes(jwk.x), jwkBytes(jwk.y));
        } else {
          const raw = hex(pub.uncompressed); // 04 ‖ x ‖ y
          k = h.ecKey(Curve.P256, raw.subarray(1, 33), raw.subarray(33));
        }
        keys.set(g, k);
        expect(k, "the group's public key must be accepted").toBeGreaterThanOrEqual(0);
      }
      return h.ecdsaVerify(k, Hash.SHA256, hex(t.msg), hex(t.sig));
    });
    console.info(`${name}: ${counts.valid} valid accepted, ${counts.invalid} invalid rejected`);
  });
});

describe("Wycheproof HMAC", () => {
  for (const [name, alg, full] of [
    ["hmac_sha256_test.json", Hash.SHA256, 256],
    ["hmac_sha512_test.json", Hash.SHA512, 512],
  ] as const) {
    it(name, () => {
      const file = load(name);
      const counts = runFile(file, (g, t) => {
        const tagSize = Number(g.tagSize);
        const tag = hex(t.tag);
        // A tag of the wrong length for the group is invalid whatever its bytes.
        if (tag.length * 8 !== tagSize) return false;
        // Full-size groups go through the JWS-facing verify (full length, constant time);
        // truncated-tag groups (tagSize < full) through the prefix comparison.
        return h.hmacVerify(alg, hex(t.key), hex(t.msg), tag, tagSize === full);
      });
      console.info(`${name}: ${counts.valid} valid accepted, ${counts.invalid} invalid rejected`);
    });
  }
});
