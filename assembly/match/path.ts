// Request-path conditions. They see the path without its query string, as Envoy's route
// matching does.
import { globMatches } from "./glob";

export enum PathMatchKind {
  Exact = 0,
  Prefix = 1,
  Suffix = 2,
  Glob = 3,
}

export class PathMatcher {
  constructor(public readonly kind: PathMatchKind, public readonly pattern: string) {}

  matches(path: string): bool {
    switch (this.kind) {
      case PathMatchKind.Exact: return path == this.pattern;
      case PathMatchKind.Prefix: return path.startsWith(this.pattern);
      case PathMatchKind.Suffix: return path.endsWith(this.pattern);
      default: return globMatches(this.pattern, path);
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
