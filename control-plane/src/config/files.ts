// Everything the config names on disk: certificate files, user modules, suite filters. Paths are
// relative to the config file's directory; suite filters are the *.wasm files of filtersDir.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, readFile, readdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { NATIVE_POLICY_NAMES, isNativePolicy } from "../policies/index.js";
import { SUITE_MODULE } from "../translate/suite.js";
import type { Problem } from "./errors.js";
import { fieldOf, listOf } from "./shape.js";
import { NAME_PATTERN } from "./syntax.js";

export interface ResolvedModule {
  filter: string; // suite filter name, or "custom"
  rootId: string;
  sha256: string;
  path: string; // absolute
  bytes: Uint8Array;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]; // "\0asm"

/** Do the bytes start with the WebAssembly magic number "\0asm"? */
export function hasWasmMagic(bytes: Uint8Array): boolean {
  return WASM_MAGIC.every((b, i) => bytes[i] === b);
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}

async function readableFileError(path: string): Promise<string | null> {
  try {
    if (!(await stat(path)).isFile()) return "not a regular file";
    await access(path, constants.R_OK);
    return null;
  } catch (error) {
    return reason(error);
  }
}

/** Certificate and key files of every listener as written (so that other mistakes hide none). */
export async function checkCertificateFiles(listeners: unknown[], baseDir: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [index, listener] of listeners.entries()) {
    for (const [c, certificate] of listOf(fieldOf(fieldOf(listener, "tls"), "certificates")).entries()) {
      for (const key of ["cert", "key"] as const) {
        const file = fieldOf(certificate, key);
        if (typeof file !== "string" || file === "") continue; // a shape error
        const path = resolve(baseDir, file);
        const error = await readableFileError(path);
        const what = key === "cert" ? "certificate" : "key";
        if (error)
          problems.push({
            path: ["listeners", index, "tls", "certificates", c, key],
            message: `cannot read ${what} file ${path}: ${error}`,
          });
      }
    }
  }
  return problems;
}

/**
 * The system trust store (Debian/Ubuntu's bundle, also what the Envoy images ship): what upstream
 * TLS verifies against when no `ca` is given. Envoy reads it itself, so it must exist on Envoy's
 * host too.
 */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/**
 * Upstream TLS trust as written: each `ca` file must be readable PEM certificates; without one
 * (and without insecure_skip_verify) the system trust store must exist.
 */
export async function checkUpstreamCaFiles(upstreams: unknown[], baseDir: string, systemStore = SYSTEM_CA_BUNDLE): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [index, upstream] of upstreams.entries()) {
    const tls = fieldOf(upstream, "tls");
    if (tls === undefined || tls === false) continue;
    if (tls !== true && (typeof tls !== "object" || tls === null)) continue; // a shape error
    const ca = tls === true ? undefined : fieldOf(tls, "ca");
    if (tls !== true && fieldOf(tls, "insecure_skip_verify") === true) continue;
    if (ca === undefined) {
      const error = await readableFileError(systemStore);
      if (error) {
        problems.push({
          path: ["upstreams", index, "tls"],
          message: `cannot read the system trust store ${systemStore} (${error}) to verify the upstream's certificate: give a ca file`,
        });
      }
      continue;
    }
    if (typeof ca !== "string" || ca === "") continue; // a shape error
    const path = resolve(baseDir, ca);
    const problem = await caFileError(path);
    if (problem) problems.push({ path: ["upstreams", index, "tls", "ca"], message: problem });
  }
  return problems;
}

/** What is wrong with a CA bundle file, or null. */
export async function caFileError(path: string): Promise<string | null> {
  const error = await readableFileError(path);
  if (error) return `cannot read CA file ${path}: ${error}`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return `cannot read CA file ${path}: ${reason(e)}`;
  }
  return isPemCertificates(text) ? null : `${path} is not a PEM CA certificate (no "-----BEGIN CERTIFICATE-----")`;
}

export function isPemCertificates(text: string): boolean {
  return text.includes("-----BEGIN CERTIFICATE-----");
}

/** The largest Wasm module the gateway loads (the suite's filters are a few hundred KB). */
export const MAX_MODULE_BYTES = 32 * 1024 * 1024;

async function moduleFileError(path: string): Promise<string | null> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return "not a regular file";
    if (info.size > MAX_MODULE_BYTES) return `larger than ${MAX_MODULE_BYTES / 1024 / 1024} MiB (${info.size} bytes)`;
    return null;
  } catch (error) {
    return reason(error);
  }
}

/**
 * Suite filter names: the *.wasm files of filtersDir whose names are valid filter names (so not
 * "x.debug"), but for the suite module (suite.wasm), which is no plugin of its own: it runs other
 * plugins (plugins_in_one_filter).
 */
export async function listSuiteFilters(filtersDir: string): Promise<string[] | string> {
  try {
    const names = await readdir(filtersDir);
    const pattern = new RegExp(NAME_PATTERN);
    return names
      .filter((n) => n.endsWith(".wasm"))
      .map((n) => n.slice(0, -".wasm".length))
      .filter((n) => pattern.test(n) && n !== SUITE_MODULE)
      .sort();
  } catch (error) {
    return `cannot list the suite filters in ${resolve(filtersDir)}: ${reason(error)}`;
  }
}

/**
 * Reads every plugin's module (suite filter or user module) as written, keyed by the plugin's
 * index. Plugins with a shape error in their filter/module keys are skipped: already reported.
 */
export async function loadModules(
  plugins: unknown[],
  dirs: { baseDir: string; filtersDir: string },
): Promise<{ modules: Map<number, ResolvedModule>; problems: Problem[] }> {
  const modules = new Map<number, ResolvedModule>();
  const problems: Problem[] = [];
  const isName = (v: unknown): v is string => typeof v === "string" && v !== "";
  const needsModule = (p: unknown) => isName(fieldOf(p, "filter")) && !isNativePolicy(fieldOf(p, "filter"));
  const suite = plugins.some(needsModule) ? await listSuiteFilters(dirs.filtersDir) : [];

  for (const [index, plugin] of plugins.entries()) {
    const filter = fieldOf(plugin, "filter");
    const module = fieldOf(plugin, "module");
    const rootId = fieldOf(plugin, "root_id");
    let path: string;
    let at: PropertyKey[];
    // A native policy is run by Envoy itself: no module, even if a suite file has its name.
    if (isNativePolicy(filter)) continue;
    if (isName(filter) && module === undefined) {
      at = ["plugins", index, "filter"];
      if (typeof suite === "string") {
        problems.push({ path: at, message: suite });
        continue;
      }
      if (filter === SUITE_MODULE) {
        problems.push({
          path: at,
          message: `"${SUITE_MODULE}" is not a plugin: it is the module that runs a route's Portico plugins in one filter (plugins_in_one_filter); list those plugins instead`,
        });
        continue;
      }
      if (!suite.includes(filter)) {
        const known = suite.length > 0 ? suite.join(", ") : `none found in ${resolve(dirs.filtersDir)}`;
        problems.push({
          path: at,
          message: `unknown filter "${filter}" (native policies: ${NATIVE_POLICY_NAMES.join(", ")}; suite Wasm filters: ${known})`,
        });
        continue;
      }
      path = resolve(dirs.filtersDir, `${filter}.wasm`);
    } else if (isName(module) && filter === undefined) {
      at = ["plugins", index, "module"];
      path = resolve(dirs.baseDir, module);
    } else {
      continue;
    }

    const read = await readModule(path);
    if (typeof read === "string") {
      problems.push({ path: at, message: read });
      continue;
    }
    modules.set(index, {
      filter: isName(filter) ? filter : "custom",
      rootId: isName(filter) ? filter : typeof rootId === "string" ? rootId : "",
      ...read,
    });
  }
  return { modules, problems };
}

/** A module file's bytes and sha256, or what is wrong with it (a message naming the path). */
async function readModule(path: string): Promise<{ path: string; sha256: string; bytes: Uint8Array } | string> {
  // A regular file of a bounded size first: `module: /dev/zero` (or a FIFO) would otherwise be
  // read for ever, or into gigabytes of memory.
  const notModule = await moduleFileError(path);
  if (notModule) return `cannot read module ${path}: ${notModule}`;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    return `cannot read module ${path}: ${reason(error)}`;
  }
  if (!hasWasmMagic(bytes)) return `${path} is not a WebAssembly module (no "\\0asm" header)`;
  return { path, sha256: createHash("sha256").update(bytes).digest("hex"), bytes };
}

/**
 * The suite module, `<filtersDir>/suite.wasm` (found as `filter: X` is: `<filtersDir>/X.wasm`),
 * or what is wrong with it.
 */
export function loadSuiteModule(filtersDir: string): Promise<{ path: string; sha256: string; bytes: Uint8Array } | string> {
  return readModule(resolve(filtersDir, `${SUITE_MODULE}.wasm`));
}
