// The shape of a gateway config file: one list per collection (collections.ts), each item checked
// by its collection's schema. zod checks each value where it stands; relations between values
// (names, references, files) are checked in relations.ts, references.ts and files.ts.
import { z } from "zod";
import { COLLECTIONS, COLLECTION_NAMES, type CollectionName } from "./collections.js";
import { PLUGINS_IN_ONE_FILTER_KEY, pluginsInOneFilterSchema } from "./schema-plugins.js";
import { RATE_LIMIT_SERVICE_KEY, rateLimitServiceSchema } from "./schema-rate-limit-service.js";

export const gatewayConfigSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "JSON Schema of this file (for editors); ignored." }),
    ...(Object.fromEntries(COLLECTION_NAMES.map((name) => [name, collectionSchema(name)])) as {
      [C in CollectionName]: ReturnType<typeof collectionSchema<C>>;
    }),
    [RATE_LIMIT_SERVICE_KEY]: rateLimitServiceSchema.optional(),
    [PLUGINS_IN_ONE_FILTER_KEY]: pluginsInOneFilterSchema,
  })
  .meta({ title: "Portico gateway configuration", description: "Listeners, routes, upstreams and plugins of a Portico gateway." });

/** A collection's list: absent or null is an empty list. */
function collectionSchema<C extends CollectionName>(name: C) {
  const { item, description } = COLLECTIONS[name];
  return z
    .array(item as (typeof COLLECTIONS)[C]["item"])
    .nullish()
    .meta({ description });
}

export type { ListenerInput } from "./schema-listeners.js";
export type { PluginInput } from "./schema-plugins.js";
export type { RouteInput } from "./schema-routes.js";
export type { UpstreamInput } from "./schema-upstreams.js";
