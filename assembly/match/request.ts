// Request conditions shared by the filters' rules: path (exact/prefix/suffix/glob/regex, query
// ignored), methods, headers and query parameters (present/absent/exact/prefix/suffix/contains/
// regex, each optionally inverted), Envoy route names, and the caller's identity an auth filter
// earlier in the chain left in filter state (consumer names, consumer groups: any of each). All
// present conditions must hold; an empty match matches every request. Values come through a TemplateSource, so matching runs the
// same against Envoy and against test fakes. Only the conditions a rule has cost host calls:
// `:path` is read (once per phase, cached by the source) only for a path or query condition, the
// identity only for a consumer or group condition (also cached by the source, so several rules
// naming groups cost one read).
import { PathMatcher } from "./path";
import { Regex } from "./regex";
import { TemplateSource, TemplateVar, VarKind } from "../template";
import { groupsStateHas } from "../runtime/consumer";

export enum HeaderTest {
  Present = 0,
  Absent = 1,
  Exact = 2,
  Prefix = 3,
  Suffix = 4,
  Contains = 5,
  /** RE2 syntax, the whole value must match. */
  Regex = 6,
}

/** One test on a value that may be absent (a header, a query parameter). */
export class ValueTest {
  /** For HeaderTest.Regex: the compiled pattern. */
  regex: Regex | null = null;
  /** Negates the whole test, absence included (Envoy's `invert_match`). */
  invert: bool = false;

  constructor(public readonly test: HeaderTest, public readonly value: string) {}

  check(v: string | null): bool {
    let r: bool;
    switch (this.test) {
      case HeaderTest.Present: r = v !== null; break;
      case HeaderTest.Absent: r = v === null; break;
      case HeaderTest.Exact: r = v !== null && v == this.value; break;
      case HeaderTest.Prefix: r = v !== null && v.startsWith(this.value); break;
      case HeaderTest.Suffix: r = v !== null && v.endsWith(this.value); break;
      case HeaderTest.Contains: r = v !== null && v.includes(this.value); break;
      default: r = v !== null && this.regex!.matches(v); break;
    }
    return r != this.invert;
  }
}

export class HeaderCondition extends ValueTest {
  constructor(public readonly header: TemplateVar, test: HeaderTest, value: string) {
    super(test, value);
  }

  matches(src: TemplateSource): bool {
    return this.check(src.resolve(this.header));
  }
}

/**
 * A condition on the first query parameter called `name`, as Envoy's route `query_parameters`
 * matcher sees it (Http::Utility::QueryParamsMulti::parseQueryString + getFirstValue): the
 * query is everything after the first '?', split on '&', name and value split at the first
 * '='; nothing is percent-decoded; `?flag` (no '=') is present with the empty value.
 */
export class QueryCondition extends ValueTest {
  constructor(public readonly name: string, test: HeaderTest, value: string) {
    super(test, value);
  }

  /** `query`: the query string without '?' ("" when the path has none; null when there is no :path). */
  matches(query: string | null): bool {
    return this.check(query === null ? null : queryParam(query, this.name));
  }
}

/** The raw value of the first parameter called `name` in `query` (no '?'), or null. */
export function queryParam(query: string, name: string): string | null {
  const n = query.length;
  const k = name.length;
  let start = 0;
  while (start < n) {
    let end = query.indexOf("&", start);
    if (end < 0) end = n;
    // Does this parameter's name (up to '=' or the end) equal `name`?
    if (end - start >= k && memEquals(query, start, name, k)) {
      const after = start + k;
      if (after == end) return "";
      if (query.charCodeAt(after) == 0x3d) return query.substring(after + 1, end); // '='
    }
    start = end + 1;
  }
  return null;
}

function memEquals(s: string, at: i32, t: string, len: i32): bool {
  return memory.compare(changetype<usize>(s) + (<usize>at << 1), changetype<usize>(t), <usize>len << 1) == 0;
}

const URL_PATH = new TemplateVar(VarKind.RequestUrlPath, "", "request.url_path");
const QUERY = new TemplateVar(VarKind.RequestQuery, "", "request.query");
const METHOD = new TemplateVar(VarKind.RequestMethod, "", "request.method");
const ROUTE = new TemplateVar(VarKind.RouteName, "", "route.name");
const CONSUMER = new TemplateVar(VarKind.ConsumerName, "", "consumer.name");
const CONSUMER_GROUPS = new TemplateVar(VarKind.ConsumerGroupsState, "", "consumer.groups");
export const REQUEST_PATH = new TemplateVar(VarKind.RequestPath, "", "request.path");

/** All conditions of a rule; an empty match matches every request. */
export class RequestMatch {
  path: PathMatcher | null = null;
  methods: string[] = [];
  headers: HeaderCondition[] = [];
  query: QueryCondition[] = [];
  routes: string[] = [];
  /** The caller must be one of these consumers (an unidentified caller is none of them). */
  consumers: string[] = [];
  /** The caller must be in at least one of these groups. */
  consumerGroups: string[] = [];

  matches(src: TemplateSource): bool {
    if (this.methods.length > 0) {
      const m = src.resolve(METHOD);
      if (m === null || !this.methods.includes(m)) return false;
    }
    const path = this.path;
    if (path !== null) {
      const p = src.resolve(path.onFullPath ? REQUEST_PATH : URL_PATH);
      if (p === null || !path.matches(p)) return false;
    }
    if (this.routes.length > 0) {
      const r = src.resolve(ROUTE);
      if (r === null || !this.routes.includes(r)) return false;
    }
    if (this.consumers.length > 0) {
      const c = src.resolve(CONSUMER);
      if (c === null || !this.consumers.includes(c)) return false;
    }
    if (this.consumerGroups.length > 0 && !inAnyGroup(src.resolve(CONSUMER_GROUPS), this.consumerGroups)) return false;
    for (let i = 0; i < this.headers.length; i++) {
      if (!this.headers[i].matches(src)) return false;
    }
    if (this.query.length > 0) {
      const q = src.resolve(QUERY);
      for (let i = 0; i < this.query.length; i++) {
        if (!this.query[i].matches(q)) return false;
      }
    }
    return true;
  }
}

/** Whether groups as stored (",a,b,", or null for an unidentified caller) hold any of `groups`. */
function inAnyGroup(state: string | null, groups: string[]): bool {
  if (state === null) return false;
  for (let i = 0; i < groups.length; i++) if (groupsStateHas(state, groups[i])) return true;
  return false;
}
