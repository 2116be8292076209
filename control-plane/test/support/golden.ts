// Golden-file cases for the translator: control-plane/testdata/translate/<case>/config.yaml in,
// expected.json (every Envoy resource by kind and name) out. UPDATE_GOLDEN=1 rewrites the
// expected files and deletes those of cases that no longer exist.
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadGatewayFile } from "../../src/config/index.js";
import type { GatewayModel } from "../../src/model/types.js";
import { translate, type EnvoyResources } from "../../src/translate/index.js";
import { SUITE_MODULE } from "../../src/translate/suite.js";
import { readCertificates } from "../../src/gateway/certificates.js";
import { XDS_TYPES } from "../../src/xds/types.js";

export const TESTDATA = fileURLToPath(new URL("../../testdata/translate/", import.meta.url));
export const SUITE_FILTERS = ["basic-auth", "header-rewrite", "jwt-auth", "key-auth", "rate-limit"];

export function goldenCases(): string[] {
  return readdirSync(TESTDATA, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * Stand-in suite modules with fixed bytes, so module hashes (and so the goldens) do not change
 * with every rebuild of the real filters. Plugin configs are checked against the real modules in
 * the validate-mode test.
 */
export function fakeFiltersDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "portico-golden-filters-"));
  // The Wasm magic number (the loader checks it), then a fixed text.
  // ...and the suite module, which runs a route's consecutive Portico plugins in one filter.
  for (const f of [...SUITE_FILTERS, SUITE_MODULE])
    writeFileSync(
      join(dir, `${f}.wasm`),
      Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), Buffer.from(`golden stand-in for ${f}`)]),
    );
  return dir;
}

export interface LoadedCase {
  model: GatewayModel;
  modules: Map<string, Uint8Array>;
}

export async function loadCase(name: string, filtersDir: string): Promise<LoadedCase> {
  const loaded = await loadGatewayFile(join(TESTDATA, name, "config.yaml"), { filtersDir });
  if (!loaded.ok) throw new Error(`${name}: ${JSON.stringify(loaded.errors, null, 2)}`);
  return { model: loaded.model, modules: loaded.modules };
}

/** Where the cases' supervised rate limit service listens (`portico run` picks a free port). */
export const GOLDEN_SUPERVISED_RATE_LIMIT_SERVICE = { host: "127.0.0.1", port: 18081 };

export async function translateCase({ model, modules }: LoadedCase): Promise<EnvoyResources> {
  return translate({
    model,
    certificates: await readCertificates(model),
    modules,
    supervisedRateLimitService: GOLDEN_SUPERVISED_RATE_LIMIT_SERVICE,
  });
}

/** JSON text of the resources with private keys redacted and machine paths made relative. */
export function goldenText(r: EnvoyResources, caseDir: string): string {
  const obj = Object.fromEntries(XDS_TYPES.map(({ url, key }) => [key, Object.fromEntries(r[url])]));
  const text = JSON.stringify(obj, (key, value) => (key === "private_key" ? { inline_string: "[redacted]" } : value), 2);
  return `${text.split(caseDir).join("<case>")}\n`;
}
