// The loader: text → YAML document → shape → relations → files → plugin configs → references → model.
// Every stage runs even when an earlier one found problems (on the items that passed), so a user
// sees all errors in one go.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter } from "yaml";
import type { GatewayModel } from "../model/types.js";
import { type ConfigError, type Problem, boundErrors } from "./errors.js";
import { checkCertificateFiles, checkUpstreamCaFiles, loadModules, loadSuiteModule } from "./files.js";
import { locate, positionAt } from "./locate.js";
import { parseDocumentBounded } from "./nesting.js";
import { type PluginChecker, checkPluginConfigs } from "./plugin-check.js";
import { type ReferenceGraph, referenceGraph } from "./references.js";
import { checkRelations } from "./relations.js";
import { checkShape } from "./shape.js";
import { toModel } from "./to-model.js";
import { authPluginConfig, claimsMatchedByAcls } from "../translate/consumers.js";
import { RATE_LIMIT_CLUSTER } from "../translate/common.js";
import { RATE_LIMIT_FILTER, withGatewayGlobal } from "../translate/rate-limit-service.js";
import { hasSuiteRuns } from "../translate/suite.js";
import { PLUGINS_IN_ONE_FILTER_KEY } from "./schema-plugins.js";
import type { ParsedSections } from "./shape.js";

export interface LoadOptions {
  /** Name of the config in error messages (usually the file name as the user gave it). */
  source: string;
  /** Directory that relative certificate and module paths start from (the config file's). */
  baseDir: string;
  /** Where the suite filters' .wasm files are; `filter: X` means `<filtersDir>/X.wasm` (and the suite module is suite.wasm). */
  filtersDir: string;
  /** Judges each plugin's config by running the filter's configure step; skipped when absent. */
  checkPlugin?: PluginChecker;
}

export type LoadResult =
  | {
      ok: true;
      model: GatewayModel;
      /** Module bytes by sha256, for the module server. */
      modules: Map<string, Uint8Array>;
      /** Who refers to whom (for DELETE: what still uses an item). */
      references: ReferenceGraph;
    }
  | {
      ok: false;
      errors: ConfigError[];
      /** Present when the text parsed: the references of the items as written. */
      references?: ReferenceGraph;
    };

export async function loadGatewayConfig(text: string, opts: LoadOptions): Promise<LoadResult> {
  const lineCounter = new LineCounter();
  // YAML 1.2 (so `on:` and `no` stay strings) with merge keys, which config authors use for shared blocks.
  // Bounded: a document nesting too deep (in its text or through aliases) is refused, located,
  // before anything recursive reads it.
  const parsed = parseDocumentBounded(text, { lineCounter, prettyErrors: false, merge: true });
  if (!parsed.ok) {
    return {
      ok: false,
      errors: [{ source: opts.source, path: "", ...positionAt(lineCounter, parsed.problem.offset), message: parsed.problem.message }],
    };
  }
  const { doc } = parsed;
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => ({ source: opts.source, path: "", ...positionAt(lineCounter, e.pos[0]), message: e.message }));
    return refused(errors);
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // e.g. too many alias expansions ("billion laughs"): no node to point at but the document.
    return refused([{ source: opts.source, path: "", line: 1, column: 1, message: (error as Error).message }]);
  }

  const checked = checkShape(document);
  // Auth filters are configured with the gateway's consumers (and jwt-auth with the claims ACLs
  // match) before their configs are checked: the filter judges the config it will really get.
  // Global rate limits get the gateway's rate limit service cluster and domain the same way.
  const rateLimit = withRateLimitService(withConsumers(checked.sections));
  const shape = { ...checked, sections: { ...checked.sections, plugins: rateLimit.plugins } };
  const problems: Problem[] = [...shape.problems, ...rateLimit.problems, ...checkRelations(shape)];
  problems.push(...(await checkCertificateFiles(shape.written.listeners, opts.baseDir)));
  problems.push(...(await checkUpstreamCaFiles(shape.written.upstreams, opts.baseDir)));
  const loaded = await loadModules(shape.written.plugins, opts);
  problems.push(...loaded.problems);
  // Without a checker the clusters plugins call are unknown: they are simply not in the graph.
  const plugins = opts.checkPlugin
    ? await checkPluginConfigs(shape.sections.plugins, loaded.modules, opts.checkPlugin)
    : { problems: [], references: [] };
  problems.push(...plugins.problems);
  // The rate limit service's cluster is the gateway's own (declared by translate), not an upstream.
  const references = referenceGraph(
    shape.written,
    plugins.references.filter((r) => !(r.name === RATE_LIMIT_CLUSTER && rateLimit.callers.has(r.from.index))),
  );
  problems.push(...references.unknownReferences());

  if (problems.length > 0)
    return refused(
      problems.map((p) => locate(doc, lineCounter, opts.source, p)),
      references,
    );

  const modules = new Map<string, Uint8Array>();
  for (const module of loaded.modules.values()) modules.set(module.sha256, module.bytes);
  const model = toModel(shape.sections, loaded.modules, opts.baseDir, shape.rateLimitService);
  // The suite module is read only when some plugins would run in it: a config without such a
  // route loads from a filters directory without suite.wasm.
  if (shape.pluginsInOneFilter && hasSuiteRuns(model)) {
    const suite = await loadSuiteModule(opts.filtersDir);
    if (typeof suite === "string") {
      const message = `${suite}: the suite module runs a route's consecutive Portico plugins in one filter (set ${PLUGINS_IN_ONE_FILTER_KEY}: false to run each as its own filter)`;
      return refused([locate(doc, lineCounter, opts.source, { path: [PLUGINS_IN_ONE_FILTER_KEY], message })], references);
    }
    modules.set(suite.sha256, suite.bytes);
    model.suite = { module: { sha256: suite.sha256, path: suite.path, size: suite.bytes.byteLength } };
  }
  return { ok: true, model, modules, references };
}

function withConsumers(sections: ParsedSections): ParsedSections["plugins"] {
  const consumers = sections.consumers.map((c) => c.value);
  const claims = claimsMatchedByAcls(sections.plugins.map((p) => p.value));
  return sections.plugins.map(({ index, value }) =>
    value.kind === "wasm" && value.filter !== undefined
      ? { index, value: { ...value, config: authPluginConfig(value.filter, value.config, consumers, claims) } }
      : { index, value },
  );
}

/** Rate-limit plugins with global rules, configured with the gateway's service cluster and domain. */
function withRateLimitService(plugins: ParsedSections["plugins"]): {
  plugins: ParsedSections["plugins"];
  problems: Problem[];
  /** Indexes of the plugins that call the service. */
  callers: Set<number>;
} {
  const problems: Problem[] = [];
  const callers = new Set<number>();
  const out = plugins.map(({ index, value }) => {
    if (value.kind !== "wasm" || value.filter !== RATE_LIMIT_FILTER) return { index, value };
    const r = withGatewayGlobal(value.name, value.config);
    if (r.config !== value.config) callers.add(index);
    problems.push(...r.problems.map((p) => ({ path: ["plugins", index, "config", ...p.path], message: p.message })));
    return { index, value: { ...value, config: r.config } };
  });
  return { plugins: out, problems, callers };
}

/** The errors in reading order, bounded in number and size (see boundErrors). */
function refused(errors: ConfigError[], references?: ReferenceGraph): LoadResult {
  const bounded = boundErrors(errors);
  return references ? { ok: false, errors: bounded, references } : { ok: false, errors: bounded };
}

/** Loads a config file; relative paths in it start from its directory. */
export async function loadGatewayFile(path: string, opts: Omit<LoadOptions, "source" | "baseDir">): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const message = `cannot read the config file: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`;
    return { ok: false, errors: [{ source: path, path: "", line: 0, column: 0, message }] };
  }
  return loadGatewayConfig(text, { ...opts, source: path, baseDir: dirname(resolve(path)) });
}
