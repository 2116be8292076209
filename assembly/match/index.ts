export { globMatches } from "./glob";
export { PathMatcher, PathMatchKind, stripQuery } from "./path";
export { HeaderCondition, HeaderTest, QueryCondition, RequestMatch, REQUEST_PATH, ValueTest, queryParam } from "./request";
export { Regex, RegexCompile, compileRegex } from "./regex";
