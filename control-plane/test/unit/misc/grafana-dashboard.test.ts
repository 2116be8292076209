// docs/grafana-dashboard.json is a dashboard Grafana can import, and it queries only metrics that
// exist: every metric name in its PromQL is documented in docs/observability.md, which in turn
// documents every metric the control plane registers. (That the queries evaluate and find data
// in a live Prometheus is the prometheus e2e test's part.)
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_METRIC_NAMES } from "../../../src/metrics.js";
import {
  DASHBOARD_PATH,
  OBSERVABILITY_DOC_PATH,
  dashboardQueries,
  documentedMetrics,
  metricSelectors,
  readDashboard,
  templateExample,
  templatePattern,
} from "../../support/promql.js";

const doc = readFileSync(OBSERVABILITY_DOC_PATH, "utf8");
const documented = documentedMetrics(doc);

/** A series name as documented: histograms are documented by their base name. */
function isDocumented(name: string): boolean {
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return [name, base].some((n) => documented.names.includes(n) || documented.templates.some((t) => templatePattern(t).test(n)));
}

describe("metricSelectors (reading names out of PromQL)", () => {
  it("finds names, not functions, keywords, labels, ranges or strings", () => {
    const s = metricSelectors(
      'histogram_quantile(0.99, sum by (type, le) (rate(portico_xds_push_latency_seconds_bucket{type!="Secret"}[$__rate_interval])))',
    );
    expect(s).toEqual({ names: ["portico_xds_push_latency_seconds_bucket"], patterns: [] });
    expect(metricSelectors("sum(rate(a_total[5m] offset 1h)) / on (instance) group_left sum(b) > bool 0").names).toEqual(["a_total", "b"]);
    expect(metricSelectors("max without (job) (up)").names).toEqual(["up"]);
  });

  it("reads __name__ matchers, and ignores what label_replace's strings hold", () => {
    const s = metricSelectors(
      'sum by (rule) (rate(label_replace({__name__=~"portico_rate_limit_.+_limited_total", job="envoy"}, "rule", "$1", "__name__", "x_(.+)")[5m:]))',
    );
    expect(s.names).toEqual([]);
    expect(s.patterns.map(String)).toEqual(["/^(?:portico_rate_limit_.+_limited_total)$/"]);
    expect(metricSelectors('{__name__="exact_name"}').names).toEqual(["exact_name"]);
  });
});

describe("docs/observability.md", () => {
  it("documents every metric the control plane registers", () => {
    expect(CONTROL_PLANE_METRIC_NAMES.filter((n) => !documented.names.includes(n))).toEqual([]);
  });

  it("documents no portico_ metric of the control plane that does not exist", () => {
    // Plugin metrics are the filters' (portico_<filter>_...); the rest must be registered.
    const pluginPrefixes = ["portico_header_rewrite_", "portico_jwt_auth_", "portico_rate_limit_"];
    const cp = documented.names.filter((n) => n.startsWith("portico_") && !pluginPrefixes.some((p) => n.startsWith(p)));
    expect(cp.filter((n) => !(CONTROL_PLANE_METRIC_NAMES as readonly string[]).includes(n))).toEqual([]);
  });
});

describe("docs/grafana-dashboard.json", () => {
  const dashboard = readDashboard();
  const queries = dashboardQueries(dashboard);

  it("is a Grafana dashboard: JSON with a title, a uid, unique panel ids, a Prometheus data source variable", () => {
    expect(() => JSON.parse(readFileSync(DASHBOARD_PATH, "utf8"))).not.toThrow();
    expect(dashboard.title).toBe("Portico gateway");
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const all = JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as {
      panels: { id: number; type: string; datasource?: { uid: string }; gridPos: object }[];
      templating: { list: { type: string; name: string; query: string }[] };
    };
    const ids = all.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(all.templating.list).toContainEqual(expect.objectContaining({ type: "datasource", name: "datasource", query: "prometheus" }));
    for (const p of all.panels.filter((x) => x.type !== "row")) {
      expect(p.datasource, `panel ${p.id}`).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(p.gridPos, `panel ${p.id}`).toBeDefined();
    }
  });

  it("has queries for the gateway, every suite plugin and the control plane", () => {
    expect(queries.length).toBeGreaterThan(20);
    const text = queries.map((q) => q.expr).join("\n");
    for (const part of [
      "envoy_http_downstream_rq_total",
      "portico_header_rewrite_",
      "portico_jwt_auth_",
      "portico_rate_limit_",
      "portico_xds_push_latency_seconds_bucket",
      "portico_connected_envoys",
    ]) {
      expect(text).toContain(part);
    }
  });

  it("queries only documented metrics", () => {
    const unknown: string[] = [];
    for (const q of queries) {
      const s = metricSelectors(q.expr);
      expect(s.names.length + s.patterns.length, `${q.panel}: no metric found in ${q.expr}`).toBeGreaterThan(0);
      for (const n of s.names) if (!isDocumented(n)) unknown.push(`${q.panel}: ${n}`);
      // A name pattern must select some documented metric (a template filled in with an example name).
      const candidates = [...documented.names, ...documented.templates.map((t) => templateExample(t))];
      for (const p of s.patterns) if (!candidates.some((c) => p.test(c))) unknown.push(`${q.panel}: ${p}`);
    }
    expect(unknown).toEqual([]);
  });

  it("the alert rules in the docs use only documented metrics too", () => {
    const rules = [...doc.matchAll(/^\s+expr: (?:\|\n)?([\s\S]*?)\n\s+(?:for|labels):/gm)].map((m) => m[1]!.trim());
    expect(rules.length).toBe(5);
    for (const expr of rules) for (const n of metricSelectors(expr).names) expect(isDocumented(n), `${n} in ${expr}`).toBe(true);
  });
});
