export { globMatches } from "./glob";
export { PathMatcher, PathMatchKind, stripQuery } from "./path";
export { HeaderCondition, HeaderTest, RequestMatch, REQUEST_PATH } from "./request";
