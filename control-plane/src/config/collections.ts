// The collections of a gateway file, declared once: the top-level schema, shape checking, the
// reference graph, the admin API's kinds and its OpenAPI titles are all read from this table, so
// adding a collection is one entry here plus its item schema.
import { ACL_FILTER, AUTH_FILTERS } from "./consumer-filters.js";
import { consumerSchema } from "./schema-consumers.js";
import { listenerSchema } from "./schema-listeners.js";
import { pluginSchema } from "./schema-plugins.js";
import { routeSchema } from "./schema-routes.js";
import { upstreamSchema } from "./schema-upstreams.js";

/** Stands for every index of a list in a reference path. */
export const EACH = Symbol("each");

export const COLLECTIONS = {
  listeners: {
    singular: "listener",
    description: "Where the gateway accepts requests.",
    item: listenerSchema,
    references: [],
  },
  routes: {
    singular: "route",
    description: "Routing rules: which requests go to which upstreams.",
    item: routeSchema,
    // Where a route names items of other collections, as paths into the route.
    references: [
      { to: "listeners", at: ["listeners", EACH] },
      { to: "upstreams", at: ["upstream"] },
      { to: "upstreams", at: ["upstreams", EACH, "name"] },
      { to: "plugins", at: ["plugins", EACH] },
    ],
  },
  upstreams: {
    singular: "upstream",
    description: "Backend services.",
    item: upstreamSchema,
    references: [],
  },
  plugins: {
    singular: "plugin",
    description: "Wasm filters; their order is the filter chain's order.",
    item: pluginSchema,
    // The clusters a plugin's config names are not declared here: the filter reports them
    // (config/plugin-check.ts), since only the filter knows which of its fields name clusters.
    // The consumers an ACL or an auth filter's `anonymous` names are, for those filters only
    // (`filters`), and only in a config written as a map.
    references: [
      { to: "consumers", at: ["config", "allow", "consumers", EACH], filters: [ACL_FILTER] },
      { to: "consumers", at: ["config", "deny", "consumers", EACH], filters: [ACL_FILTER] },
      { to: "consumers", at: ["config", "anonymous"], filters: AUTH_FILTERS },
    ],
  },
  consumers: {
    singular: "consumer",
    description: "Callers known by name, with groups and credentials (docs/consumers.md).",
    item: consumerSchema,
    references: [],
  },
} as const;

export type CollectionName = keyof typeof COLLECTIONS;

/** In file order (the order the schema and the admin API list them in). */
export const COLLECTION_NAMES = Object.keys(COLLECTIONS) as CollectionName[];

/** "routes" → "route", for messages. */
export function singular(collection: CollectionName): string {
  return COLLECTIONS[collection].singular;
}

/** "routes" → "Route": the item's schema name in the OpenAPI document. */
export function title(collection: CollectionName): string {
  const one = singular(collection);
  return one.charAt(0).toUpperCase() + one.slice(1);
}
