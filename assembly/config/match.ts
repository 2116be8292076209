// Reading the shared `match` object of filter rules, and header names, from a JSON config.
import { ConfigErrors, ObjectReader, indexPath, readStringArray } from "./reader";
import { HeaderCondition, HeaderTest, PathMatcher, PathMatchKind, RequestMatch } from "../match";
import { TemplateVar, VarKind } from "../template";

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

function readPathMatch(m: ObjectReader): PathMatcher | null {
  const p = m.object("path");
  if (p === null) return null;
  const kinds = ["exact", "prefix", "suffix", "glob"];
  let found: PathMatcher | null = null;
  let count = 0;
  for (let i = 0; i < kinds.length; i++) {
    const s = p.optionalString(kinds[i], 1024);
    if (s === null) continue;
    count++;
    if ((i == 0 || i == 1 || i == 3) && !s.startsWith("/")) p.errors.add(p.at(kinds[i]), "must start with '/'");
    found = new PathMatcher(<PathMatchKind>i, s);
  }
  p.finish();
  if (count != 1) {
    p.errors.add(p.path, "needs exactly one of exact, prefix, suffix, glob");
    return null;
  }
  return found;
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
    let test = HeaderTest.Present;
    let value = "";
    let tests = 0;
    if (c.has("present")) {
      tests++;
      test = c.bool("present", true) ? HeaderTest.Present : HeaderTest.Absent;
    }
    const names = ["exact", "prefix", "suffix", "contains"];
    const kinds = [HeaderTest.Exact, HeaderTest.Prefix, HeaderTest.Suffix, HeaderTest.Contains];
    for (let k = 0; k < names.length; k++) {
      const s = c.optionalString(names[k]);
      if (s === null) continue;
      tests++;
      test = kinds[k];
      value = s;
    }
    c.finish();
    if (tests != 1) c.errors.add(c.path, "needs exactly one of present, exact, prefix, suffix, contains");
    if (name !== null && tests == 1) {
      out.push(new HeaderCondition(new TemplateVar(VarKind.RequestHeader, name, "request.header." + name), test, value));
    }
  }
}


/** Reads `match: { path, methods, headers, routes }`; a missing match matches everything. */
export function readRequestMatch(parent: ObjectReader, key: string = "match"): RequestMatch {
  const match = new RequestMatch();
  const m = parent.object(key);
  if (m === null) return match;
  match.path = readPathMatch(m);
  const methods = m.array("methods", false, 16);
  if (methods !== null) match.methods = readStringArray(methods, m.at("methods"), m.errors, 32);
  const routes = m.array("routes", false, 256);
  if (routes !== null) match.routes = readStringArray(routes, m.at("routes"), m.errors, 256);
  readHeaderConditions(m, match.headers);
  m.finish();
  return match;
}
