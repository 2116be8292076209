// File mode: the gateway follows a YAML file. Every save (and every change to a module or
// certificate the config names) reloads it after a short quiet window; a save that does not
// validate is reported and ignored, so Envoys keep the last good config.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { formatConfigErrors, loadGatewayFile, type PluginChecker } from "../config/index.js";
import type { LogFn } from "../log.js";
import type { GatewayModel } from "../model/types.js";
import { certificatePaths } from "./certificates.js";
import { Debouncer, type DebouncerOptions } from "./debounce.js";
import type { ApplyOutcome, Gateway } from "./gateway.js";

export interface FileSourceOptions {
  path: string;
  filtersDir: string;
  checkPlugin?: PluginChecker;
  gateway: Gateway;
  log: LogFn;
  debounce?: DebouncerOptions;
  /** Every reload's outcome, accepted or not (metrics). */
  onOutcome?: (outcome: ApplyOutcome) => void;
}

export class FileConfigSource {
  private watchers = new Map<string, FSWatcher>();
  private watched = new Set<string>();
  private readonly debouncer: Debouncer;
  private readonly path: string;
  /** Outcome of the last reload attempt, including validation failures. */
  last: ApplyOutcome | undefined;

  constructor(private readonly o: FileSourceOptions) {
    this.path = resolve(o.path);
    this.debouncer = new Debouncer(async () => { await this.reload(); }, o.debounce ?? { quietMs: 150, maxDelayMs: 1000 });
  }

  /** Loads and applies the file once; resolves with the outcome (start-up fails on a bad file). */
  async start(): Promise<ApplyOutcome> {
    const outcome = await this.reload();
    this.watchPaths([this.path]);
    return outcome;
  }

  stop(): void {
    this.debouncer.stop();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Loads the file now and applies it if it validates. */
  async reload(): Promise<ApplyOutcome> {
    const at = new Date().toISOString();
    const origin = `file ${this.o.path}`;
    const loaded = await loadGatewayFile(this.path, { filtersDir: this.o.filtersDir, checkPlugin: this.o.checkPlugin });
    if (!loaded.ok) {
      const error = formatConfigErrors(loaded.errors);
      this.o.log("error", `config rejected; Envoys keep the last good config\n${error}`, { origin });
      return this.report({ ok: false, origin, at, error });
    }
    this.watchPaths(dependencies(loaded.model));
    return this.report(await this.o.gateway.apply({ model: loaded.model, modules: loaded.modules, origin }));
  }

  private report(outcome: ApplyOutcome): ApplyOutcome {
    this.last = outcome;
    this.o.onOutcome?.(outcome);
    return outcome;
  }

  /**
   * Watches directories, not files: editors and `mv`-style rotations replace a file, which
   * ends a watch on the file itself.
   */
  private watchPaths(paths: string[]): void {
    for (const p of paths) this.watched.add(resolve(p));
    for (const dir of new Set([...this.watched].map((p) => dirname(p)))) {
      if (this.watchers.has(dir)) continue;
      const w = watch(dir, (_event, name) => {
        if (name && [...this.watched].some((p) => dirname(p) === dir && basename(p) === name.toString())) this.debouncer.trigger();
      });
      w.on("error", (e) => this.o.log("warn", "file watch failed", { dir, error: String(e) }));
      this.watchers.set(dir, w);
    }
  }
}

/** Files whose content is part of the config: the YAML itself, modules and certificates. */
function dependencies(model: GatewayModel): string[] {
  return [...model.plugins.map((p) => p.module.path), ...certificatePaths(model)];
}
