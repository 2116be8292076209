// Parses and validates the header-rewrite configuration (JSON) into policy objects.
// Every mistake is reported with the path of the field, all at once.
import { ConfigErrors, ConfigSource, ObjectReader, childPath, indexPath, readStringArray } from "../../assembly/config/reader";
import { headerName, readRequestMatch } from "../../assembly/config/match";
import { JsonValue, kindName } from "../../assembly/json";
import { PathMatcher, PathMatchKind } from "../../assembly/match";
import { Template, TemplateVar, VarKind, parseTemplate } from "../../assembly/template";
import { HeaderName } from "../../assembly/runtime/headers";
import {
  Actions, HeaderOp, MAX_RULES, isRequestScoped, OpKind, PathRewrite, PathRewriteKind, Rule,
} from "./policy";

export const MAX_CONFIG_BYTES: i32 = 256 * 1024;
const MAX_OPS: i32 = 64;
const MAX_TEMPLATE: i32 = 1024;

export class HeaderRewriteConfig {
  statPrefix: string = "";
  rules: Rule[] = [];
  /** Whether any rule has response actions (if not, the response phase is skipped). */
  hasResponseActions: bool = false;
}

// Connection-specific headers (RFC 9110 section 7.6.1) describe one hop and are rewritten by
// Envoy itself; `host` is `:authority` in Envoy; content-length must match the body.
const RESERVED = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "content-length"];

enum Use {
  Remove = 0,
  RenameFrom = 1,
  Write = 2, // set, set_if_absent, add, rename target
}

/** Whether this filter may touch `name` this way in this phase; reports why not. */
function allowedHeader(name: string, use: Use, isRequest: bool, writeIsSet: bool, path: string, errors: ConfigErrors): bool {
  if (name.startsWith(":")) {
    if (isRequest && use == Use.Write && writeIsSet && (name == ":path" || name == ":authority")) return true;
    errors.add(path, "pseudo-header " + name + " cannot be changed here (only `set` of :path or :authority on requests)");
    return false;
  }
  if (use != Use.Remove && RESERVED.includes(name)) {
    errors.add(path, name + " is a connection-level header and cannot be " + (use == Use.RenameFrom ? "renamed" : "set") + " by a filter");
    return false;
  }
  return true;
}

function compileTemplate(raw: string, isRequest: bool, path: string, errors: ConfigErrors): Template | null {
  if (raw.length > MAX_TEMPLATE) {
    errors.add(path, "value is longer than " + MAX_TEMPLATE.toString() + " characters");
    return null;
  }
  const parsed = parseTemplate(raw);
  if (parsed.template === null) {
    errors.add(path, parsed.error);
    return null;
  }
  const t = parsed.template as Template;
  const vars = t.variables();
  for (let i = 0; i < vars.length; i++) {
    if (isRequest && vars[i].kind == VarKind.ResponseHeader) {
      errors.add(path, "${" + vars[i].text + "} is only available in response actions");
      return null;
    }
  }
  for (let i = 0; i < t.segments.length; i++) {
    const lit = t.segments[i].literal;
    if (lit.includes("\n") || lit.includes("\r") || lit.includes("\0")) {
      errors.add(path, "value must not contain CR, LF or NUL");
      return null;
    }
  }
  return t;
}

/** Reads an object of header name -> value template (or, for `add`, a list of templates). */
function readValueOps(actions: ObjectReader, key: string, kind: OpKind, isRequest: bool, ops: HeaderOp[]): void {
  const obj = actions.object(key);
  if (obj === null) return;
  const v = obj.value;
  if (v.length > MAX_OPS) {
    actions.errors.add(obj.path, "at most " + MAX_OPS.toString() + " headers per action");
    return;
  }
  for (let i = 0; i < v.length; i++) {
    const rawName = v.keyAt(i);
    const itemPath = childPath(obj.path, rawName);
    obj.raw(rawName);
    const name = headerName(rawName, itemPath, obj.errors);
    if (name === null) continue;
    if (!allowedHeader(name, Use.Write, isRequest, kind == OpKind.Set, itemPath, obj.errors)) continue;
    const value = v.valueAt(i);
    if (value.isString) {
      const t = compileTemplate(value.str, isRequest, itemPath, obj.errors);
      if (t !== null) ops.push(new HeaderOp(kind, new HeaderName(name), null, t));
    } else if (value.isArray && kind == OpKind.Add) {
      for (let k = 0; k < value.length; k++) {
        const item = value.at(k);
        const p = indexPath(itemPath, k);
        if (!item.isString) {
          obj.errors.add(p, "must be a string, got " + kindName(item.kind));
          continue;
        }
        const t = compileTemplate(item.str, isRequest, p, obj.errors);
        if (t !== null) ops.push(new HeaderOp(kind, new HeaderName(name), null, t));
      }
    } else {
      obj.errors.add(itemPath, kind == OpKind.Add ? "must be a string or an array of strings" : "must be a string, got " + kindName(value.kind));
    }
  }
}

function readActions(rule: ObjectReader, key: string, isRequest: bool, pathMatch: PathMatcher | null): Actions | null {
  const a = rule.object(key);
  if (a === null) return null;
  const actions = new Actions();
  const ops = actions.ops;

  const remove = a.array("remove", false, MAX_OPS);
  if (remove !== null) {
    const names = readStringArray(remove, a.at("remove"), a.errors);
    for (let i = 0; i < names.length; i++) {
      const p = indexPath(a.at("remove"), i);
      const name = headerName(names[i], p, a.errors);
      if (name !== null && allowedHeader(name, Use.Remove, isRequest, false, p, a.errors)) {
        ops.push(new HeaderOp(OpKind.Remove, new HeaderName(name), null, null));
      }
    }
  }

  const rename = a.object("rename");
  if (rename !== null) {
    const v = rename.value;
    for (let i = 0; i < v.length; i++) {
      const rawFrom = v.keyAt(i);
      rename.raw(rawFrom);
      const p = childPath(rename.path, rawFrom);
      const to = v.valueAt(i);
      if (!to.isString) {
        a.errors.add(p, "must be the new header name (a string), got " + kindName(to.kind));
        continue;
      }
      const from = headerName(rawFrom, p, a.errors);
      const target = headerName(to.str, p, a.errors);
      if (from === null || target === null) continue;
      if (!allowedHeader(from, Use.RenameFrom, isRequest, false, p, a.errors)) continue;
      if (!allowedHeader(target, Use.Write, isRequest, false, p, a.errors)) continue;
      if (from == target) {
        a.errors.add(p, "renames a header to itself");
        continue;
      }
      ops.push(new HeaderOp(OpKind.Rename, new HeaderName(from), new HeaderName(target), null));
    }
  }

  readValueOps(a, "set", OpKind.Set, isRequest, ops);
  readValueOps(a, "set_if_absent", OpKind.SetIfAbsent, isRequest, ops);
  readValueOps(a, "add", OpKind.Add, isRequest, ops);

  if (isRequest) {
    const rw = a.object("rewrite_path");
    if (rw !== null) actions.pathRewrite = readPathRewrite(rw, pathMatch);
  }
  a.finish();
  return actions;
}

function readPathRewrite(rw: ObjectReader, pathMatch: PathMatcher | null): PathRewrite | null {
  const prefix = rw.optionalString("prefix", MAX_TEMPLATE);
  const template = rw.optionalString("template", MAX_TEMPLATE);
  rw.finish();
  if ((prefix === null) == (template === null)) {
    rw.errors.add(rw.path, "needs exactly one of `prefix` or `template`");
    return null;
  }
  if (prefix !== null) {
    if (pathMatch === null || pathMatch.kind != PathMatchKind.Prefix) {
      rw.errors.add(rw.at("prefix"), "a prefix rewrite needs the rule to match `path.prefix` (the part it replaces)");
      return null;
    }
    if (!prefix.startsWith("/")) {
      rw.errors.add(rw.at("prefix"), "must start with '/'");
      return null;
    }
    return new PathRewrite(PathRewriteKind.Prefix, pathMatch.pattern, prefix, null);
  }
  const t = compileTemplate(template as string, true, rw.at("template"), rw.errors);
  if (t === null) return null;
  if (t.segments[0].variable === null && !t.segments[0].literal.startsWith("/") ) {
    rw.errors.add(rw.at("template"), "must produce a path starting with '/'");
    return null;
  }
  return new PathRewrite(PathRewriteKind.Template, "", "", t);
}

function requestVarsOf(actions: Actions): TemplateVar[] {
  const out = new Array<TemplateVar>();
  for (let i = 0; i < actions.ops.length; i++) {
    const t = actions.ops[i].value;
    if (t === null) continue;
    const vars = t.variables();
    for (let k = 0; k < vars.length; k++) if (isRequestScoped(vars[k].kind)) out.push(vars[k]);
  }
  return out;
}

function readRule(v: JsonValue, path: string, errors: ConfigErrors): Rule | null {
  const r = ObjectReader.of(v, path, errors);
  if (r === null) return null;
  const rule = new Rule();
  rule.name = r.string("name", "", false, 128);
  rule.keepEmptyValue = r.bool("keep_empty_value", false);
  rule.match = readRequestMatch(r);
  rule.request = readActions(r, "request", true, rule.match.path);
  rule.response = readActions(r, "response", false, rule.match.path);
  if (rule.response !== null) rule.responseRequestVars = requestVarsOf(rule.response as Actions);
  r.finish();
  if (!r.has("request") && !r.has("response")) errors.add(path, "needs `request` or `response` actions");
  return rule;
}

/** Parses the plugin configuration; on failure `errors` says why and the result is null. */
export function parseHeaderRewriteConfig(source: ConfigSource, errors: ConfigErrors): HeaderRewriteConfig | null {
  const doc = source.document(MAX_CONFIG_BYTES, errors);
  if (doc === null) return null;
  const top = ObjectReader.of(doc, "", errors);
  if (top === null) return null;
  const cfg = new HeaderRewriteConfig();
  cfg.statPrefix = top.metricName("stat_prefix", "");
  const rules = top.array("rules", true, MAX_RULES);
  top.finish();
  if (rules !== null) {
    if (rules.length == 0) errors.add("rules", "must contain at least one rule");
    for (let i = 0; i < rules.length; i++) {
      const rule = readRule(rules.at(i), indexPath("rules", i), errors);
      if (rule === null) continue;
      cfg.rules.push(rule);
      if (rule.response !== null) cfg.hasResponseActions = true;
    }
  }
  return errors.empty ? cfg : null;
}
