// Portico plugins in one Wasm filter (issue #14): every Wasm filter in Envoy's chain costs a fixed
// price per request (its contexts and a call into its VM per callback), so a route's consecutive
// Portico plugins run as the members of one filter of the suite module (filters/suite) instead of
// one filter each. Here: which plugins may be members, how a route's enabled plugins group into
// filters, and the suite's configuration. Listeners place the suite slots, routes switch them on,
// index.ts sends their ECDS configs.
import type { GatewayModel, PluginModel, WasmPluginModel } from "../model/types.js";

/** The suite module: its file in the filters directory (`suite.wasm`), its root_id and its VM's name. */
export const SUITE_MODULE = "suite";

/** The filters the suite module can run (filters/suite/members.ts); never a user module or a native policy. */
export const SUITE_MEMBER_FILTERS: readonly string[] = ["jwt-auth", "key-auth", "basic-auth", "rate-limit", "header-rewrite"];

/** Most members in one suite filter: the module's MAX_PLUGINS (filters/suite/config.ts). A longer run is split. */
export const SUITE_MAX_MEMBERS = 16;

/**
 * The largest suite configuration the module reads: its MAX_CONFIG_BYTES (filters/suite/config.ts).
 * A run whose members' configs would not fit is split; each member alone fits (the largest
 * member config, key-auth's and basic-auth's, is at most 4 MiB).
 */
export const SUITE_MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export function isSuiteMember(p: PluginModel): p is WasmPluginModel {
  return p.kind === "wasm" && SUITE_MEMBER_FILTERS.includes(p.filter);
}

/** One filter of a route's chain: a plugin in its own slot, or two or more plugins in one suite slot. */
export type ChainStep = { kind: "plugin"; plugin: PluginModel } | { kind: "suite"; members: WasmPluginModel[] };

/**
 * A route's enabled plugins (chain order) as the filters that run them. With `inOneFilter`, each
 * run of two or more consecutive suite members becomes one suite step; a native policy, a user
 * module or a plugin in `alone` between them ends the run (it must keep its place between
 * them). A run is consecutive among this route's enabled plugins: no other plugin this route
 * enables lies between its members, which is why the suite slot can stand at its first member's
 * place in the listener's chain and the route still sees its filters in chain order.
 * A run holds at most one stateful plugin (STATEFUL_FILTERS): a second one starts the next run.
 * `entryBytes`: a member's bytes in the suite config (a plan measures each plugin once).
 */
export function chainSteps(
  plugins: PluginModel[],
  inOneFilter: boolean,
  alone: ReadonlySet<string> = NONE,
  entryBytes: (p: WasmPluginModel) => number = memberEntryBytes,
): ChainStep[] {
  const steps: ChainStep[] = [];
  let run: WasmPluginModel[] = [];
  let runBytes = 0;
  const endRun = () => {
    if (run.length === 1) steps.push({ kind: "plugin", plugin: run[0]! });
    else if (run.length > 1) steps.push({ kind: "suite", members: run });
    run = [];
    runBytes = 0;
  };
  for (const p of plugins) {
    if (!inOneFilter || !isSuiteMember(p) || alone.has(p.name)) {
      endRun();
      steps.push({ kind: "plugin", plugin: p });
      continue;
    }
    const bytes = entryBytes(p);
    const full = run.length === SUITE_MAX_MEMBERS || runBytes + bytes > SUITE_MAX_CONFIG_BYTES - SUITE_CONFIG_OVERHEAD;
    // Two stateful members of one suite share its plugin name: their buckets would meet.
    if (full || (isStateful(p) && run.some(isStateful))) endRun();
    run.push(p);
    runBytes += bytes;
  }
  endRun();
  return steps;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Suite filters whose state outlives a request in their VM: rate-limit's buckets live in the
 * VM's shared data (per vm_id) under the filter's plugin name (its Wasm config `name`), stat
 * prefix and rule name. In a suite slot the VM and the plugin name are the suite's, so (1) two
 * rate-limit plugins in one suite with the same stat prefix and rule names would count in the
 * same buckets, and (2) a rate-limit plugin that ran alone on one route and in a suite (or
 * another suite) on the next would count each route's requests in separate buckets.
 * chainSteps prevents (1), suitePlan (2).
 */
const STATEFUL_FILTERS: readonly string[] = ["rate-limit"];

function isStateful(p: WasmPluginModel): boolean {
  return STATEFUL_FILTERS.includes(p.filter);
}

/** `{"plugins":[]}`: the bytes of the suite configuration that are not a member's entry. */
const SUITE_CONFIG_OVERHEAD = '{"plugins":[]}'.length;

/** Bytes of a member's entry in the suite configuration (as suiteConfig writes it, its comma included). */
function memberEntryBytes(p: WasmPluginModel): number {
  return Buffer.byteLength(memberEntry({ ...p, config: "" })) + Buffer.byteLength(p.config) + 1;
}

function memberEntry(p: WasmPluginModel): string {
  // The member's config is the JSON text the model holds (serialised once, by the loader), embedded
  // as it is: the member reads exactly what it would read as a filter of its own.
  return `{"filter":${JSON.stringify(p.filter)},"config":${p.config}}`;
}

/** The suite module's configuration: the members in chain order, each with its own config. */
export function suiteConfig(members: WasmPluginModel[]): string {
  return `{"plugins":[${members.map(memberEntry).join(",")}]}`;
}

/** Does the gateway run consecutive Portico plugins in one filter (`plugins_in_one_filter`, with the suite module loaded)? */
export function runsInOneFilter(model: GatewayModel): boolean {
  return model.suite !== null;
}

/** The global plugins, in chain order: what the no-route route enables. */
export function globalPluginNames(model: GatewayModel): string[] {
  return model.plugins.filter((p) => p.global).map((p) => p.name);
}

/** How a model's routes run their plugins: built once per translation, asked per route and listener. */
export interface SuitePlan {
  /** A route's enabled plugins (by name, chain order) as the filters that run them. */
  steps(names: string[]): ChainStep[];
  /**
   * Every suite run some route on `listener` (or its no-route route, with the global plugins)
   * enables, once each, in the order first met; `listener` undefined: on any listener.
   */
  runs(listener?: string): WasmPluginModel[][];
}

/** The plan of `model`; `inOneFilter` false (by default: no suite module in the model): no suites. */
export function suitePlan(model: GatewayModel, inOneFilter = runsInOneFilter(model)): SuitePlan {
  const plugins = new Map(model.plugins.map((p) => [p.name, p]));
  const byNames = (names: string[]) =>
    names.map((n) => {
      const p = plugins.get(n);
      if (!p) throw new Error(`internal: a route enables unknown plugin ${n}`);
      return p;
    });
  const sizes = new Map<string, number>();
  const entryBytes = (p: WasmPluginModel) => {
    let size = sizes.get(p.name);
    if (size === undefined) {
      size = memberEntryBytes(p);
      sizes.set(p.name, size);
    }
    return size;
  };
  const stepsOf = (names: string[], alone: ReadonlySet<string>) => chainSteps(byNames(names), inOneFilter, alone, entryBytes);
  const alone = inOneFilter ? alonePlugins(model, (names, without) => stepsOf(names, without)) : NONE;
  // Many routes enable the same plugins: each list is grouped once.
  const known = new Map<string, ChainStep[]>();
  const steps = (names: string[]) => {
    const key = names.join(",");
    let found = known.get(key);
    if (found === undefined) {
      found = stepsOf(names, alone);
      known.set(key, found);
    }
    return found;
  };
  return {
    steps,
    runs(listener) {
      if (!inOneFilter) return [];
      const runs = new Map<string, WasmPluginModel[]>();
      for (const names of enabledLists(model, listener))
        for (const step of steps(names)) if (step.kind === "suite") runs.set(step.members.map((m) => m.name).join(","), step.members);
      return [...runs.values()];
    },
  };
}

/**
 * Would `plugins_in_one_filter` run some plugins in one filter in this model (which then needs
 * the suite module)? The loader asks before it reads the module.
 */
export function hasSuiteRuns(model: GatewayModel): boolean {
  return suitePlan(model, true).runs().length > 0;
}

/**
 * The plugins that keep their own filter everywhere: a stateful plugin (STATEFUL_FILTERS) that
 * the routes would otherwise run in more than one filter (its own slot, one suite slot or
 * another), so it keeps one set of buckets, as a plugin in its own filter always has. Taking a
 * plugin out of runs changes other runs, so this repeats until nothing changes (each round only
 * adds plugins, so it ends). Over every listener: a VM and its shared data serve every listener.
 */
function alonePlugins(model: GatewayModel, stepsOf: (names: string[], alone: ReadonlySet<string>) => ChainStep[]): ReadonlySet<string> {
  const alone = new Set<string>();
  for (;;) {
    const slots = new Map<string, Set<string>>();
    for (const names of enabledLists(model))
      for (const step of stepsOf(names, alone)) {
        const members = step.kind === "suite" ? step.members : [step.plugin];
        const slot = members.map((m) => m.name).join(",");
        for (const m of members) slots.set(m.name, (slots.get(m.name) ?? new Set()).add(slot));
      }
    const more = model.plugins.filter(
      (p) => p.kind === "wasm" && isStateful(p) && !alone.has(p.name) && (slots.get(p.name)?.size ?? 0) > 1,
    );
    if (more.length === 0) return alone;
    for (const p of more) alone.add(p.name);
  }
}

/** What the routes on `listener` enable (any listener: undefined) and the no-route route (the global plugins), each list once. */
function enabledLists(model: GatewayModel, listener?: string): string[][] {
  const lists = new Map<string, string[]>();
  const add = (names: string[]) => lists.set(names.join(","), names);
  add(globalPluginNames(model));
  for (const r of model.routes) if (listener === undefined || r.listeners.includes(listener)) add(r.plugins);
  return [...lists.values()];
}
