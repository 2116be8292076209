// Routes -> one RouteConfiguration per listener (served over RDS). Plugins are switched on per
// route through typed_per_filter_config, so attaching or detaching a plugin is a route update:
// the listener (and its connections) stays untouched.
import type {
  GatewayModel,
  HashOnModel,
  NamedMatch,
  PathMatch,
  PluginModel,
  RouteModel,
  UpstreamModel,
  ValueMatch,
} from "../model/types.js";
import { policyPerRoute } from "../policies/index.js";
import { ANY, duration, NO_ROUTE, pluginFilterName, routeConfigName, suiteFilterName } from "./common.js";
import { type ChainStep, globalPluginNames, type SuitePlan, suitePlan } from "./suite.js";

/** `plan`: how routes run their plugins (translate makes it once for every listener). */
export function routeConfiguration(model: GatewayModel, listener: string, plan: SuitePlan = suitePlan(model)): object {
  const routes = model.routes.filter((r) => r.listeners.includes(listener));
  const upstreams = new Map(model.upstreams.map((u) => [u.name, u]));
  const enable = (names: string[]) => enabledPlugins(plan.steps(names));
  const noRoute = noRouteRoute(enable(globalPluginNames(model)));
  return {
    name: routeConfigName(listener),
    // `hosts` match the Host header without its port (docs/gateway-config.md): clients send
    // "api.example.com:8443" on any listener not on 80/443, and that must reach the host's routes.
    ignore_port_in_host_matching: true,
    virtual_hosts: virtualHosts(routes).map(({ domain, routes: rs }) => ({
      name: domain === "*" ? "any" : domain,
      domains: [domain],
      routes: [...rs.map((r) => route(r, upstreams, enable(r.plugins))), noRoute],
    })),
  };
}

/**
 * The last route of every virtual host: what no user route matched gets a 404 here rather than
 * from Envoy itself, so the global plugins (switched on here, in chain order) run on it too, as
 * on any routed request: a global auth answers 401 first, a global rate limit counts it, a global
 * response header is on the 404. First match wins, so it never shadows a user route. The body is
 * empty, as Envoy's own "no route" 404 (a gRPC client sees UNIMPLEMENTED, as before).
 */
function noRouteRoute(globalPlugins: Record<string, object>): object {
  return {
    name: NO_ROUTE,
    match: { prefix: "/" },
    direct_response: { status: 404 },
    ...(Object.keys(globalPlugins).length > 0 ? { typed_per_filter_config: globalPlugins } : {}),
  };
}

/**
 * Envoy picks one virtual host per request (the most specific domain) and never falls through
 * to another, so each host's virtual host also carries the routes written for "*" and for
 * wildcard patterns covering it, in file order (first match wins, as in Envoy). There is always
 * a "*" virtual host, even with no route for it, so a request for an unknown host still reaches
 * the no-route route (and the global plugins).
 */
function virtualHosts(routes: RouteModel[]): { domain: string; routes: RouteModel[] }[] {
  const domains: string[] = ["*"];
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

function route(r: RouteModel, upstreams: Map<string, UpstreamModel>, plugins: Record<string, object>): object {
  return {
    name: r.name,
    match: routeMatch(r),
    route: routeAction(r, upstreams),
    ...(Object.keys(plugins).length > 0 ? { typed_per_filter_config: plugins } : {}),
  };
}

function routeMatch(r: RouteModel): object {
  const headers = r.headers.map(headerMatcher);
  if (r.methods.length > 0) headers.unshift(methodMatcher(r.methods));
  return {
    ...pathMatch(r.path),
    ...(headers.length > 0 ? { headers } : {}),
    ...(r.query.length > 0 ? { query_parameters: r.query.map(queryMatcher) } : {}),
  };
}

/**
 * Envoy matches the path without its query string, like the filters. prefix and exact map to
 * Envoy's own; suffix and glob have no Envoy path specifier and become a safe_regex (RE2, which
 * must match the whole path): suffix ".json" is `.*\.json`; a glob is translated token by token,
 * `**` -> `.*` (any characters, "/" included), `*` -> `[^/]*` (within one segment), `?` -> `[^/]`
 * (one character other than "/"), every other character literal (RE2-escaped). A run of three or
 * more stars reads left to right as `**` then `*` (as the filters read it), which is `.*` again.
 * (`.` does not match a newline, which Envoy's HTTP codecs never let into a path.)
 */
export function pathMatch(p: PathMatch): object {
  switch (p.kind) {
    case "prefix":
      return { prefix: p.value };
    case "exact":
      return { path: p.value };
    case "regex":
      return { safe_regex: { regex: p.value } };
    case "suffix":
      return { safe_regex: { regex: `.*${re2Literal(p.value)}` } };
    case "glob":
      return { safe_regex: { regex: globToRe2(p.value) } };
  }
}

/** RE2 source matching `text` literally: every RE2 metacharacter gets a backslash. */
export function re2Literal(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** The RE2 (whole-match) equivalent of a path glob; see pathMatch. */
export function globToRe2(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += re2Literal(c);
  }
  return out;
}

function methodMatcher(methods: string[]): object {
  const string_match = methods.length === 1 ? { exact: methods[0] } : { safe_regex: { regex: `^(${methods.join("|")})$` } };
  return { name: ":method", string_match };
}

type ValueTest = Extract<ValueMatch, { value: string }>;

function stringMatch(m: ValueTest): object {
  return m.kind === "regex" ? { safe_regex: { regex: m.value } } : { [m.kind]: m.value };
}

/** present -> present_match: true; absent -> present_match: false (Envoy: "the header is absent"). */
function valueMatcher(m: ValueMatch): object {
  if (m.kind === "present") return { present_match: true };
  if (m.kind === "absent") return { present_match: false };
  return { string_match: stringMatch(m) };
}

function headerMatcher(h: NamedMatch): object {
  return { name: h.name, ...valueMatcher(h.match), ...(h.invert ? { invert_match: true } : {}) };
}

/**
 * Query matchers have no invert_match in Envoy. The loader only lets presence be inverted, which
 * is the other presence; present_match: false means "absent" in Envoy 1.40 (runtime guard
 * enable_new_query_param_present_match_behavior, on by default).
 */
function queryMatcher(q: NamedMatch): object {
  const m: ValueMatch =
    q.invert && q.match.kind === "present" ? { kind: "absent" } : q.invert && q.match.kind === "absent" ? { kind: "present" } : q.match;
  return { name: q.name, ...valueMatcher(m) };
}

function routeAction(r: RouteModel, upstreams: Map<string, UpstreamModel>): object {
  const [only] = r.upstreams;
  const target =
    r.upstreams.length === 1 && only
      ? { cluster: only.name }
      : { weighted_clusters: { clusters: r.upstreams.map((u) => ({ name: u.name, weight: u.weight })) } };
  const rewrite = !r.rewrite
    ? {}
    : r.rewrite.kind === "prefix"
      ? { prefix_rewrite: r.rewrite.value }
      : { regex_rewrite: { pattern: { regex: r.rewrite.pattern }, substitution: r.rewrite.substitution } };
  return {
    ...target,
    ...rewrite,
    ...(r.timeoutMs !== null ? { timeout: duration(r.timeoutMs) } : {}),
    ...(r.idleTimeoutMs !== null ? { idle_timeout: duration(r.idleTimeoutMs) } : {}),
    ...(r.retries ? { retry_policy: retryPolicy(r.retries) } : {}),
    ...hashPolicy(r, upstreams),
  };
}

/**
 * Envoy reads what ring_hash / maglev hash on from the route action (hash_policy), not from the
 * cluster: each route carries the hash_on of the upstream(s) it sends to. A weighted split over
 * several upstreams gets the union of their policies, deduplicated, in the route's upstream order.
 * Envoy combines the hashes of every policy that yields a value into one, so on such a split an
 * upstream's endpoint choice also depends on the other upstreams' keys (still stable per client);
 * an upstream whose lb hashes nothing ignores them all.
 */
function hashPolicy(r: RouteModel, upstreams: Map<string, UpstreamModel>): object {
  const policies: object[] = [];
  const seen = new Set<string>();
  for (const { name } of r.upstreams) {
    const h = upstreams.get(name)?.hashOn;
    if (!h) continue;
    const policy = hashPolicyEntry(h);
    const key = JSON.stringify(policy);
    if (seen.has(key)) continue;
    seen.add(key);
    policies.push(policy);
  }
  return policies.length > 0 ? { hash_policy: policies } : {};
}

function hashPolicyEntry(h: HashOnModel): object {
  switch (h.kind) {
    case "header":
      return { header: { header_name: h.name } };
    // No ttl: Envoy hashes the cookie when the request has it and never generates one.
    case "cookie":
      return { cookie: { name: h.name } };
    case "query":
      return { query_parameter: { name: h.name } };
    case "source_ip":
      return { connection_properties: { source_ip: true } };
  }
}

function retryPolicy(p: NonNullable<RouteModel["retries"]>): object {
  return {
    retry_on: p.on.join(","),
    num_retries: p.attempts,
    ...(p.perTryTimeoutMs !== null ? { per_try_timeout: duration(p.perTryTimeoutMs) } : {}),
    ...(p.statusCodes.length > 0 ? { retriable_status_codes: p.statusCodes } : {}),
    ...(p.backoff
      ? {
          retry_back_off: {
            base_interval: duration(p.backoff.baseMs),
            ...(p.backoff.maxMs !== null ? { max_interval: duration(p.backoff.maxMs) } : {}),
          },
        }
      : {}),
  };
}

/**
 * Every plugin filter is disabled at the listener; a FilterConfig with `config` present switches
 * it on for this route (Envoy rejects one without `config`). Wasm filters have no per-route
 * config of their own, so theirs is empty; a native policy's carries its per-route config
 * (CorsPolicy, RBACPerRoute, BufferPerRoute): a policy edit is a route update only. Plugins that
 * run in one filter switch on their suite slot instead of their own slots.
 */
function enabledPlugins(steps: ChainStep[]): Record<string, object> {
  return Object.fromEntries(
    steps.map((s) =>
      s.kind === "suite"
        ? [suiteFilterName(s.members.map((m) => m.name)), { "@type": ANY.filterConfig, config: {} }]
        : [pluginFilterName(s.plugin.name), { "@type": ANY.filterConfig, config: perRouteConfig(s.plugin) }],
    ),
  );
}

function perRouteConfig(p: PluginModel): object {
  return p.kind === "native" ? policyPerRoute(p.policy) : {};
}
