// Request-path conditions. They see the path without its query string, as Envoy's route
// matching does.
import { globMatches } from "./glob";
import { Regex } from "./regex";

export enum PathMatchKind {
  Exact = 0,
  Prefix = 1,
  Suffix = 2,
  Glob = 3,
  /** RE2 syntax, the whole path must match (assembly/match/regex.ts). */
  Regex = 4,
}

export class PathMatcher {
  /** For PathMatchKind.Regex: the compiled pattern. */
  regex: Regex | null = null;
  /**
   * Whether the full `:path` (query included) can be matched instead of its path part, with the
   * same answer: a prefix without '?' or '#' starts the path part exactly when it starts the full
   * path (the path part is the full path up to the first of them). It spares a stripped copy.
   */
  readonly onFullPath: bool;

  constructor(public readonly kind: PathMatchKind, public readonly pattern: string) {
    this.onFullPath = kind == PathMatchKind.Prefix && !pattern.includes("?") && !pattern.includes("#");
  }

  static ofRegex(regex: Regex): PathMatcher {
    const m = new PathMatcher(PathMatchKind.Regex, regex.pattern);
    m.regex = regex;
    return m;
  }

  matches(path: string): bool {
    switch (this.kind) {
      case PathMatchKind.Exact: return path == this.pattern;
      case PathMatchKind.Prefix: return path.startsWith(this.pattern);
      case PathMatchKind.Suffix: return path.endsWith(this.pattern);
      case PathMatchKind.Glob: return globMatches(this.pattern, path);
      default: return this.regex!.matches(path);
    }
  }
}

/** The path part of a `:path` value (no `?query`, no `#fragment`). */
export function stripQuery(path: string): string {
  const q = path.indexOf("?");
  const h = path.indexOf("#");
  let end = path.length;
  if (q >= 0) end = q;
  if (h >= 0 && h < end) end = h;
  return end == path.length ? path : path.substring(0, end);
}
