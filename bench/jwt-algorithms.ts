// `npm run bench:jwt`: what verifying a token costs jwt-auth per algorithm, in the proxy-wasm
// host emulator (Node's V8). Each algorithm: 1,500 distinct tokens, the first 500 to warm up
// (every one a full signature check), and then one token repeated (served from the
// verified-token cache), against the no-op module in the same run. Not a test: nothing is asserted.
import { readFileSync } from "node:fs";
import { ProxyWasmVm, type HeaderList, type Plugin } from "../emulator/index.js";
import { assemble, generateKey, jwksOf, nowSeconds, type JwsAlg, type TestKey } from "../test/support/jwt.js";
import { builtFilter, fixtureWasm } from "../test/support/wasm-fixtures.js";

// Tokens verified before measuring. With 20, HS256 measured twice its settled cost.
const WARM_UP = 500;
// Every algorithm the filter supports.
const ALGORITHMS: JwsAlg[] = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

function token(key: TestKey, jti: number): string {
  const now = nowSeconds();
  return assemble(
    { alg: key.alg, kid: key.kid, typ: "JWT" },
    { iss: "https://idp", aud: "api", sub: "user", exp: now + 3600, iat: now, jti },
    { alg: key.alg, key: key.signingKey },
  );
}

const req = (t: string): HeaderList => [
  [":method", "GET"],
  [":path", "/api"],
  [":authority", "bench"],
  ["authorization", `Bearer ${t}`],
];

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
  const noop = await ProxyWasmVm.load(readFileSync(fixtureWasm("noop")));
  const np = noop.configurePlugin({ rootId: "noop" });
  const base = perRequest(
    np,
    Array.from({ length: 20000 }, () => "x"),
  );
  console.log(`no-op module: ${base.toFixed(2)} µs per request (emulator overhead)\n`);
  console.log("alg     full verification   cached token   (µs per request, minus the no-op)");
  const wasm = readFileSync(builtFilter("jwt-auth"));
  for (const alg of ALGORITHMS) {
    const key = await generateKey(alg, alg);
    const vm = await ProxyWasmVm.load(wasm, { startTime: Date.now() });
    const p = vm.configurePlugin({
      rootId: "jwt-auth",
      config: JSON.stringify({
        providers: [{ name: "idp", issuer: "https://idp", audiences: ["api"], jwks: jwksOf([key]) }],
        rules: [{ requires: ["idp"] }],
      }),
    });
    if (!p.ok) throw new Error(vm.logs.map((l) => l.message).join("; "));
    const distinct = Array.from({ length: 1500 }, (_, i) => token(key, i));
    perRequest(p, distinct.slice(0, WARM_UP)); // warm-up: V8 tiers hot Wasm functions up to optimised code only after many calls
    const full = perRequest(p, distinct.slice(WARM_UP));
    const one = token(key, 99999);
    perRequest(p, [one]);
    const cached = perRequest(
      p,
      Array.from({ length: 5000 }, () => one),
    );
    console.log(`${alg.padEnd(7)} ${(full - base).toFixed(1).padStart(12)} ${(cached - base).toFixed(1).padStart(16)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
