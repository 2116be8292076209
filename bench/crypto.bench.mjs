#!/usr/bin/env node
// Microbenchmark of the AssemblyScript crypto library (assembly/crypto) under Node: cost of one
// JWS signature verification per algorithm on a ~300-byte signing input (hashing included),
// measured through the crypto-harness test module, next to node:crypto (OpenSSL) for scale.
//   node bench/crypto.bench.mjs [--rounds 5] [--json]
import { constants, createHmac, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, verify } from "node:crypto";
import { loadCryptoHarness, Hash, Curve } from "../test/fixtures/wasm/crypto-harness/load.mjs";

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1]) || 5;
const asJson = args.includes("--json");

const h = await loadCryptoHarness();
const b64u = (b) => Buffer.from(b).toString("base64url");
const header = b64u(JSON.stringify({ alg: "XX256", typ: "JWT", kid: "2024-05-key-1" }));
const payload = b64u(
  JSON.stringify({
    iss: "https://issuer.example.com/",
    sub: "user-4f2d9c1a",
    aud: ["portico-api"],
    scope: "orders:read orders:write",
    iat: 1_700_000_000,
    nbf: 1_700_000_000,
    exp: 1_700_003_600,
    jti: "7d1c2a9e-3b44-4c1f-9a07-1e5b2c3d4e5f",
  }),
);
const input = Buffer.from(`${header}.${payload}`);

/** Median µs per call over `rounds` rounds, each sized to run ~200 ms. */
function measure(fn) {
  if (!fn()) throw new Error("benchmark subject did not verify");
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const dt = performance.now() - t0;
    if (dt > 50) {
      n = Math.ceil((n * 200) / dt);
      break;
    }
    n *= 4;
  }
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const rows = [];
function row(name, wasmFn, nodeFn, extra = {}) {
  rows.push({ name, wasmUs: measure(wasmFn), nodeUs: nodeFn ? measure(nodeFn) : null, ...extra });
}

for (const bits of [2048, 3072, 4096]) {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const jwk = publicKey.export({ format: "jwk" });
  const n = Buffer.from(jwk.n, "base64url"),
    e = Buffer.from(jwk.e, "base64url");
  const k = h.rsaKey(n, e);
  const rs = sign("sha256", input, privateKey);
  row(
    `RS256 (RSA-${bits})`,
    () => h.rsaVerifyPkcs1(k, Hash.SHA256, input, rs),
    () => verify("sha256", input, publicKey, rs),
  );
  if (bits === 2048) {
    const pss = { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    const ps = sign("sha256", input, pss);
    row(
      "PS256 (RSA-2048)",
      () => h.rsaVerifyPss(k, Hash.SHA256, input, ps, 32),
      () => verify("sha256", input, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, ps),
    );
    row(
      "RSA-2048 key import (JWK n, e → key)",
      () => {
        h.resetKeys();
        return h.rsaKey(n, e) >= 0;
      },
      () => !!createPublicKey({ key: jwk, format: "jwk" }),
    );
  }
}

for (const [alg, crv, curve, hash, hashId] of [
  ["ES256", "P-256", Curve.P256, "sha256", Hash.SHA256],
  ["ES384", "P-384", Curve.P384, "sha384", Hash.SHA384],
]) {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: crv });
  const jwk = publicKey.export({ format: "jwk" });
  const x = Buffer.from(jwk.x, "base64url"),
    y = Buffer.from(jwk.y, "base64url");
  h.resetKeys();
  const k = h.ecKey(curve, x, y);
  const sig = sign(hash, input, { key: privateKey, dsaEncoding: "ieee-p1363" });
  row(
    alg,
    () => h.ecdsaVerify(k, hashId, input, sig),
    () => verify(hash, input, { key: publicKey, dsaEncoding: "ieee-p1363" }, sig),
  );
}

{
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pk = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const sig = sign(null, input, privateKey);
  row(
    "EdDSA (Ed25519)",
    () => h.ed25519Verify(pk, input, sig),
    () => verify(null, input, publicKey, sig),
  );
}

{
  const key = Buffer.alloc(32, 7);
  const tag = createHmac("sha256", key).update(input).digest();
  row(
    "HS256",
    () => h.hmacVerify(Hash.SHA256, key, input, tag),
    () => timingSafeEqual(createHmac("sha256", key).update(input).digest(), tag),
  );
}

row("harness call overhead (SHA-256 of 0 bytes)", () => h.sha(Hash.SHA256, Buffer.alloc(0)).length === 32, null);

if (asJson) {
  console.log(JSON.stringify({ node: process.version, inputBytes: input.length, rows }, null, 2));
} else {
  console.log(`JWS verification, ${input.length}-byte signing input, median of ${rounds} rounds (${process.version}, ${process.arch})`);
  console.log("algorithm".padEnd(42) + "wasm µs".padStart(10) + "node µs".padStart(10) + "ratio".padStart(8));
  for (const r of rows) {
    const ratio = r.nodeUs ? `${(r.wasmUs / r.nodeUs).toFixed(1)}x` : "";
    console.log(
      r.name.padEnd(42) + r.wasmUs.toFixed(1).padStart(10) + (r.nodeUs ? r.nodeUs.toFixed(1) : "").padStart(10) + ratio.padStart(8),
    );
  }
}
