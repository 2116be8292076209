// Locates the native tools installed by scripts/install-tools.sh.
// An environment variable wins (CI or a developer may point at their own
// build); otherwise the values come from <tools-dir>/env. A missing tool is an
// error, never a reason to skip: an e2e suite that silently skips proves nothing.
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { readToolsEnvFile, toolsDir } from "../../control-plane/src/envoy/tools.js";

// One definition of the tools dir and the env file format: `portico run` finds func-e the same way.
export { parseEnvFile, toolsDir } from "../../control-plane/src/envoy/tools.js";

const HOW_TO_FIX = "run `make test` (or `scripts/install-tools.sh`) to install the pinned tools";

export function readToolsEnv(): Record<string, string> {
  return readToolsEnvFile(toolsDir());
}

function resolveTool(key: string, what: string): string {
  const path = process.env[key] || readToolsEnv()[key];
  if (!path) {
    throw new Error(`${what} not found: ${key} is not set and ${join(toolsDir(), "env")} has no ${key}; ${HOW_TO_FIX}`);
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${what} at ${path} (${key}) is not an executable file; ${HOW_TO_FIX}`);
  }
  return path;
}

/** The Envoy binary (1.40, with the V8 Wasm runtime). */
export const envoyPath = (): string => resolveTool("ENVOY_PATH", "Envoy");
/** The func-e launcher that tests run Envoy through. */
export const funcEPath = (): string => resolveTool("FUNC_E", "func-e");
/** HTTP/1.1 load generator. */
export const wrkPath = (): string => resolveTool("WRK", "wrk");
/** HTTP/2 load generator (nghttp2). */
export const h2loadPath = (): string => resolveTool("H2LOAD", "h2load");
/** Prometheus server (Debian package), for the scrape-and-query e2e test. */
export const prometheusPath = (): string => resolveTool("PROMETHEUS", "Prometheus");
/** redis-server (Debian package): the store behind the rate limit service in e2e tests. */
export const redisServerPath = (): string => resolveTool("REDIS_SERVER", "redis-server");
/** The reference rate limit service, github.com/envoyproxy/ratelimit (pinned in install-tools.sh). */
export const ratelimitPath = (): string => resolveTool("RATELIMIT", "The rate limit service (envoyproxy/ratelimit)");
