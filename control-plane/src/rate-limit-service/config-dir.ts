// The rate limit service's config as files, for a service the user runs (file provider:
// RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/config, RUNTIME_WATCH_ROOT=false): one <domain>.yaml per
// domain, each written atomically (temp file, rename) so the service's watcher never reads half
// a file; files of domains that no longer exist are removed. Only portico.*.yaml files are
// touched: the directory may hold the user's own domains too.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../store/atomic-write.js";
import { rateLimitConfigYaml, type RateLimitDomainConfig } from "../translate/rate-limit-service.js";

const OWN_FILE = /^portico\..+\.yaml$/;

/** Writes every domain's file into `dir` and removes stale ones; returns the file names written. */
export async function writeRateLimitConfigDir(dir: string, domains: readonly RateLimitDomainConfig[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names = domains.map((d) => `${d.domain}.yaml`);
  for (const [i, d] of domains.entries()) await writeFileAtomic(join(dir, names[i]!), rateLimitConfigYaml(d));
  const keep = new Set(names);
  for (const entry of await readdir(dir)) {
    if (OWN_FILE.test(entry) && !keep.has(entry)) await rm(join(dir, entry), { force: true });
  }
  return names;
}
