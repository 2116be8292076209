// File mode: the gateway follows a YAML file. Every save (and every change to a module or
// certificate the config names) is handed to the ConfigSource after a short quiet window, which
// loads and applies it; a save that does not validate is reported and ignored there, so Envoys
// keep the last good config. The watcher itself reads nothing: it only says what changed.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { LogFn } from "../log.js";
import type { GatewayModel } from "../model/types.js";
import { certificatePaths } from "./certificates.js";
import { Debouncer, type DebouncerOptions } from "./debounce.js";

export interface ConfigFileWatcherOptions {
  /** The gateway file. */
  path: string;
  /** After a burst of changes: `dependencies` when a module or certificate (not only the YAML) changed. */
  onChange: (o: { dependencies: boolean }) => Promise<unknown>;
  log: LogFn;
  debounce?: DebouncerOptions;
}

export class ConfigFileWatcher {
  private watchers = new Map<string, FSWatcher>();
  private watched = new Set<string>();
  private readonly debouncer: Debouncer;
  private readonly path: string;
  /** A file other than the YAML changed in the burst being collected. */
  private dependencyChanged = false;

  constructor(private readonly o: ConfigFileWatcherOptions) {
    this.path = resolve(o.path);
    this.debouncer = new Debouncer(async () => {
      const dependencies = this.dependencyChanged;
      this.dependencyChanged = false;
      await this.o.onChange({ dependencies });
    }, o.debounce ?? { quietMs: 150, maxDelayMs: 1000 });
  }

  /** Starts watching the gateway file. */
  start(): void {
    this.watchPaths([this.path]);
  }

  /** Also watches the files `model` names (modules and certificates): their content is config too. */
  follow(model: GatewayModel): void {
    this.watchPaths([
      ...model.plugins.flatMap((p) => (p.kind === "wasm" ? [p.module.path] : [])),
      ...(model.suite ? [model.suite.module.path] : []),
      ...certificatePaths(model),
    ]);
  }

  stop(): void {
    this.debouncer.stop();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
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
        if (!name) return;
        const changed = [...this.watched].find((p) => dirname(p) === dir && basename(p) === name.toString());
        if (!changed) return;
        if (changed !== this.path) this.dependencyChanged = true;
        this.debouncer.trigger();
      });
      w.on("error", (e) => this.o.log("warn", "file watch failed", { dir, error: String(e) }));
      this.watchers.set(dir, w);
    }
  }
}
