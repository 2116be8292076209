// Hand-written xDS resources (proto3 JSON, as the translator produces them) for the xDS tests.
import { expect } from "vitest";
import { resourceName } from "../../../src/xds/proto.js";
import { XDS_TYPES, type ResourceSet, type XdsType } from "../../../src/xds/types.js";

type Json = Record<string, unknown>;

export const ADS = { ads: {}, resource_api_version: "V3" };
const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

export function edsCluster(name: string): Json {
  return { name, type: "EDS", connect_timeout: "1s", eds_cluster_config: { eds_config: ADS } };
}

export function staticCluster(name: string, port: number): Json {
  return { name, type: "STATIC", connect_timeout: "1s", load_assignment: endpoints(name, port) };
}

export function endpoints(cluster: string, port: number, address = "127.0.0.1"): Json {
  return {
    cluster_name: cluster,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }],
  };
}

/** A listener whose HttpConnectionManager takes its routes over RDS (ADS). */
export function rdsListener(name: string, o: { port?: number; routeConfig?: string; httpFilters?: Json[] } = {}): Json {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: o.port ?? 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: name,
              rds: { route_config_name: o.routeConfig ?? name, config_source: ADS },
              http_filters: [...(o.httpFilters ?? []), { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }],
            },
          },
        ],
      },
    ],
  };
}

export interface RouteSpec {
  prefix?: string;
  regex?: string;
  cluster?: string;
  weighted?: { name: string; weight: number }[];
  prefixRewrite?: string;
}

export function routeConfig(name: string, routes: RouteSpec[]): Json {
  return {
    name,
    virtual_hosts: [
      {
        name: "all",
        domains: ["*"],
        routes: routes.map((r) => ({
          match: r.regex !== undefined ? { safe_regex: { regex: r.regex } } : { prefix: r.prefix ?? "/" },
          route: {
            ...(r.weighted ? { weighted_clusters: { clusters: r.weighted } } : { cluster: r.cluster ?? "upstream" }),
            ...(r.prefixRewrite !== undefined ? { prefix_rewrite: r.prefixRewrite } : {}),
          },
        })),
      },
    ],
  };
}

export function secret(name: string): Json {
  return { name, generic_secret: { secret: { inline_string: "s3cret" } } };
}

const byName = (list: Json[] | undefined) => new Map((list ?? []).map((r) => [resourceName(r)!, r as object]));

/** Resources by the types' keys (secrets, extension_configs, clusters, ...). */
export function resourceSet(o: { [K in XdsType["key"]]?: Json[] }): ResourceSet {
  return Object.fromEntries(XDS_TYPES.map(({ url, key }) => [url, byName(o[key])]));
}

/** One EDS cluster "upstream" on `port`, one listener "public" with its RDS route config. */
export function basicSet(port: number, routes: RouteSpec[] = [{ prefix: "/" }]): ResourceSet {
  return resourceSet({
    clusters: [edsCluster("upstream")],
    endpoints: [endpoints("upstream", port)],
    listeners: [rdsListener("public")],
    routes: [routeConfig("public", routes)],
  });
}

/** The error `fn` throws, checked to be a `type`; fails when `fn` returns. */
export function thrown<E>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a ${type.name}`);
}
