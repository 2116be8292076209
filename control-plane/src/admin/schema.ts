// The parts of the gateway JSON Schema the admin API serves on their own: the schema of one item
// of each list (a route, an upstream, ...), which is what PUT /{kind}/{name} takes.
import { gatewayJsonSchema } from "../config/index.js";
import type { Kind } from "../store/types.js";

export const JSON_SCHEMA_DRAFT_07 = "http://json-schema.org/draft-07/schema#";

/** The gateway schema's item schema for `kind` (self-contained: the schema has no $refs), or undefined. */
export function itemSchema(kind: Kind, schema: object = gatewayJsonSchema): Record<string, unknown> | undefined {
  const property = (schema as { properties?: Record<string, unknown> }).properties?.[kind];
  const list = arrayVariant(property);
  const items = list?.items;
  return isObject(items) ? { $schema: JSON_SCHEMA_DRAFT_07, ...items } : undefined;
}

/** The list schema itself, or its array branch when the list may also be null (`anyOf`/`oneOf`). */
function arrayVariant(property: unknown): Record<string, unknown> | undefined {
  if (!isObject(property)) return undefined;
  if (property.type === "array") return property;
  const variants = [property.anyOf, property.oneOf].find(Array.isArray) as unknown[] | undefined;
  return variants?.filter(isObject).find((v) => v.type === "array");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
