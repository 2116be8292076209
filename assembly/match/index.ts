export { globMatches } from "./glob";
export { PathMatcher, PathMatchKind, stripQuery } from "./path";
