// Reading the shared `match` object of filter rules, and header names, from a JSON config.
import { ConfigErrors, ObjectReader, indexPath, readStringArray } from "./reader";
import { HeaderCondition, HeaderTest, PathMatcher, PathMatchKind, QueryCondition, RequestMatch, ValueTest, compileRegex } from "../match";
import { Regex } from "../match/regex";
import { TemplateVar, VarKind } from "../template";
import { NAME_RULE, isConsumerName } from "./consumers";
import { kindName } from "../json";

/** Most names in one `consumers` or `consumer_groups` condition. */
const MAX_NAMES: i32 = 1024;

function isTokenChar(c: i32): bool {
  if (c >= 0x61 && c <= 0x7a) return true; // a-z (names are lowercased first)
  if (c >= 0x30 && c <= 0x39) return true;
  return "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) >= 0;
}

/** Lowercases and checks a header name; returns null after reporting when it is not usable. */
export function headerName(raw: string, path: string, errors: ConfigErrors): string | null {
  const name = raw.toLowerCase();
  if (name.length == 0 || name.length > 256) {
    errors.add(path, "header name must have 1 to 256 characters");
    return null;
  }
  const start = name.charCodeAt(0) == 0x3a ? 1 : 0;
  if (start == name.length) {
    errors.add(path, "invalid header name \"" + raw + "\"");
    return null;
  }
  for (let i = start; i < name.length; i++) {
    if (!isTokenChar(name.charCodeAt(i))) {
      errors.add(path, "invalid character in header name \"" + raw + "\"");
      return null;
    }
  }
  return name;
}

/** Compiles a `regex` member; reports (at the member) and returns null when it does not compile. */
function readRegex(r: ObjectReader, key: string, source: string): Regex | null {
  const c = compileRegex(source);
  if (c.regex === null) r.errors.add(r.at(key), "invalid regex: " + c.error);
  return c.regex;
}

function readPathMatch(m: ObjectReader): PathMatcher | null {
  const p = m.object("path");
  if (p === null) return null;
  const kinds = ["exact", "prefix", "suffix", "glob", "regex"];
  let found: PathMatcher | null = null;
  let count = 0;
  for (let i = 0; i < kinds.length; i++) {
    const s = p.optionalString(kinds[i], 1024);
    if (s === null) continue;
    count++;
    if (<PathMatchKind>i == PathMatchKind.Regex) {
      const re = readRegex(p, kinds[i], s);
      if (re !== null) found = PathMatcher.ofRegex(re);
      continue;
    }
    if ((i == 0 || i == 1 || i == 3) && !s.startsWith("/")) p.errors.add(p.at(kinds[i]), "must start with '/'");
    // As routes: Envoy refuses an empty suffix (it would match every path).
    if (<PathMatchKind>i == PathMatchKind.Suffix && s.length == 0) p.errors.add(p.at(kinds[i]), "must not be empty");
    found = new PathMatcher(<PathMatchKind>i, s);
  }
  p.finish();
  if (count != 1) {
    p.errors.add(p.path, "needs exactly one of exact, prefix, suffix, glob, regex");
    return null;
  }
  return found;
}

const TEST_NAMES = ["exact", "prefix", "suffix", "contains", "regex"];
const TEST_KINDS = [HeaderTest.Exact, HeaderTest.Prefix, HeaderTest.Suffix, HeaderTest.Contains, HeaderTest.Regex];

/**
 * Reads the test of one header or query condition: exactly one of present, exact, prefix,
 * suffix, contains, regex, and `invert`. Null when it is missing, ambiguous or invalid.
 */
class TestSpec {
  test: HeaderTest = HeaderTest.Present;
  value: string = "";
  regex: Regex | null = null;
  invert: bool = false;

  apply<T extends ValueTest>(t: T): T {
    t.regex = this.regex;
    t.invert = this.invert;
    return t;
  }
}

function readTest(c: ObjectReader): TestSpec | null {
  const spec = new TestSpec();
  let tests = 0;
  let valid = true;
  if (c.has("present")) {
    tests++;
    spec.test = c.bool("present", true) ? HeaderTest.Present : HeaderTest.Absent;
  }
  for (let k = 0; k < TEST_NAMES.length; k++) {
    const s = c.optionalString(TEST_NAMES[k]);
    if (s === null) continue;
    tests++;
    spec.test = TEST_KINDS[k];
    spec.value = s;
    // As routes (Envoy refuses them there): an empty prefix, suffix or contains matches any value.
    if (s.length == 0 && (spec.test == HeaderTest.Prefix || spec.test == HeaderTest.Suffix || spec.test == HeaderTest.Contains)) {
      c.errors.add(c.at(TEST_NAMES[k]), "must not be empty (to match any value, use present: true)");
      valid = false;
    }
    if (spec.test == HeaderTest.Regex) {
      if (s.length > 1024) {
        c.errors.add(c.at("regex"), "is longer than 1024 characters");
        valid = false;
      } else {
        spec.regex = readRegex(c, "regex", s);
        if (spec.regex === null) valid = false;
      }
    }
  }
  spec.invert = c.bool("invert", false);
  if (tests != 1) {
    c.errors.add(c.path, "needs exactly one of present, exact, prefix, suffix, contains, regex");
    return null;
  }
  return valid ? spec : null;
}

function readHeaderConditions(m: ObjectReader, out: HeaderCondition[]): void {
  const list = m.array("headers", false, 32);
  if (list === null) return;
  const base = m.at("headers");
  for (let i = 0; i < list.length; i++) {
    const c = ObjectReader.of(list.at(i), indexPath(base, i), m.errors);
    if (c === null) continue;
    const rawName = c.string("name", "", true, 256);
    const name = rawName.length ? headerName(rawName, c.at("name"), c.errors) : null;
    const spec = readTest(c);
    c.finish();
    if (name !== null && spec !== null) {
      out.push(spec.apply(new HeaderCondition(new TemplateVar(VarKind.RequestHeader, name, "request.header." + name), spec.test, spec.value)));
    }
  }
}

function readQueryConditions(m: ObjectReader, out: QueryCondition[]): void {
  const list = m.array("query", false, 32);
  if (list === null) return;
  const base = m.at("query");
  for (let i = 0; i < list.length; i++) {
    const c = ObjectReader.of(list.at(i), indexPath(base, i), m.errors);
    if (c === null) continue;
    // Names are compared as they appear in the request (case-sensitive, not percent-decoded).
    const name = c.string("name", "", true, 256);
    if (c.has("name") && name.length == 0) c.errors.add(c.at("name"), "must not be empty");
    const spec = readTest(c);
    c.finish();
    if (name.length > 0 && spec !== null) out.push(spec.apply(new QueryCondition(name, spec.test, spec.value)));
  }
}


/**
 * Methods as routes take them (config/schema-routes.ts): a token of letters, digits, "_" and "-"
 * starting with a letter, in any case, compared upper-cased, so `get` matches a GET request in a
 * filter rule exactly as it does in a route.
 */
function readMethods(raw: string[], path: string, errors: ConfigErrors): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i];
    let ok = m.length > 0;
    for (let j = 0; ok && j < m.length; j++) {
      const c = m.charCodeAt(j) | 0x20; // ASCII letters folded to lower case
      const letter = c >= 0x61 && c <= 0x7a;
      const other = j > 0 && ((m.charCodeAt(j) >= 0x30 && m.charCodeAt(j) <= 0x39) || m.charCodeAt(j) == 0x5f || m.charCodeAt(j) == 0x2d);
      ok = letter || other;
    }
    if (!ok) {
      errors.add(indexPath(path, i), "invalid HTTP method \"" + m + "\"");
      continue;
    }
    const upper = m.toUpperCase();
    if (!out.includes(upper)) out.push(upper);
  }
  return out;
}

/**
 * Consumer or group names of a match (`consumers`, `consumer_groups`): the gateway's name rule, so
 * a name that could never be set (an upper-case letter, a comma) is a config error, not a rule
 * that silently never matches.
 */
function readNames(m: ObjectReader, key: string, what: string): string[] {
  const list = m.array(key, false, MAX_NAMES);
  if (list === null) return [];
  if (list.length == 0) m.errors.add(m.at(key), "must not be empty (omit it to match any caller)");
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = list.at(i);
    const at = indexPath(m.at(key), i);
    if (!item.isString) m.errors.add(at, "must be a string, got " + kindName(item.kind));
    else if (item.str.length > 64) m.errors.add(at, "is longer than 64 characters");
    else if (!isConsumerName(item.str)) m.errors.add(at, "invalid " + what + " name \"" + item.str + "\": " + NAME_RULE);
    else if (!out.includes(item.str)) out.push(item.str);
  }
  return out;
}

/**
 * Reads `match: { path, methods, headers, query, routes, consumers, consumer_groups }`; a missing
 * match matches everything.
 */
export function readRequestMatch(parent: ObjectReader, key: string = "match"): RequestMatch {
  const match = new RequestMatch();
  const m = parent.object(key);
  if (m === null) return match;
  match.path = readPathMatch(m);
  const methods = m.array("methods", false, 16);
  if (methods !== null) match.methods = readMethods(readStringArray(methods, m.at("methods"), m.errors, 32), m.at("methods"), m.errors);
  const routes = m.array("routes", false, 256);
  if (routes !== null) match.routes = readStringArray(routes, m.at("routes"), m.errors, 256);
  match.consumers = readNames(m, "consumers", "consumer");
  match.consumerGroups = readNames(m, "consumer_groups", "group");
  readHeaderConditions(m, match.headers);
  readQueryConditions(m, match.query);
  m.finish();
  return match;
}
