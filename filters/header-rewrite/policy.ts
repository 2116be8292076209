// Header-rewrite decisions, free of host calls: which rules match a request, and which header
// mutations a phase performs. Everything the policy reads comes through a TemplateSource and
// everything it changes goes through a HeaderWriter, so it runs the same in Envoy and in tests.
import { REQUEST_PATH, RequestMatch } from "../../assembly/match";
import { HeaderName } from "../../assembly/runtime/headers";
import { Template, TemplateSource, TemplateVar, VarKind } from "../../assembly/template";

export const MAX_RULES: i32 = 64; // matched rules are kept in one u64 per stream
export const MAX_VALUE_BYTES: i32 = 8192;

export enum OpKind {
  Remove = 0,
  Rename = 1,
  Set = 2,
  SetIfAbsent = 3,
  Add = 4,
}

/** One configured header action. `value` is null for remove and rename; `target` is rename's new name. */
export class HeaderOp {
  /** Whether the op changes what Envoy routes on. */
  readonly reroutes: bool;

  constructor(
    public readonly kind: OpKind,
    public readonly name: HeaderName,
    public readonly target: HeaderName | null,
    public readonly value: Template | null,
  ) {
    this.reroutes = name.text == ":path" || name.text == ":authority";
  }
}

/** The op a path rewrite turns into. */
const SET_PATH = new HeaderOp(OpKind.Set, new HeaderName(":path"), null, null);

export enum PathRewriteKind {
  Prefix = 0,
  Template = 1,
}

export class PathRewrite {
  constructor(
    public readonly kind: PathRewriteKind,
    /** For Prefix: the matched prefix that is replaced. */
    public readonly matchedPrefix: string,
    public readonly replacement: string,
    public readonly template: Template | null,
  ) {}
}

export class Actions {
  ops: HeaderOp[] = [];
  pathRewrite: PathRewrite | null = null;
}

export class Rule {
  name: string = "";
  match: RequestMatch = new RequestMatch();
  request: Actions | null = null;
  response: Actions | null = null;
  keepEmptyValue: bool = false;
  /** Request-scoped variables that this rule's response actions read (see RequestSnapshot). */
  responseRequestVars: TemplateVar[] = [];
}

/** Variables read from the request header map. */
export function isRequestScoped(kind: VarKind): bool {
  return kind <= VarKind.RequestId && kind != VarKind.ResponseHeader;
}

/**
 * Request values that response actions need, captured during the request phase: Envoy stops
 * exposing the request header map to a Wasm filter once its request-headers callback returns
 * Continue, so `${request.header.x}` in a response action must be read before that.
 */
export class RequestSnapshot implements TemplateSource {
  vars: TemplateVar[] = [];
  values: Array<string | null> = [];

  resolve(v: TemplateVar): string | null {
    for (let i = 0; i < this.vars.length; i++) {
      if (this.vars[i] == v) return this.values[i];
    }
    return null;
  }
}

/** Captures the request-scoped values the matched rules' response actions will need, or null if none. */
export function snapshotForResponse(rules: Rule[], matched: u64, src: TemplateSource): RequestSnapshot | null {
  let snap: RequestSnapshot | null = null;
  for (let i = 0; i < rules.length; i++) {
    if ((matched & ((<u64>1) << <u64>i)) == 0) continue;
    const vars = rules[i].responseRequestVars;
    for (let k = 0; k < vars.length; k++) {
      if (snap === null) snap = new RequestSnapshot();
      snap.vars.push(vars[k]);
      snap.values.push(src.resolve(vars[k]));
    }
  }
  return snap;
}

/**
 * The mutations of one phase with their values already rendered, as two parallel lists. One
 * Plan per root context is reused for every request (a VM runs one callback at a time and a
 * plan is applied before the callback returns), so planning allocates only the values.
 */
export class Plan {
  ops: HeaderOp[] = [];
  values: string[] = [];
  /** Rules that contributed at least one action to this phase. */
  rulesApplied: i32 = 0;
  /** Values dropped because they rendered to something a header cannot carry. */
  invalidValues: i32 = 0;
  /** True when :path or :authority changes, so Envoy must route the request again. */
  reroute: bool = false;

  reset(): Plan {
    this.ops.length = 0;
    this.values.length = 0;
    this.rulesApplied = 0;
    this.invalidValues = 0;
    this.reroute = false;
    return this;
  }

  get size(): i32 { return this.ops.length; }

  push(op: HeaderOp, value: string): void {
    this.ops.push(op);
    this.values.push(value);
    if (op.reroutes) this.reroute = true;
  }
}

/** Bit i set when rule i matches the request. */
export function matchRules(rules: Rule[], src: TemplateSource): u64 {
  let mask: u64 = 0;
  for (let i = 0; i < rules.length; i++) {
    if (rules[i].match.matches(src)) mask |= (<u64>1) << <u64>i;
  }
  return mask;
}

/** True when a rendered value may be sent as a header value. */
export function isValidHeaderValue(v: string): bool {
  if (v.length > MAX_VALUE_BYTES) return false; // UTF-16 length <= UTF-8 length; checked again below
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c == 0 || c == 0x0a || c == 0x0d) return false;
  }
  return String.UTF8.byteLength(v) <= MAX_VALUE_BYTES;
}

function renderPath(rw: PathRewrite, src: TemplateSource): string | null {
  if (rw.kind == PathRewriteKind.Template) {
    const t = (rw.template as Template).render(src);
    return t.startsWith("/") ? t : null;
  }
  const current = src.resolve(REQUEST_PATH);
  if (current === null || !current.startsWith(rw.matchedPrefix)) return null;
  const rest = current.substring(rw.matchedPrefix.length);
  let out = rw.replacement + rest;
  // "/api/" -> "/" on "/api/x" gives "/x"; guard against "//x" when the replacement ends in '/'.
  if (!out.startsWith("/")) out = "/" + out;
  return out;
}

/**
 * Renders the actions of the matched rules for one phase. All values are rendered before
 * anything is applied, so every template sees the headers as they reached this filter.
 */
export function planPhase(rules: Rule[], matched: u64, isRequest: bool, src: TemplateSource, plan: Plan = new Plan()): Plan {
  plan.reset();
  for (let i = 0; i < rules.length; i++) {
    if ((matched & ((<u64>1) << <u64>i)) == 0) continue;
    const rule = rules[i];
    const actions = isRequest ? rule.request : rule.response;
    if (actions === null) continue;
    let contributed = false;
    const ops = actions.ops;
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k];
      let value = "";
      if (op.value !== null) {
        value = (op.value as Template).render(src);
        if (value.length == 0 && !rule.keepEmptyValue) continue;
        if (!isValidHeaderValue(value)) {
          plan.invalidValues++;
          continue;
        }
      }
      plan.push(op, value);
      contributed = true;
    }
    const rw = actions.pathRewrite;
    if (rw !== null) {
      const path = renderPath(rw, src);
      if (path === null || !isValidHeaderValue(path)) plan.invalidValues++;
      else {
        plan.push(SET_PATH, path);
        contributed = true;
      }
    }
    if (contributed) plan.rulesApplied++;
  }
  return plan;
}

/** Where mutations are applied: Envoy's header map, or a list in tests. */
export interface HeaderWriter {
  first(name: HeaderName): string | null;
  /** Every value of `name`, in order; the array may be reused by the next call, so use it first. */
  all(name: HeaderName): string[];
  set(name: HeaderName, value: string): bool;
  add(name: HeaderName, value: string): bool;
  remove(name: HeaderName): bool;
}

/** Applies mutations in order; conditional ones (rename, set_if_absent) look at the live map. Returns failures. */
export function applyPlan(plan: Plan, w: HeaderWriter): i32 {
  let failures = 0;
  const ops = plan.ops;
  const values = plan.values;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const value = values[i];
    let ok = true;
    switch (op.kind) {
      case OpKind.Remove:
        ok = w.remove(op.name);
        break;
      case OpKind.Rename: {
        const target = op.target!;
        const moved = w.all(op.name);
        if (moved.length == 0) break;
        // set = remove every value + add one (Envoy's setCopy), so remove+remove+add in two calls.
        ok = w.remove(op.name) && w.set(target, moved[0]);
        for (let k = 1; ok && k < moved.length; k++) ok = w.add(target, moved[k]);
        break;
      }
      case OpKind.Set:
        ok = w.set(op.name, value);
        break;
      case OpKind.SetIfAbsent:
        if (w.first(op.name) === null) ok = w.add(op.name, value);
        break;
      default:
        ok = w.add(op.name, value);
    }
    if (!ok) failures++;
  }
  return failures;
}
