// Located configuration errors: what the loader returns instead of a model, and how they print.

export interface ConfigError {
  /** The config file's name as the user gave it. */
  source: string;
  /** Where in the document, e.g. "routes[2].upstream"; "" for the document itself. */
  path: string;
  /** 1-based; 0 when the error has no place in the text (the file could not be read). */
  line: number;
  column: number;
  message: string;
}

/** An error found before it is placed in the text: a path into the parsed document. */
export interface Problem {
  path: readonly PropertyKey[];
  message: string;
  /** Point at the key of the last path segment instead of its value (unknown keys). */
  at?: "key";
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** ["routes", 2, "upstream"] → "routes[2].upstream" (keys that are not identifiers are quoted). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const key = String(segment);
      if (PLAIN_KEY.test(key)) out += out === "" ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

const SEGMENT = /(?:^|\.)([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/** formatPath read back: "providers[0].remote_jwks.cluster" → ["providers", 0, "remote_jwks", "cluster"]; undefined if it is not a path. */
export function parsePath(text: string): PropertyKey[] | undefined {
  const path: PropertyKey[] = [];
  for (let at = 0; at < text.length; at = SEGMENT.lastIndex) {
    SEGMENT.lastIndex = at;
    const m = SEGMENT.exec(text);
    if (!m) return undefined;
    path.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  }
  return path;
}

/** One line per error, compiler style: `gateway.yaml:14:5: routes[2].upstream: no upstream named "ech0"`. */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors
    .map((e) => {
      const where = e.line > 0 ? `${e.source}:${e.line}:${e.column}` : e.source;
      return e.path === "" ? `${where}: ${e.message}` : `${where}: ${e.path}: ${e.message}`;
    })
    .join("\n");
}

/** Errors in reading order, so the first one printed is the first one in the file. */
export function sortErrors(errors: ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The most errors a refusal lists (a 50,000-item list of wrong values would make 50,000). */
export const MAX_ERRORS = 100;

/** The first MAX_ERRORS errors in reading order, and one more saying how many were left out. */
export function boundErrors(errors: ConfigError[]): ConfigError[] {
  const sorted = sortErrors(errors).map((e) => ({ ...e, message: boundMessage(e.message) }));
  if (sorted.length <= MAX_ERRORS) return sorted;
  const next = sorted[MAX_ERRORS]!;
  const more = sorted.length - MAX_ERRORS;
  return [
    ...sorted.slice(0, MAX_ERRORS),
    { ...next, path: "", message: `${more} more error${more === 1 ? "" : "s"} from here on (only the first ${MAX_ERRORS} are listed)` },
  ];
}

/** The most characters of a value an error message quotes (a value may be megabytes long). */
export const MAX_QUOTED = 80;
/** The longest error message, whatever it is made of. */
export const MAX_MESSAGE = 500;

const LONG_QUOTED = new RegExp(`"((?:[^"\\\\]|\\\\.){${MAX_QUOTED + 1},})"`, "g");

/**
 * A message with every quoted value longer than MAX_QUOTED characters shortened (its start, "…",
 * its length), and the whole cut at MAX_MESSAGE: messages quote what the user wrote, and what a
 * user (or a fuzzer) wrote can be a 300 KB string, which no log line or API answer should repeat.
 */
export function boundMessage(message: string): string {
  const short = message.replace(LONG_QUOTED, (_, inner: string) => `"${inner.slice(0, MAX_QUOTED)}…" (${inner.length} characters)`);
  return short.length <= MAX_MESSAGE ? short : `${short.slice(0, MAX_MESSAGE)}…`;
}
