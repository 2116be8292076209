// Finds func-e (and the Envoy binary it should run) for `portico run`, with the same precedence
// as the test harness: an environment variable wins, then the env file scripts/install-tools.sh
// writes (<tools dir>/env), then func-e on PATH. Without an Envoy binary func-e resolves (and if
// needed downloads) its own Envoy version, which is func-e's normal mode of operation.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface EnvoyTools {
  /** The func-e executable. */
  funcE: string;
  /** Handed to func-e as ENVOY_PATH; undefined lets func-e pick its Envoy version. */
  envoyPath: string | undefined;
}

export interface LocateOptions {
  /** Default process.env. Reads FUNC_E, ENVOY_PATH, PORTICO_TOOLS_DIR and PATH. */
  env?: NodeJS.ProcessEnv;
  /** Where install-tools.sh put its env file; default $PORTICO_TOOLS_DIR, else <repo>/.tools. */
  toolsDir?: string;
}

const HOW_TO_FIX = "install func-e (https://func-e.io) or run scripts/install-tools.sh, or set FUNC_E to its path";

/** Where scripts/install-tools.sh installs (and writes its env file): $PORTICO_TOOLS_DIR, else <repo>/.tools. */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PORTICO_TOOLS_DIR || fileURLToPath(new URL("../../../.tools", import.meta.url));
}

export function locateEnvoyTools(o: LocateOptions = {}): EnvoyTools {
  const env = o.env ?? process.env;
  const dir = o.toolsDir ?? toolsDir(env);
  const installed = readToolsEnvFile(dir);
  const funcE = env.FUNC_E || installed.FUNC_E || onPath("func-e", env.PATH ?? "");
  if (!funcE) throw new Error(`func-e not found: FUNC_E is not set, ${join(dir, "env")} names none and it is not on PATH; ${HOW_TO_FIX}`);
  requireExecutable(funcE, "func-e");
  const envoyPath = env.ENVOY_PATH || installed.ENVOY_PATH || undefined;
  if (envoyPath !== undefined) requireExecutable(envoyPath, "Envoy (ENVOY_PATH)");
  return { funcE, envoyPath };
}

/** KEY=VALUE lines, values optionally in single quotes (shell-quoted as install-tools.sh writes them). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const eq = line.indexOf("=");
    if (!line || line.startsWith("#") || eq <= 0) continue;
    let value = line.slice(eq + 1);
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1).replaceAll("'\\''", "'");
    out[line.slice(0, eq)] = value;
  }
  return out;
}

/** The KEY=VALUE pairs of <dir>/env; none when install-tools.sh has not run. */
export function readToolsEnvFile(dir: string): Record<string, string> {
  const path = join(dir, "env");
  return existsSync(path) ? parseEnvFile(readFileSync(path, "utf8")) : {};
}

function onPath(name: string, path: string): string | undefined {
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function requireExecutable(path: string, what: string): void {
  if (!isExecutable(path)) throw new Error(`${what} at ${path} is not an executable file; ${HOW_TO_FIX}`);
}

/**
 * Another tool scripts/install-tools.sh records in its env file under `key` (RATELIMIT,
 * REDIS_SERVER): $key wins, then the env file, then `command` on PATH.
 */
export function locateTool(key: string, command: string, o: LocateOptions = {}): string {
  const env = o.env ?? process.env;
  const dir = o.toolsDir ?? toolsDir(env);
  const path = env[key] || readToolsEnvFile(dir)[key] || onPath(command, env.PATH ?? "");
  const fix = `run scripts/install-tools.sh or set ${key} to its path`;
  if (!path) throw new Error(`${command} not found: ${key} is not set, ${join(dir, "env")} names none and it is not on PATH; ${fix}`);
  if (!isExecutable(path)) throw new Error(`${command} at ${path} is not an executable file; ${fix}`);
  return path;
}
