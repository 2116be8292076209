// Pure policy and config tests: an in-memory header map stands in for Envoy.
import { ConfigErrors, ConfigSource } from "../../../assembly/config/reader";
import { TemplateSource, TemplateVar, VarKind } from "../../../assembly/template";
import { parseHeaderRewriteConfig, HeaderRewriteConfig } from "../config";
import { applyPlan, HeaderWriter, matchRules, planPhase, snapshotForResponse } from "../policy";
import { HeaderName } from "../../../assembly/runtime/headers";

class MemoryHeaders implements HeaderWriter, TemplateSource {
  names: string[] = [];
  values: string[] = [];

  constructor(pairs: string[]) {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.addText(pairs[i], pairs[i + 1]);
  }

  addText(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  first(n: HeaderName): string | null { return this.firstText(n.text); }
  all(n: HeaderName): string[] { return this.allText(n.text); }
  set(n: HeaderName, value: string): bool { return this.setText(n.text, value); }
  add(n: HeaderName, value: string): bool { this.addText(n.text, value); return true; }
  remove(n: HeaderName): bool { return this.removeText(n.text); }

  firstText(name: string): string | null {
    const i = this.names.indexOf(name);
    return i < 0 ? null : this.values[i];
  }
  allText(name: string): string[] {
    const out = new Array<string>();
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) out.push(this.values[i]);
    return out;
  }
  setText(name: string, value: string): bool {
    // Like Envoy's setCopy: the first entry keeps its place, later duplicates go.
    const i = this.names.indexOf(name);
    if (i < 0) {
      this.addText(name, value);
      return true;
    }
    for (let k = this.names.length - 1; k > i; k--) {
      if (this.names[k] == name) {
        this.names.splice(k, 1);
        this.values.splice(k, 1);
      }
    }
    this.values[i] = value;
    return true;
  }
  removeText(name: string): bool {
    for (let i = this.names.length - 1; i >= 0; i--) {
      if (this.names[i] == name) {
        this.names.splice(i, 1);
        this.values.splice(i, 1);
      }
    }
    return true;
  }
  dump(): string {
    const parts = new Array<string>();
    for (let i = 0; i < this.names.length; i++) parts.push(this.names[i] + "=" + this.values[i]);
    return parts.join(" ");
  }
  resolve(v: TemplateVar): string | null {
    switch (v.kind) {
      case VarKind.RequestHeader: return this.firstText(v.arg);
      case VarKind.RequestPath: return this.firstText(":path");
      case VarKind.RequestUrlPath: {
        const p = this.firstText(":path");
        if (p === null) return null;
        const q = p.indexOf("?");
        return q < 0 ? p : p.substring(0, q);
      }
      case VarKind.RequestMethod: return this.firstText(":method");
      case VarKind.RouteName: return "r1";
      default: return null;
    }
  }
}

function config(json: string): HeaderRewriteConfig {
  const errors = new ConfigErrors();
  const cfg = parseHeaderRewriteConfig(ConfigSource.ofBytes(String.UTF8.encode(json)), errors);
  expect(errors.messages.join("; ")).toBe("");
  return cfg!;
}

function errorsOf(json: string): string {
  const errors = new ConfigErrors();
  const cfg = parseHeaderRewriteConfig(ConfigSource.ofBytes(String.UTF8.encode(json)), errors);
  expect(cfg === null).toBe(true);
  return errors.messages.join("; ");
}

function runRequest(cfg: HeaderRewriteConfig, h: MemoryHeaders): u64 {
  const matched = matchRules(cfg.rules, h);
  applyPlan(planPhase(cfg.rules, matched, true, h), h);
  return matched;
}

describe("header-rewrite policy", () => {
  it("applies remove, rename, set, set_if_absent, add in that order", () => {
    const cfg = config('{"rules":[{"request":{' +
      '"remove":["x-drop"],"rename":{"x-old":"x-new"},"set":{"x-set":"v-${request.method}"},' +
      '"set_if_absent":{"x-keep":"default","x-fill":"filled"},"add":{"x-multi":["a","b"]}}}]}');
    const h = new MemoryHeaders([":method", "GET", ":path", "/p", "x-drop", "1", "x-old", "o1", "x-old", "o2", "x-set", "old", "x-keep", "mine"]);
    runRequest(cfg, h);
    expect(h.dump()).toBe(":method=GET :path=/p x-set=v-GET x-keep=mine x-new=o1 x-new=o2 x-fill=filled x-multi=a x-multi=b");
  });

  it("renders every value against the headers as they arrived", () => {
    const cfg = config('{"rules":[{"request":{"set":{"x-a":"new","x-copy":"${request.header.x-a}"}}}]}');
    const h = new MemoryHeaders([":path", "/", "x-a", "orig"]);
    runRequest(cfg, h);
    expect(h.firstText("x-copy")).toBe("orig");
    expect(h.firstText("x-a")).toBe("new");
  });

  it("skips values that render empty unless keep_empty_value is set", () => {
    const h = new MemoryHeaders([":path", "/"]);
    runRequest(config('{"rules":[{"request":{"set":{"x-u":"${request.header.x-user}"}}}]}'), h);
    expect(h.firstText("x-u")).toBeNull();
    runRequest(config('{"rules":[{"keep_empty_value":true,"request":{"set":{"x-u":"${request.header.x-user}"}}}]}'), h);
    expect(h.firstText("x-u")).toBe("");
  });

  it("matches on path, method, headers and route, all required", () => {
    const cfg = config('{"rules":[' +
      '{"match":{"path":{"prefix":"/api/"},"methods":["POST"]},"request":{"set":{"x-r":"0"}}},' +
      '{"match":{"path":{"glob":"/api/*/items"}},"request":{"set":{"x-g":"1"}}},' +
      '{"match":{"headers":[{"name":"X-Env","exact":"prod"},{"name":"x-skip","present":false}]},"request":{"set":{"x-h":"2"}}},' +
      '{"match":{"routes":["r1"],"path":{"suffix":".json"}},"request":{"set":{"x-route":"3"}}}]}');
    const h = new MemoryHeaders([":method", "GET", ":path", "/api/v1/items?q=1", "x-env", "prod"]);
    expect(runRequest(cfg, h)).toBe(<u64>0b0110);
    const h2 = new MemoryHeaders([":method", "POST", ":path", "/api/data.json", "x-env", "prod", "x-skip", "1"]);
    expect(runRequest(cfg, h2)).toBe(<u64>0b1001);
  });

  it("rewrites the path by prefix and keeps the query", () => {
    const cfg = config('{"rules":[{"match":{"path":{"prefix":"/api/"}},"request":{"rewrite_path":{"prefix":"/v2/"}}}]}');
    const h = new MemoryHeaders([":path", "/api/users?id=7"]);
    const plan = planPhase(cfg.rules, matchRules(cfg.rules, h), true, h);
    expect(plan.reroute).toBe(true);
    applyPlan(plan, h);
    expect(h.firstText(":path")).toBe("/v2/users?id=7");
  });

  it("rewrites the path from a template", () => {
    const cfg = config('{"rules":[{"request":{"rewrite_path":{"template":"/internal${request.path}"}}}]}');
    const h = new MemoryHeaders([":path", "/a?b=1"]);
    runRequest(cfg, h);
    expect(h.firstText(":path")).toBe("/internal/a?b=1");
  });

  it("drops values a header cannot carry and counts them", () => {
    const cfg = config('{"rules":[{"request":{"set":{"x-copy":"${request.header.x-big}"}}}]}');
    let big = "";
    for (let i = 0; i < 9000; i++) big += "a";
    const h = new MemoryHeaders([":path", "/", "x-big", big]);
    const plan = planPhase(cfg.rules, matchRules(cfg.rules, h), true, h);
    expect(plan.invalidValues).toBe(1);
    expect(plan.size).toBe(0);
  });

  it("captures request values for response actions", () => {
    const cfg = config('{"rules":[{"response":{"set":{"x-echo":"${request.header.x-id} ${request.method}"}}}]}');
    const req = new MemoryHeaders([":method", "PUT", ":path", "/", "x-id", "42"]);
    const matched = matchRules(cfg.rules, req);
    const snap = snapshotForResponse(cfg.rules, matched, req);
    expect(snap === null).toBe(false);
    const resp = new MemoryHeaders([":status", "200"]);
    applyPlan(planPhase(cfg.rules, matched, false, snap!), resp);
    expect(resp.firstText("x-echo")).toBe("42 PUT");
  });
});

describe("header-rewrite config validation", () => {
  it("requires rules", () => {
    expect(errorsOf("{}")).toBe("rules: is required");
    expect(errorsOf('{"rules":[]}')).toBe("rules: must contain at least one rule");
  });

  it("names every bad field at once", () => {
    const msg = errorsOf('{"rules":[{"request":{"set":{"bad name":"x"},"add":{"x-a":5}}},{"reponse":{}}]}');
    expect(msg).toBe(
      "rules[0].request.set[\"bad name\"]: invalid character in header name \"bad name\"; " +
      "rules[0].request.add.x-a: must be a string or an array of strings; " +
      "rules[1].reponse: unknown field; rules[1]: needs `request` or `response` actions");
  });

  it("refuses pseudo and connection-level headers", () => {
    expect(errorsOf('{"rules":[{"request":{"set":{":method":"POST"}}}]}'))
      .toBe("rules[0].request.set.:method: pseudo-header :method cannot be changed here (only `set` of :path or :authority on requests)");
    expect(errorsOf('{"rules":[{"response":{"set":{":path":"/x"}}}]}'))
      .toBe("rules[0].response.set.:path: pseudo-header :path cannot be changed here (only `set` of :path or :authority on requests)");
    expect(errorsOf('{"rules":[{"request":{"add":{"transfer-encoding":"chunked"}}}]}'))
      .toBe("rules[0].request.add.transfer-encoding: transfer-encoding is a connection-level header and cannot be set by a filter");
    expect(errorsOf('{"rules":[{"request":{"remove":[":authority"]}}]}'))
      .toBe("rules[0].request.remove[0]: pseudo-header :authority cannot be changed here (only `set` of :path or :authority on requests)");
    config('{"rules":[{"request":{"set":{":authority":"backend.internal"},"remove":["connection"]}}]}');
  });

  it("checks templates and path rewrites", () => {
    expect(errorsOf('{"rules":[{"request":{"set":{"x-a":"${response.header.x}"}}}]}'))
      .toBe("rules[0].request.set.x-a: ${response.header.x} is only available in response actions");
    expect(errorsOf('{"rules":[{"request":{"rewrite_path":{"prefix":"/v2/"}}}]}'))
      .toBe("rules[0].request.rewrite_path.prefix: a prefix rewrite needs the rule to match `path.prefix` (the part it replaces)");
    expect(errorsOf('{"rules":[{"request":{"rewrite_path":{}}}]}'))
      .toBe("rules[0].request.rewrite_path: needs exactly one of `prefix` or `template`");
    expect(errorsOf('{"rules":[{"response":{"rewrite_path":{"template":"/x"}}}]}'))
      .toBe("rules[0].response.rewrite_path: unknown field");
  });

  it("reports malformed JSON with its offset", () => {
    expect(errorsOf('{"rules": [}')).toBe("configuration is not valid JSON: unexpected character '}' at byte 11");
  });

  it("checks match conditions", () => {
    expect(errorsOf('{"rules":[{"match":{"path":{"prefix":"/a","exact":"/b"}},"request":{"remove":["x"]}}]}'))
      .toBe("rules[0].match.path: needs exactly one of exact, prefix, suffix, glob, regex");
    expect(errorsOf('{"rules":[{"match":{"headers":[{"name":"x"}]},"request":{"remove":["x"]}}]}'))
      .toBe("rules[0].match.headers[0]: needs exactly one of present, exact, prefix, suffix, contains, regex");
    expect(errorsOf('{"rules":[{"match":{"methods":"GET"},"request":{"remove":["x"]}}]}'))
      .toBe("rules[0].match.methods: must be an array, got a string");
  });
});
