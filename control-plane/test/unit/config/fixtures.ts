// A throw-away gateway directory for loader tests: fake suite filters, a user module, certificates.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LoadOptions, type LoadResult, loadGatewayConfig } from "../../../src/config/index.js";
import type { ConfigError } from "../../../src/config/index.js";

/** Bytes that pass the loader's "\0asm" check; the checker in these tests is a stub. */
export function fakeWasm(tag: string): Uint8Array {
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...Buffer.from(tag)]);
}

export interface GatewayDir {
  dir: string;
  filtersDir: string;
  remove(): void;
  load(text: string, extra?: Partial<LoadOptions>): Promise<LoadResult>;
  /** Loads text that must be rejected, and returns its errors. */
  errors(text: string, extra?: Partial<LoadOptions>): Promise<ConfigError[]>;
}

export function makeGatewayDir(): GatewayDir {
  const dir = mkdtempSync(join(tmpdir(), "portico-config-"));
  const filtersDir = join(dir, "filters");
  mkdirSync(filtersDir);
  for (const name of ["basic-auth", "header-rewrite", "jwt-auth", "key-auth", "rate-limit", "suite"])
    writeFileSync(join(filtersDir, `${name}.wasm`), fakeWasm(name));
  writeFileSync(join(filtersDir, "jwt-auth.debug.wasm"), fakeWasm("debug build"));
  mkdirSync(join(dir, "certs"));
  writeFileSync(join(dir, "certs", "api.pem"), "-----BEGIN CERTIFICATE-----\n");
  writeFileSync(join(dir, "certs", "api.key"), "-----BEGIN PRIVATE KEY-----\n");
  writeFileSync(join(dir, "my-filter.wasm"), fakeWasm("user module"));
  const load = (text: string, extra: Partial<LoadOptions> = {}) =>
    loadGatewayConfig(text, { source: "gateway.yaml", baseDir: dir, filtersDir, ...extra });
  return {
    dir,
    filtersDir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    load,
    async errors(text, extra) {
      const result = await load(text, extra);
      if (result.ok) throw new Error("expected the config to be rejected, but it loaded");
      return result.errors;
    },
  };
}

/** Template tag: strips the common indentation and the first newline, so line 1 is the first line written. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ""), "");
  const lines = text.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join("\n");
}
