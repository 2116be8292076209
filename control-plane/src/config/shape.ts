// Shape checks: the document against the zod schema, item by item, so that a bad route does not
// hide the good ones from the cross-reference checks that follow.
import { z } from "zod";
import type { Problem } from "./errors.js";
import { COLLECTIONS, COLLECTION_NAMES, type CollectionName } from "./collections.js";
import { friendlyMessage, issuesToProblems } from "./issues.js";
import { gatewayConfigSchema } from "./schema.js";
import { PLUGINS_IN_ONE_FILTER_KEY, pluginsInOneFilterSchema } from "./schema-plugins.js";
import { RATE_LIMIT_SERVICE_KEY, rateLimitServiceSchema } from "./schema-rate-limit-service.js";
import type { RateLimitServiceModel } from "../model/types.js";

export interface Indexed<T> {
  /** Position in the section's list as written (paths and lines refer to it). */
  index: number;
  value: T;
}

export type ParsedSections = { [C in CollectionName]: Indexed<z.output<(typeof COLLECTIONS)[C]["item"]>>[] };

export interface ShapeResult {
  sections: ParsedSections;
  /**
   * Every item as written, valid or not: names and references are checked on these too, so an
   * item with a bad value still gets its references checked, and a reference to it is not "unknown".
   */
  written: { [C in CollectionName]: unknown[] };
  /** `rate_limit_service:` when written and valid. */
  rateLimitService: RateLimitServiceModel | null;
  /** `plugins_in_one_filter:` (default true). */
  pluginsInOneFilter: boolean;
  problems: Problem[];
}

const frame = z.strictObject({
  $schema: z.string().optional(),
  ...Object.fromEntries(COLLECTION_NAMES.map((section) => [section, z.array(z.unknown()).nullish()])),
  [RATE_LIMIT_SERVICE_KEY]: z.unknown().optional(),
  [PLUGINS_IN_ONE_FILTER_KEY]: z.unknown().optional(),
});

export function checkShape(document: unknown): ShapeResult {
  const result: ShapeResult = {
    sections: perCollection(() => []) as ParsedSections,
    written: perCollection(() => []),
    rateLimitService: null,
    pluginsInOneFilter: true,
    problems: [],
  };
  if (document === null || document === undefined) return result; // an empty file: an empty gateway

  const top = frame.safeParse(document, { error: friendlyMessage });
  if (!top.success) {
    result.problems.push(...issuesToProblems(top.error.issues, [], gatewayConfigSchema));
    // Sections that are lists are still checked below; the others were reported above.
  }
  const lists = typeof document === "object" && !Array.isArray(document) ? (document as Record<string, unknown>) : {};

  if (lists[RATE_LIMIT_SERVICE_KEY] !== undefined && lists[RATE_LIMIT_SERVICE_KEY] !== null) {
    const parsed = rateLimitServiceSchema.safeParse(lists[RATE_LIMIT_SERVICE_KEY], { error: friendlyMessage });
    if (parsed.success) result.rateLimitService = parsed.data;
    else result.problems.push(...issuesToProblems(parsed.error.issues, [RATE_LIMIT_SERVICE_KEY], gatewayConfigSchema));
  }
  const inOneFilter = pluginsInOneFilterSchema.safeParse(lists[PLUGINS_IN_ONE_FILTER_KEY], { error: friendlyMessage });
  if (inOneFilter.success) result.pluginsInOneFilter = inOneFilter.data;
  else result.problems.push(...issuesToProblems(inOneFilter.error.issues, [PLUGINS_IN_ONE_FILTER_KEY], gatewayConfigSchema));
  for (const section of COLLECTION_NAMES) {
    const items = lists[section];
    if (!Array.isArray(items)) continue;
    result.written[section] = items;
    items.forEach((item: unknown, index) => {
      parseItem(section, item, index, result);
    });
  }
  return result;
}

function parseItem(section: CollectionName, item: unknown, index: number, into: ShapeResult): void {
  const parsed = COLLECTIONS[section].item.safeParse(item, { error: friendlyMessage });
  if (parsed.success) {
    (into.sections[section] as Indexed<unknown>[]).push({ index, value: parsed.data });
  } else {
    into.problems.push(...issuesToProblems(parsed.error.issues, [section, index], gatewayConfigSchema));
  }
}

function perCollection<T>(make: () => T): Record<CollectionName, T> {
  return Object.fromEntries(COLLECTION_NAMES.map((name) => [name, make()])) as Record<CollectionName, T>;
}

/** `item[key]` when item is a map as written, else undefined (for checks that read unvalidated items). */
export function fieldOf(item: unknown, key: string): unknown {
  return typeof item === "object" && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>)[key] : undefined;
}

export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

/** The names of the items as written (an item without a string name has none). */
export function writtenNames(items: unknown[]): Indexed<string>[] {
  return items.flatMap((item, index) => {
    const name = fieldOf(item, "name");
    return typeof name === "string" ? [{ index, value: name }] : [];
  });
}
