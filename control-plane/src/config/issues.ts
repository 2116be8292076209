// zod's issues, reworded for people editing YAML ("a map", "a list") and turned into Problems.
import type { z } from "zod";
import type { Problem } from "./errors.js";

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a map",
  record: "a map",
  array: "a list",
  tuple: "a list",
  null: "null",
};

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function expectedOf(issues: readonly Issue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === "invalid_type") return [EXPECTED[issue.expected] ?? issue.expected];
    if (issue.code === "invalid_value") return issue.values.map((v) => JSON.stringify(v));
    return [];
  });
}

function orList(items: string[]): string {
  const distinct = [...new Set(items)];
  if (distinct.length <= 1) return distinct[0] ?? "something else";
  // "true or false, or a map": a comma keeps an item that has its own "or" apart.
  const last = distinct.some((item) => item.includes(" or ")) ? ", or " : " or ";
  return `${distinct.slice(0, -1).join(", ")}${last}${distinct.at(-1)}`;
}

/**
 * The per-parse error map: zod uses it for every issue whose schema set no message of its own.
 * Returning undefined keeps zod's message (only for kinds that never reach users here).
 */
export function friendlyMessage(issue: RawIssue): string | undefined {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${got}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}; got ${got}`;
    case "invalid_union":
      if (issue.input === undefined) return "is required";
      return `expected ${orList(issue.errors.flatMap((option) => expectedOf(option)))}, got ${got}`;
    case "too_small": {
      const min = String(issue.minimum);
      if (issue.origin === "array") return `must have at least ${min} item${min === "1" ? "" : "s"}`;
      if (issue.origin === "string") return min === "1" ? "must not be empty" : `must have at least ${min} characters`;
      return issue.inclusive === false ? `must be greater than ${min} (got ${got})` : `must be at least ${min} (got ${got})`;
    }
    case "too_big": {
      const max = String(issue.maximum);
      if (issue.origin === "array") return `must have at most ${max} items`;
      if (issue.origin === "string") return `must have at most ${max} characters`;
      return issue.inclusive === false ? `must be less than ${max} (got ${got})` : `must be at most ${max} (got ${got})`;
    }
    case "invalid_format":
      return `invalid value ${got}`;
    default:
      return undefined;
  }
}

/** Keys accepted by the object schema at `path` (for "did you mean"), walking through wrappers. */
export function allowedKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType[] = [schema];
  for (const segment of [...path, null]) {
    current = current.flatMap(unwrap);
    if (segment === null) break;
    current = current.flatMap((s) => child(s, segment));
  }
  return [...new Set(current.flatMap((s) => (defOf(s).type === "object" ? Object.keys(defOf(s).shape ?? {}) : [])))];
}

interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  items?: z.core.$ZodType[];
}

function defOf(schema: z.core.$ZodType): Def {
  return schema._zod.def as unknown as Def;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = defOf(schema);
  if (def.innerType) return unwrap(def.innerType);
  if (def.type === "pipe" && def.in) return unwrap(def.in);
  if (def.type === "union" && def.options) return def.options.flatMap(unwrap);
  return [schema];
}

function child(schema: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType[] {
  const def = defOf(schema);
  if (typeof segment === "number") {
    if (def.type === "array" && def.element) return [def.element];
    if (def.type === "tuple" && def.items?.[segment]) return [def.items[segment]];
    return [];
  }
  const field = def.type === "object" ? def.shape?.[String(segment)] : undefined;
  return field ? [field] : [];
}

/** Edits (insert, delete, replace, swap two neighbours) between a and b: "prot" is 1 from "port". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const close = allowed
    .map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ distance }) => distance <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.distance - b.distance)[0];
  if (close) return `unknown key "${key}" (did you mean "${close.candidate}"?)`;
  return allowed.length > 0 ? `unknown key "${key}" (expected one of: ${allowed.join(", ")})` : `unknown key "${key}"`;
}

/**
 * zod issues from parsing the value at `prefix` → Problems with full paths. `root` is the schema
 * of the whole document, used to name the keys an unknown key could have been meant as.
 */
export function issuesToProblems(issues: readonly Issue[], prefix: readonly PropertyKey[], root: z.core.$ZodType): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(root, path);
      return issue.keys.map((key) => ({ path: [...path, key], at: "key" as const, message: unknownKeyMessage(key, allowed) }));
    }
    return [{ path, message: issue.message }];
  });
}
