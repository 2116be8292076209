// `npm run bench:jwt-envoy [-- --duration S] [--tokens N] [--alg HS256,ES384]`: jwt-auth against
// Envoy's native jwt_authn in the
// same Envoy, per algorithm, with 4,096 distinct valid tokens sent in turn, so every request
// needs a full signature check in both (more tokens than our 1,024-entry cache holds; jwt_authn
// has no cache by default). Figures are ratios to native measured in the same run. Default: all
// twelve algorithms; prints a markdown table.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  assemble,
  bootstrap,
  filterWasm,
  generateKey,
  httpListener,
  jwksOf,
  nowSeconds,
  processCpuSeconds,
  runWrk,
  startEnvoy,
  staticCluster,
  wasmHttpFilter,
  type JwsAlg,
} from "../test/support/index.js";

const ALL: JwsAlg[] = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
const { values: args } = parseArgs({ options: { duration: { type: "string" }, tokens: { type: "string" }, alg: { type: "string" } } });
const durationSec = Number(args.duration ?? 4);
const tokenCount = Number(args.tokens ?? 4096);
const ALGORITHMS: JwsAlg[] = args.alg ? (args.alg.split(",").map((a) => a.trim()) as JwsAlg[]) : ALL;
const unknown = ALGORITHMS.filter((a) => !ALL.includes(a));
if (unknown.length) {
  console.error(`--alg: unknown ${unknown.join(", ")}; known: ${ALL.join(", ")}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "portico-jwt-bench-"));
  const up = await startEnvoy({
    name: "jwt-bench-upstream",
    logLevel: "warning",
    config: bootstrap({ listeners: [httpListener({ name: "u", directResponse: { status: 200, body: "ok" } })] }),
  });
  try {
    console.log(`${tokenCount} distinct tokens per algorithm, ${durationSec}s per run, best of two runs each\n`);
    console.log("| alg | ours req/s | native req/s | req/s ratio | ours CPU µs/req | native CPU µs/req | CPU ratio |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const alg of ALGORITHMS) {
      const key = await generateKey(alg, alg);
      const now = nowSeconds();
      const lines: string[] = [];
      for (let i = 0; i < tokenCount; i++) {
        lines.push(
          assemble(
            { alg, kid: alg },
            { iss: "https://idp", aud: "api", sub: `u${i}`, exp: now + 3600, iat: now },
            { alg, key: key.signingKey },
          ),
        );
      }
      const file = join(dir, `${alg}.txt`);
      writeFileSync(file, `${lines.join("\n")}\n`);
      const jwks = jwksOf([key]);
      const gw = await startEnvoy({
        name: `jwt-bench-${alg}`,
        logLevel: "warning",
        config: bootstrap({
          listeners: [
            httpListener({
              name: "ours",
              cluster: "up",
              httpFilters: [
                wasmHttpFilter({
                  file: filterWasm("jwt-auth"),
                  name: "jwt",
                  rootId: "jwt-auth",
                  configuration: {
                    providers: [{ name: "idp", issuer: "https://idp", audiences: ["api"], jwks }],
                    rules: [{ requires: ["idp"] }],
                  },
                }),
              ],
            }),
            httpListener({
              name: "native",
              cluster: "up",
              httpFilters: [
                {
                  name: "envoy.filters.http.jwt_authn",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                    providers: { idp: { issuer: "https://idp", audiences: ["api"], local_jwks: { inline_string: JSON.stringify(jwks) } } },
                    rules: [{ match: { prefix: "/" }, requires: { provider_name: "idp" } }],
                  },
                },
              ],
            }),
          ],
          clusters: [staticCluster("up", up.listenerPort("u"))],
        }),
      });
      const cpu = () => processCpuSeconds(gw.envoyPid);
      const result: Record<string, { rps: number; cpuUs: number }> = {};
      for (const l of ["ours", "native", "ours", "native"]) {
        const c0 = cpu();
        const r = await runWrk({
          url: gw.url("/", l),
          connections: 8,
          durationSec,
          rotateHeader: { name: "authorization", prefix: "Bearer ", file },
          countStatuses: true,
        });
        const ok = r.statuses?.["200"] ?? 0;
        if (ok !== r.requests)
          throw new Error(`${alg}/${l}: ${r.requests - ok} of ${r.requests} requests were refused: ${JSON.stringify(r.statuses)}`);
        const cur = { rps: r.rps, cpuUs: ((cpu() - c0) / r.requests) * 1e6 };
        const prev = result[l];
        result[l] = prev ? { rps: Math.max(prev.rps, cur.rps), cpuUs: Math.min(prev.cpuUs, cur.cpuUs) } : cur;
      }
      await gw.stop();
      const o = result.ours!,
        n = result.native!;
      console.log(
        `| ${alg} | ${o.rps.toFixed(0)} | ${n.rps.toFixed(0)} | ${(o.rps / n.rps).toFixed(2)} | ${o.cpuUs.toFixed(1)} | ${n.cpuUs.toFixed(1)} | ${(o.cpuUs / n.cpuUs).toFixed(2)} |`,
      );
    }
  } finally {
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
