// Reads metric names out of PromQL, for holding the Grafana dashboard (docs/grafana-dashboard.json)
// to the metrics that exist: documented ones (unit test) and scraped ones (Prometheus e2e).
// Not a PromQL parser: it knows selectors, label matchers, ranges, strings and label lists,
// which is everything a dashboard query is made of.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DASHBOARD_PATH = fileURLToPath(new URL("../../../docs/grafana-dashboard.json", import.meta.url));
export const OBSERVABILITY_DOC_PATH = fileURLToPath(new URL("../../../docs/observability.md", import.meta.url));

export interface MetricSelectors {
  /** Metric names written as names: `rate(portico_xds_acks_total[5m])`. */
  names: string[];
  /** `{__name__=~"..."}` matchers, anchored as Prometheus anchors them. */
  patterns: RegExp[];
}

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
  "atan2",
]);

export function metricSelectors(expr: string): MetricSelectors {
  const patterns: RegExp[] = [];
  const names: string[] = [];
  // Label matchers first: __name__ ones are selectors, the rest (values may hold anything) go.
  let rest = expr.replace(/\{([^{}]*)\}/g, (_, inner: string) => {
    for (const m of inner.matchAll(/__name__\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      const value = JSON.parse(`"${m[2]}"`) as string;
      if (m[1] === "=") names.push(value);
      else patterns.push(new RegExp(`^(?:${value})$`));
    }
    return " ";
  });
  rest = rest
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, " ") // strings (label_replace arguments)
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // label lists
  for (const m of rest.matchAll(/(?<![\w$.:])[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\()/g)) {
    const token = m[0];
    // A function or aggregation name directly followed by "(" is excluded by the lookahead, but
    // the lookahead also stops "sum" from matching as "su": make sure the whole word was taken.
    const after = rest.slice((m.index ?? 0) + token.length);
    if (/^[\w:]/.test(after)) continue;
    if (KEYWORDS.has(token.toLowerCase())) continue;
    names.push(token);
  }
  return { names: [...new Set(names)], patterns };
}

export interface DashboardQuery {
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard, with its panel's title (rows' panels included). */
export function dashboardQueries(dashboard: { panels?: Panel[] }): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? "(untitled)", expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

export function readDashboard(): { panels?: Panel[]; templating?: unknown; title?: string; uid?: string } {
  return JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as { panels?: Panel[] };
}

/** Grafana's interval variables, replaced the way Grafana would for a short time range. */
export function withGrafanaVariables(expr: string, interval = "1m"): string {
  return expr.replaceAll("$__rate_interval", interval).replaceAll("$__interval", interval).replaceAll("$__range", "1h");
}

/**
 * The metric names docs/observability.md documents: every `code` span that is a metric name.
 * A `<placeholder>` part (a plugin's rule or provider name) stands for any name.
 */
export function documentedMetrics(markdown: string): { names: string[]; templates: string[] } {
  const names = new Set<string>();
  const templates = new Set<string>();
  for (const m of markdown.matchAll(/`((?:portico|envoy)_[a-z0-9_<>]+)`/g)) {
    const n = m[1]!;
    (n.includes("<") ? templates : names).add(n);
  }
  return { names: [...names], templates: [...templates] };
}

/** A documented template as a regex ("portico_rate_limit_<rule>_allowed_total" matches any rule). */
export function templatePattern(template: string): RegExp {
  const parts = template.split(/<[a-z_]+>/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[a-z0-9_]+")}$`);
}

/** A documented template with each placeholder filled in. */
export function templateExample(template: string, value = "example"): string {
  return template.replace(/<[a-z_]+>/g, value);
}
