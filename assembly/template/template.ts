// Value templates: literal text with `${variable}` references, `$$` for a literal '$'.
// Templates are compiled once at configure time into segments; variables are resolved per
// request through a TemplateSource, so the same template runs against Envoy (host calls) and
// against in-memory fakes in tests.

import { PropertyPath, propertyPath } from "../runtime/properties";
import { HeaderName } from "../runtime/headers";

export enum VarKind {
  RequestHeader = 0,
  ResponseHeader = 1,
  RequestPath = 2,
  RequestUrlPath = 3,
  RequestQuery = 4,
  RequestMethod = 5,
  RequestHost = 6,
  RequestScheme = 7,
  RequestId = 8,
  SourceAddress = 9,
  SourceIp = 10,
  RouteName = 11,
  Property = 12,
  /** The consumer an auth filter identified (filter state, docs/consumers.md). */
  ConsumerName = 13,
  /** Its groups in the header form, "gold,beta". */
  ConsumerGroups = 14,
  /** The credential id that identified it, "key:alice-laptop". */
  ConsumerCredential = 15,
  /**
   * Its groups as stored, ",gold,beta," (group conditions of rule matches); not nameable in a
   * template, where ${consumer.groups} is the header form.
   */
  ConsumerGroupsState = 16,
}


/** A variable reference; `arg` is the header name or the property's dotted path. */
export class TemplateVar {
  /** For `property.*`: the attribute path, encoded once for the host. */
  readonly property: PropertyPath | null;
  /** For header variables: the header name, encoded once for the host. */
  readonly header: HeaderName | null;

  constructor(public readonly kind: VarKind, public readonly arg: string, public readonly text: string) {
    this.property = kind == VarKind.Property ? propertyPath(arg) : null;
    this.header = kind == VarKind.RequestHeader || kind == VarKind.ResponseHeader ? new HeaderName(arg) : null;
  }
}

export class Segment {
  constructor(public readonly literal: string, public readonly variable: TemplateVar | null) {}
}

export interface TemplateSource {
  /** The variable's value, or null when it has none for this request. */
  resolve(v: TemplateVar): string | null;
}

export class Template {
  constructor(public readonly segments: Segment[], public readonly source: string) {}

  get isLiteral(): bool {
    return this.segments.length == 0 || (this.segments.length == 1 && this.segments[0].variable === null);
  }

  /** Variables in this template, for checks such as "response headers only in responses". */
  variables(): TemplateVar[] {
    const out = new Array<TemplateVar>();
    for (let i = 0; i < this.segments.length; i++) {
      const v = this.segments[i].variable;
      if (v !== null) out.push(v);
    }
    return out;
  }

  /** Renders the template; a variable without a value renders as empty text. */
  render(src: TemplateSource): string {
    const segs = this.segments;
    if (segs.length == 1) {
      const only = segs[0];
      if (only.variable === null) return only.literal;
      const v = src.resolve(only.variable as TemplateVar);
      return v === null ? "" : v;
    }
    let out = "";
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (s.variable === null) out += s.literal;
      else {
        const v = src.resolve(s.variable as TemplateVar);
        if (v !== null) out += v;
      }
    }
    return out;
  }
}

export class TemplateParse {
  constructor(public readonly template: Template | null, public readonly error: string) {}
}

const NAMED = new Map<string, VarKind>();
NAMED.set("request.path", VarKind.RequestPath);
NAMED.set("request.url_path", VarKind.RequestUrlPath);
NAMED.set("request.query", VarKind.RequestQuery);
NAMED.set("request.method", VarKind.RequestMethod);
NAMED.set("request.host", VarKind.RequestHost);
NAMED.set("request.scheme", VarKind.RequestScheme);
NAMED.set("request.id", VarKind.RequestId);
NAMED.set("source.address", VarKind.SourceAddress);
NAMED.set("source.ip", VarKind.SourceIp);
NAMED.set("route.name", VarKind.RouteName);
NAMED.set("consumer.name", VarKind.ConsumerName);
NAMED.set("consumer.groups", VarKind.ConsumerGroups);
NAMED.set("consumer.credential", VarKind.ConsumerCredential);

const REQUEST_HEADER = "request.header.";
const RESPONSE_HEADER = "response.header.";
const PROPERTY = "property.";

export const VARIABLE_HELP =
  "request.header.<name>, response.header.<name>, request.path, request.url_path, request.query, " +
  "request.method, request.host, request.scheme, request.id, source.address, source.ip, route.name, " +
  "consumer.name, consumer.groups, consumer.credential, property.<attribute>";

function parseVariable(name: string): TemplateVar | null {
  if (NAMED.has(name)) return new TemplateVar(NAMED.get(name), "", name);
  if (name.startsWith(REQUEST_HEADER) && name.length > REQUEST_HEADER.length) {
    return new TemplateVar(VarKind.RequestHeader, name.substring(REQUEST_HEADER.length).toLowerCase(), name);
  }
  if (name.startsWith(RESPONSE_HEADER) && name.length > RESPONSE_HEADER.length) {
    return new TemplateVar(VarKind.ResponseHeader, name.substring(RESPONSE_HEADER.length).toLowerCase(), name);
  }
  if (name.startsWith(PROPERTY) && name.length > PROPERTY.length) {
    return new TemplateVar(VarKind.Property, name.substring(PROPERTY.length), name);
  }
  return null;
}

export function parseTemplate(text: string): TemplateParse {
  const segs = new Array<Segment>();
  let lit = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c != 0x24 /* $ */) {
      const next = text.indexOf("$", i);
      const end = next < 0 ? n : next;
      lit += text.substring(i, end);
      i = end;
      continue;
    }
    if (i + 1 < n && text.charCodeAt(i + 1) == 0x24) {
      lit += "$";
      i += 2;
      continue;
    }
    if (i + 1 >= n || text.charCodeAt(i + 1) != 0x7b /* { */) {
      return new TemplateParse(null, "'$' at " + i.toString() + " must start ${variable} or be doubled as $$");
    }
    const close = text.indexOf("}", i + 2);
    if (close < 0) return new TemplateParse(null, "unclosed ${ at " + i.toString());
    const name = text.substring(i + 2, close).trim();
    const v = parseVariable(name);
    if (v === null) {
      return new TemplateParse(null, "unknown variable ${" + name + "}; known: " + VARIABLE_HELP);
    }
    segs.push(new Segment(lit, null));
    lit = "";
    segs.push(new Segment("", v));
    i = close + 1;
  }
  if (lit.length > 0 || segs.length == 0) segs.push(new Segment(lit, null));
  // Drop empty literal segments so rendering does no needless concatenation.
  const compact = new Array<Segment>();
  for (let k = 0; k < segs.length; k++) {
    if (segs[k].variable !== null || segs[k].literal.length > 0) compact.push(segs[k]);
  }
  if (compact.length == 0) compact.push(new Segment("", null));
  return new TemplateParse(new Template(compact, text), "");
}
