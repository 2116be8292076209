// Shape checks: the document against the zod schema, item by item, so that a bad route does not
// hide the good ones from the cross-reference checks that follow.
import { z } from "zod";
import type { Problem } from "./errors.js";
import { friendlyMessage, issuesToProblems } from "./issues.js";
import { SECTION_NAMES, gatewayConfigSchema, sectionSchemas, type SectionName } from "./schema.js";

export interface Indexed<T> {
  /** Position in the section's list as written (paths and lines refer to it). */
  index: number;
  value: T;
}

export type ParsedSections = { [S in SectionName]: Indexed<z.output<(typeof sectionSchemas)[S]>>[] };

export interface ShapeResult {
  sections: ParsedSections;
  /**
   * Every item as written, valid or not: names and references are checked on these too, so an
   * item with a bad value still gets its references checked, and a reference to it is not "unknown".
   */
  written: { [S in SectionName]: unknown[] };
  problems: Problem[];
}

const frame = z.strictObject({
  $schema: z.string().optional(),
  ...Object.fromEntries(SECTION_NAMES.map((section) => [section, z.array(z.unknown()).nullish()])),
});

export function checkShape(document: unknown): ShapeResult {
  const result: ShapeResult = {
    sections: { listeners: [], routes: [], upstreams: [], plugins: [] },
    written: { listeners: [], routes: [], upstreams: [], plugins: [] },
    problems: [],
  };
  if (document === null || document === undefined) return result; // an empty file: an empty gateway

  const top = frame.safeParse(document, { error: friendlyMessage });
  if (!top.success) {
    result.problems.push(...issuesToProblems(top.error.issues, [], gatewayConfigSchema));
    // Sections that are lists are still checked below; the others were reported above.
  }
  const lists = typeof document === "object" && !Array.isArray(document) ? (document as Record<string, unknown>) : {};

  for (const section of SECTION_NAMES) {
    const items = lists[section];
    if (!Array.isArray(items)) continue;
    result.written[section] = items;
    items.forEach((item: unknown, index) => parseItem(section, item, index, result));
  }
  return result;
}

function parseItem<S extends SectionName>(section: S, item: unknown, index: number, into: ShapeResult): void {
  const parsed = sectionSchemas[section].safeParse(item, { error: friendlyMessage });
  if (parsed.success) {
    (into.sections[section] as Indexed<unknown>[]).push({ index, value: parsed.data });
  } else {
    into.problems.push(...issuesToProblems(parsed.error.issues, [section, index], gatewayConfigSchema));
  }
}

/** `item[key]` when item is a map as written, else undefined (for checks that read unvalidated items). */
export function fieldOf(item: unknown, key: string): unknown {
  return typeof item === "object" && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>)[key] : undefined;
}

export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
