// `npm run bench:jwt`: what verifying a token costs jwt-auth per algorithm, in the proxy-wasm
// host emulator (Node's V8). Each algorithm: 300 distinct tokens (every one a full signature
// check) and then one token repeated (served from the verified-token cache), against the no-op
// module in the same run. Not a test: nothing is asserted.
import { readFileSync } from "node:fs";
import { createHmac, createSign, generateKeyPairSync, randomBytes, sign as oneShotSign, type KeyObject } from "node:crypto";
import { ProxyWasmVm, type HeaderList, type Plugin } from "../emulator/index.js";
import { builtFilter, fixtureWasm } from "../test/support/wasm-fixtures.js";

type Signer = (input: string) => Buffer;
interface Alg { name: string; jwk: object; sign: Signer }

const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64url");

function algorithms(): Alg[] {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const ed = generateKeyPairSync("ed25519");
  const secret = randomBytes(64);
  const pub = (k: KeyObject, kid: string, alg: string) => ({ ...k.export({ format: "jwk" }), kid, alg });
  const pss = (hash: string, len: number): Signer => (i) => oneShotSign(hash, Buffer.from(i), { key: rsa.privateKey, padding: 6, saltLength: len });
  return [
    { name: "HS256", jwk: { kty: "oct", k: b64(secret), kid: "HS256", alg: "HS256" }, sign: (i) => createHmac("sha256", secret).update(i).digest() },
    { name: "RS256", jwk: pub(rsa.publicKey, "RS256", "RS256"), sign: (i) => createSign("RSA-SHA256").update(i).sign(rsa.privateKey) },
    { name: "RS512", jwk: pub(rsa.publicKey, "RS512", "RS512"), sign: (i) => createSign("RSA-SHA512").update(i).sign(rsa.privateKey) },
    { name: "PS256", jwk: pub(rsa.publicKey, "PS256", "PS256"), sign: pss("sha256", 32) },
    { name: "ES256", jwk: pub(p256.publicKey, "ES256", "ES256"), sign: (i) => createSign("SHA256").update(i).sign({ key: p256.privateKey, dsaEncoding: "ieee-p1363" }) },
    { name: "ES384", jwk: pub(p384.publicKey, "ES384", "ES384"), sign: (i) => createSign("SHA384").update(i).sign({ key: p384.privateKey, dsaEncoding: "ieee-p1363" }) },
    { name: "EdDSA", jwk: pub(ed.publicKey, "EdDSA", "EdDSA"), sign: (i) => oneShotSign(null, Buffer.from(i), ed.privateKey) },
  ];
}

function token(alg: Alg, jti: number): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64(JSON.stringify({ alg: alg.name, kid: alg.name, typ: "JWT" }))}.${b64(JSON.stringify({ iss: "https://idp", aud: "api", sub: "user", exp: now + 3600, iat: now, jti }))}`;
  return `${input}.${b64(alg.sign(input))}`;
}

const req = (t: string): HeaderList => [[":method", "GET"], [":path", "/api"], [":authority", "bench"], ["authorization", `Bearer ${t}`]];

function perRequest(p: Plugin, tokens: string[]): number {
  const t0 = process.hrtime.bigint();
  for (const t of tokens) {
    const s = p.newHttpStream();
    s.sendRequestHeaders(req(t), { endOfStream: true });
    if (s.localResponse) throw new Error(`refused: ${s.localResponse.body}`);
    s.sendResponseHeaders([[":status", "200"]], { endOfStream: true });
    s.complete();
  }
  return Number(process.hrtime.bigint() - t0) / tokens.length / 1000;
}

async function main(): Promise<void> {
  const algs = algorithms();
  const noop = await ProxyWasmVm.load(readFileSync(fixtureWasm("noop")));
  const np = noop.configurePlugin({ rootId: "noop" });
  const base = perRequest(np, Array.from({ length: 20000 }, () => "x"));
  console.log(`no-op module: ${base.toFixed(2)} µs per request (emulator overhead)\n`);
  console.log("alg     full verification   cached token   (µs per request, minus the no-op)");
  const wasm = readFileSync(builtFilter("jwt-auth"));
  for (const alg of algs) {
    const vm = await ProxyWasmVm.load(wasm, { startTime: Date.now() });
    const p = vm.configurePlugin({
      rootId: "jwt-auth",
      config: JSON.stringify({ providers: [{ name: "idp", issuer: "https://idp", audiences: ["api"], jwks: { keys: [alg.jwk] } }], rules: [{ requires: ["idp"] }] }),
    });
    if (!p.ok) throw new Error(vm.logs.map((l) => l.message).join("; "));
    const distinct = Array.from({ length: 300 }, (_, i) => token(alg, i));
    perRequest(p, distinct.slice(0, 20)); // warm-up (JIT, key tables)
    const full = perRequest(p, distinct.slice(20));
    const one = token(alg, 99999);
    perRequest(p, [one]);
    const cached = perRequest(p, Array.from({ length: 5000 }, () => one));
    console.log(`${alg.name.padEnd(7)} ${(full - base).toFixed(1).padStart(12)} ${(cached - base).toFixed(1).padStart(16)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
