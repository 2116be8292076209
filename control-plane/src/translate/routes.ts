// Routes -> one RouteConfiguration per listener (served over RDS). Plugins are switched on per
// route through typed_per_filter_config, so attaching or detaching a plugin is a route update:
// the listener (and its connections) stays untouched.
import type { GatewayModel, NamedMatch, RouteModel, ValueMatch } from "../model/types.js";
import { ANY, duration, pluginFilterName, routeConfigName } from "./common.js";

export function routeConfiguration(model: GatewayModel, listener: string): object {
  const routes = model.routes.filter((r) => r.listeners.includes(listener));
  return {
    name: routeConfigName(listener),
    // `hosts` match the Host header without its port (docs/gateway-config.md): clients send
    // "api.example.com:8443" on any listener not on 80/443, and that must reach the host's routes.
    ignore_port_in_host_matching: true,
    virtual_hosts: virtualHosts(routes).map(({ domain, routes: rs }) => ({
      name: domain === "*" ? "any" : domain,
      domains: [domain],
      routes: rs.map(route),
    })),
  };
}

/**
 * Envoy picks one virtual host per request (the most specific domain) and never falls through
 * to another, so each host's virtual host also carries the routes written for "*" and for
 * wildcard patterns covering it, in file order (first match wins, as in Envoy).
 */
function virtualHosts(routes: RouteModel[]): { domain: string; routes: RouteModel[] }[] {
  const domains: string[] = [];
  for (const r of routes) for (const h of r.hosts) if (!domains.includes(h)) domains.push(h);
  domains.sort(bySpecificity);
  return domains.map((domain) => ({
    domain,
    routes: routes.filter((r) => r.hosts.some((h) => covers(h, domain))),
  }));
}

/** Exact names first, then wildcard patterns, "*" last; alphabetical within each group. */
function bySpecificity(a: string, b: string): number {
  const rank = (d: string) => (d === "*" ? 2 : d.startsWith("*") ? 1 : 0);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Does a route's host pattern apply to requests that reach the virtual host `domain`? */
function covers(pattern: string, domain: string): boolean {
  if (pattern === "*" || pattern === domain) return true;
  if (pattern.startsWith("*.") && !domain.startsWith("*")) return domain.endsWith(pattern.slice(1));
  return false;
}

function route(r: RouteModel): object {
  return {
    name: r.name,
    match: routeMatch(r),
    route: routeAction(r),
    ...(r.plugins.length > 0 ? { typed_per_filter_config: enabledPlugins(r.plugins) } : {}),
  };
}

function routeMatch(r: RouteModel): object {
  const path =
    r.path.kind === "prefix" ? { prefix: r.path.value }
    : r.path.kind === "exact" ? { path: r.path.value }
    : { safe_regex: { regex: r.path.value } };
  const headers = r.headers.map(headerMatcher);
  if (r.methods.length > 0) headers.unshift(methodMatcher(r.methods));
  return {
    ...path,
    ...(headers.length > 0 ? { headers } : {}),
    ...(r.query.length > 0 ? { query_parameters: r.query.map(queryMatcher) } : {}),
  };
}

function methodMatcher(methods: string[]): object {
  const string_match = methods.length === 1 ? { exact: methods[0] } : { safe_regex: { regex: `^(${methods.join("|")})$` } };
  return { name: ":method", string_match };
}

function stringMatch(m: Exclude<ValueMatch, { kind: "present" }>): object {
  return m.kind === "regex" ? { safe_regex: { regex: m.value } } : { [m.kind]: m.value };
}

function headerMatcher(h: NamedMatch): object {
  const match = h.match.kind === "present" ? { present_match: true } : { string_match: stringMatch(h.match) };
  return { name: h.name, ...match, ...(h.invert ? { invert_match: true } : {}) };
}

function queryMatcher(q: NamedMatch): object {
  return q.match.kind === "present" ? { name: q.name, present_match: true } : { name: q.name, string_match: stringMatch(q.match) };
}

function routeAction(r: RouteModel): object {
  const [only] = r.upstreams;
  const target = r.upstreams.length === 1 && only
    ? { cluster: only.name }
    : { weighted_clusters: { clusters: r.upstreams.map((u) => ({ name: u.name, weight: u.weight })) } };
  const rewrite = !r.rewrite ? {}
    : r.rewrite.kind === "prefix" ? { prefix_rewrite: r.rewrite.value }
    : { regex_rewrite: { pattern: { regex: r.rewrite.pattern }, substitution: r.rewrite.substitution } };
  return {
    ...target,
    ...rewrite,
    ...(r.timeoutMs !== null ? { timeout: duration(r.timeoutMs) } : {}),
    ...(r.retries ? { retry_policy: retryPolicy(r.retries) } : {}),
  };
}

function retryPolicy(p: NonNullable<RouteModel["retries"]>): object {
  return {
    retry_on: p.on.join(","),
    num_retries: p.attempts,
    ...(p.perTryTimeoutMs !== null ? { per_try_timeout: duration(p.perTryTimeoutMs) } : {}),
    ...(p.statusCodes.length > 0 ? { retriable_status_codes: p.statusCodes } : {}),
  };
}

/**
 * Every plugin filter is disabled at the listener; a FilterConfig whose `config` is present but
 * empty switches it on for this route (Envoy rejects one without `config`; Wasm filters have no
 * per-route config of their own).
 */
function enabledPlugins(plugins: string[]): Record<string, object> {
  return Object.fromEntries(plugins.map((p) => [pluginFilterName(p), { "@type": ANY.filterConfig, config: {} }]));
}
