// The one way a config change comes in (Caddy's changeConfig): a text, from the file or built by
// the admin API, is loaded once, applied once and its outcome recorded here, and nowhere else.
// The file is the document of record. Everything that reads the file to change something (the
// watcher's reload, an API write) takes a turn: turns run one at a time, so no reload reads the
// file between an API write's apply and its rename, and no API write edits a text older than the
// last reload saw. The text last loaded is remembered, so the watcher waking on the API's own
// rename compares contents and stops there, loading nothing.
import { readFile } from "node:fs/promises";
import { formatConfigErrors, type ConfigError, type LoadResult } from "../config/index.js";
import type { ReferenceGraph } from "../config/references.js";
import type { LogFn } from "../log.js";
import type { GatewayModel } from "../model/types.js";
import { writeFileAtomic } from "../store/atomic-write.js";
import type { ResourceDiff } from "../store/types.js";
import { readCertificates } from "./certificates.js";
import { diffResources } from "./diff.js";
import type { ApplyOutcome, Candidate, Gateway } from "./gateway.js";

export type Loaded = { model: GatewayModel; modules: Map<string, Uint8Array> };

export interface ConfigSourceOptions {
  /** The gateway file. */
  path: string;
  /** Text → model, or every error located (the only place a text is judged). */
  load: (text: string) => Promise<LoadResult>;
  /** Puts a loaded config in force (Gateway.apply). */
  apply: (c: Candidate) => Promise<ApplyOutcome>;
  /** What putting a loaded config in force would change in Envoy (dry runs). */
  diff: (loaded: Loaded) => Promise<ResourceDiff>;
  log: LogFn;
  /** Every outcome recorded, accepted or not (metrics). */
  onOutcome?: (outcome: ApplyOutcome) => void;
  /** Every config about to be applied (the watcher follows the modules and certificates it names). */
  onLoaded?: (model: GatewayModel) => void;
}

/** apply and diff against a running Gateway. */
export function gatewayTarget(gateway: Gateway): Pick<ConfigSourceOptions, "apply" | "diff"> {
  return {
    apply: (c) => gateway.apply(c),
    diff: async ({ model, modules }) => diffResources(gateway.resources, gateway.translate(model, modules, await readCertificates(model))),
  };
}

export type Proposal =
  | { ok: true /** With dryRun. */; diff?: ResourceDiff }
  /** The loader refused it: nothing was applied or written. `references`: the text's graph (when it parsed). */
  | { ok: false; stage: "load"; errors: ConfigError[]; references?: ReferenceGraph }
  /** Loaded, but refused when applied (translation, certificates, snapshot checks): nothing was written. */
  | { ok: false; stage: "apply"; error: string };

/** A writer's exclusive use of the file (see ConfigSource.exclusive). */
export interface Turn {
  /** The file's text when the turn began ("" when there is no file yet). */
  readonly text: string;
  /** Loads `next` once; a dry run only diffs it, otherwise it is applied and, once accepted, written. */
  propose(next: string, origin: string, o?: { dryRun?: boolean }): Promise<Proposal>;
}

export class ConfigSource {
  readonly path: string;
  /** The outcome of the last attempt (file or API), accepted or not: /status `lastAttempt`. */
  last: ApplyOutcome | undefined;
  /** The file text last loaded (whatever came of it): a reload of the same text is skipped. */
  private loadedText: string | undefined;
  /** The config last accepted, to go back to when writing an accepted change fails. */
  private inForce: Loaded | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ConfigSourceOptions) {
    this.path = o.path;
  }

  /** The file's text now, outside any turn (reads: the rename makes every read whole). */
  async read(): Promise<string> {
    return (await this.readFile()) ?? "";
  }

  /** Loads a text and applies nothing (POST /validate, error reports). */
  check(text: string): Promise<LoadResult> {
    return this.o.load(text);
  }

  /** Loads the file and applies it, even if its text was loaded before (start-up). */
  reload(): Promise<ApplyOutcome> {
    return this.serial(async () => (await this.reloadFile(true))!);
  }

  /**
   * The watcher's entry: the file (or a file it names) changed. A config text identical to the
   * last one loaded (the admin API's own rename, a touch) is skipped without loading, unless a
   * module or certificate changed (`dependencies`). Resolves undefined when skipped.
   */
  filesChanged(o: { dependencies: boolean }): Promise<ApplyOutcome | undefined> {
    return this.serial(() => this.reloadFile(o.dependencies));
  }

  /**
   * Runs `fn` with the file to itself: no reload and no other writer reads, loads or writes the
   * file until it settles. `turn.propose` is the only way to change the config from inside.
   * (Do not call exclusive, reload or filesChanged from within `fn`: they wait for this turn.)
   */
  exclusive<T>(fn: (turn: Turn) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const text = await this.read();
      let open = true;
      const turn: Turn = {
        text,
        propose: (next, origin, o = {}) => {
          if (!open) throw new Error("propose() called after its turn ended");
          return this.propose(next, origin, o.dryRun ?? false);
        },
      };
      try {
        return await fn(turn);
      } finally {
        open = false;
      }
    });
  }

  // ---- internals -------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readFile(): Promise<string | undefined> {
    try {
      return await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  private async reloadFile(force: boolean): Promise<ApplyOutcome | undefined> {
    const origin = `file ${this.path}`;
    let text: string | undefined;
    let readError: string | undefined;
    try {
      text = await this.readFile();
      if (text === undefined) readError = "no such file";
    } catch (e) {
      readError = (e as Error).message;
    }
    if (text === undefined) {
      // A missing file is not an empty config: Envoys keep what they have.
      const error = formatConfigErrors([
        { source: this.path, path: "", line: 0, column: 0, message: `cannot read the config file: ${readError}` },
      ]);
      this.o.log("error", `config rejected; Envoys keep the last good config\n${error}`, { origin });
      return this.record({ ok: false, origin, at: new Date().toISOString(), error });
    }
    if (!force && text === this.loadedText) return undefined;
    const at = new Date().toISOString();
    const loaded = await this.o.load(text);
    this.loadedText = text;
    if (!loaded.ok) {
      const error = formatConfigErrors(loaded.errors);
      this.o.log("error", `config rejected; Envoys keep the last good config\n${error}`, { origin });
      return this.record({ ok: false, origin, at, error });
    }
    return this.applyLoaded(loaded, origin);
  }

  private async propose(next: string, origin: string, dryRun: boolean): Promise<Proposal> {
    const loaded = await this.o.load(next);
    if (!loaded.ok) return { ok: false, stage: "load", errors: loaded.errors, references: loaded.references };
    if (dryRun) return { ok: true, diff: await this.o.diff(loaded) };
    const previous = this.inForce;
    // Applied before it is written: a change the gateway refuses never touches the file, so
    // there is nothing to put back (and no rename for the watcher to wake on).
    const outcome = await this.applyLoaded(loaded, origin);
    if (!outcome.ok) return { ok: false, stage: "apply", error: outcome.error ?? "the change was refused" };
    try {
      await writeFileAtomic(this.path, next);
    } catch (e) {
      // Not on disk, so not in force either: disk and Envoys must agree.
      this.o.log("error", "an accepted change could not be written; the previous config is restored", {
        origin,
        error: (e as Error).message,
      });
      if (previous) await this.applyLoaded(previous, `${origin} (not written: previous config restored)`);
      throw e;
    }
    this.loadedText = next;
    return { ok: true };
  }

  private async applyLoaded(loaded: Loaded, origin: string): Promise<ApplyOutcome> {
    this.o.onLoaded?.(loaded.model);
    const outcome = await this.o.apply({ model: loaded.model, modules: loaded.modules, origin });
    if (outcome.ok) this.inForce = loaded;
    return this.record(outcome);
  }

  private record(outcome: ApplyOutcome): ApplyOutcome {
    this.last = outcome;
    this.o.onOutcome?.(outcome);
    return outcome;
  }
}
