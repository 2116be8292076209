// Request conditions shared by the filters' rules: path (exact/prefix/suffix/glob, query
// ignored), methods, headers (present/absent/exact/prefix/suffix/contains) and Envoy route
// names. All present conditions must hold; an empty match matches every request. Values come
// through a TemplateSource, so matching runs the same against Envoy and against test fakes.
import { PathMatcher } from "./path";
import { TemplateSource, TemplateVar, VarKind } from "../template";

export enum HeaderTest {
  Present = 0,
  Absent = 1,
  Exact = 2,
  Prefix = 3,
  Suffix = 4,
  Contains = 5,
}

export class HeaderCondition {
  constructor(public readonly header: TemplateVar, public readonly test: HeaderTest, public readonly value: string) {}

  matches(src: TemplateSource): bool {
    const v = src.resolve(this.header);
    switch (this.test) {
      case HeaderTest.Present: return v !== null;
      case HeaderTest.Absent: return v === null;
      case HeaderTest.Exact: return v !== null && v == this.value;
      case HeaderTest.Prefix: return v !== null && v.startsWith(this.value);
      case HeaderTest.Suffix: return v !== null && v.endsWith(this.value);
      default: return v !== null && v.includes(this.value);
    }
  }
}

const URL_PATH = new TemplateVar(VarKind.RequestUrlPath, "", "request.url_path");
const METHOD = new TemplateVar(VarKind.RequestMethod, "", "request.method");
const ROUTE = new TemplateVar(VarKind.RouteName, "", "route.name");
export const REQUEST_PATH = new TemplateVar(VarKind.RequestPath, "", "request.path");

/** All conditions of a rule; an empty match matches every request. */
export class RequestMatch {
  path: PathMatcher | null = null;
  methods: string[] = [];
  headers: HeaderCondition[] = [];
  routes: string[] = [];

  matches(src: TemplateSource): bool {
    if (this.methods.length > 0) {
      const m = src.resolve(METHOD);
      if (m === null || !this.methods.includes(m)) return false;
    }
    const path = this.path;
    if (path !== null) {
      const p = src.resolve(URL_PATH);
      if (p === null || !path.matches(p)) return false;
    }
    if (this.routes.length > 0) {
      const r = src.resolve(ROUTE);
      if (r === null || !this.routes.includes(r)) return false;
    }
    for (let i = 0; i < this.headers.length; i++) {
      if (!this.headers[i].matches(src)) return false;
    }
    return true;
  }
}

