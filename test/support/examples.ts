// Loads a shipped example config (envoy-configs/*.yaml) for a test: same filters, routes and
// plugin configuration as users get, with only the machine-specific parts moved: admin and
// listeners on port 0, every upstream endpoint on the test's upstream, module paths absolute.
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "./paths.js";

type Node = Record<string, unknown>;

function walk(node: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
  } else if (node && typeof node === "object") {
    visit(node as Node);
    for (const v of Object.values(node as Node)) walk(v, visit);
  }
}

export function exampleConfigPath(name: string): string {
  return join(repoRoot, "envoy-configs", name);
}

export function loadExampleConfig(name: string, opts: { upstreamPort: number }): Node {
  const config = parse(readFileSync(exampleConfigPath(name), "utf8")) as Node;
  walk(config, (n) => {
    const sa = n.socket_address as Node | undefined;
    if (sa) sa.port_value = 0;
    const local = n.local as Node | undefined;
    if (local && typeof local.filename === "string" && !isAbsolute(local.filename)) {
      local.filename = join(repoRoot, local.filename);
    }
  });
  const clusters = ((config.static_resources as Node).clusters ?? []) as Node[];
  for (const c of clusters) {
    walk(c, (n) => {
      const sa = n.socket_address as Node | undefined;
      if (sa) sa.port_value = opts.upstreamPort;
    });
  }
  return config;
}

/** The plugin configuration (parsed JSON) of the Wasm filter with `rootId` in a shipped example. */
export function exampleFilterConfig(name: string, rootId: string): object {
  const config = parse(readFileSync(exampleConfigPath(name), "utf8")) as Node;
  let found: object | undefined;
  walk(config, (n) => {
    const value = (n.configuration as Node | undefined)?.value;
    if (found === undefined && n.root_id === rootId && typeof value === "string") found = JSON.parse(value) as object;
  });
  if (found === undefined) throw new Error(`no ${rootId} configuration in envoy-configs/${name}`);
  return found;
}
