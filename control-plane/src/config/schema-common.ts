// Building blocks shared by the section schemas: names, hosts, "exactly one of" objects, matchers.
import { z } from "zod";
import type { NamedMatch, PathMatch, ValueMatch } from "../model/types.js";
import { HOST_MATCH_PATTERN, NAME_PATTERN, hostMatchError, regexError } from "./syntax.js";

/** A string that must also pass `check` (a message, or null when fine). */
/**
 * Envoy's counts and weights are uint32 (UInt32Value): a larger number would pass here and fail
 * only when sent to Envoy, refusing the whole change with no place in the file.
 */
export const UINT32_MAX = 4_294_967_295;

export function checkedString(check: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const message = check(value);
    if (message !== null) ctx.addIssue({ code: "custom", message, input: value });
  });
}

export function resourceName(description: string) {
  return z
    .string()
    .regex(new RegExp(NAME_PATTERN), {
      error: (issue) =>
        `invalid name ${JSON.stringify(issue.input)}: use lower-case letters, digits, "-" and "_", starting with a letter or digit`,
    })
    .meta({ description });
}

/** A reference to another resource by name; its existence is checked across sections later. */
export function reference(description: string) {
  return z.string().min(1).meta({ description });
}

export function hostMatch(allowAny: boolean) {
  return checkedString((host) => hostMatchError(host, allowAny))
    .meta({ pattern: allowAny ? `^\\*$|${HOST_MATCH_PATTERN}` : HOST_MATCH_PATTERN })
    .transform((host) => host.toLowerCase());
}

export const regexString = checkedString(regexError);

/**
 * A refinement for objects whose keys in `keys` are alternatives: exactly one must be given.
 * Pass ALSO_WITH_OTHER_ISSUES beside it: the check only looks at which keys are present, so it can
 * run (and be reported) even when some value in the object is wrong.
 */
export function exactlyOne(keys: readonly string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = keys.filter((key) => value[key] !== undefined);
    if (given.length === 1) return;
    const message = given.length === 0 ? `give one of: ${keys.join(", ")}` : `give only one of ${given.join(", ")} (they are alternatives)`;
    ctx.addIssue({ code: "custom", message, input: value });
  };
}

export const ALSO_WITH_OTHER_ISSUES = {
  when: (payload: z.core.ParsePayload) => typeof payload.value === "object" && payload.value !== null,
};

export const absolutePath = checkedString((path) => (path.startsWith("/") ? null : `a path must start with "/" (got "${path}")`)).meta({
  pattern: "^/",
});

const PATH_KINDS = ["prefix", "exact", "suffix", "glob", "regex"] as const;

export const pathMatchSchema = z
  .strictObject({
    prefix: absolutePath.optional().meta({ description: 'Match paths starting with this ("/api" also matches "/api/x" and "/apix").' }),
    exact: absolutePath.optional().meta({ description: "Match this path exactly (the query string is not part of it)." }),
    suffix: z
      .string()
      .min(1, { error: "must not be empty" })
      .optional()
      .meta({ description: 'Match paths ending with this (e.g. ".json").' }),
    glob: absolutePath.optional().meta({
      description:
        'Match the whole path against this glob: "*" matches within one segment (no "/"), "**" across segments, "?" one character other than "/".',
    }),
    regex: regexString.optional().meta({ description: "Match the whole path against this RE2 regular expression." }),
  })
  .superRefine(exactlyOne(PATH_KINDS), ALSO_WITH_OTHER_ISSUES)
  .transform((m): PathMatch => {
    for (const kind of PATH_KINDS) {
      const value = m[kind];
      if (value !== undefined) return { kind, value };
    }
    return { kind: "prefix", value: "/" };
  })
  .meta({ description: "How the request path (without its query string) is matched: exactly one of prefix, exact, suffix, glob, regex." });

const VALUE_KINDS = ["exact", "prefix", "suffix", "contains", "regex", "present"] as const;

/** Envoy refuses empty prefix, suffix and contains tests (they would match any value). */
const nonEmpty = z.string().min(1, { error: "must not be empty (to match any value, use present: true)" });

/** Header and query parameter matchers share one shape (filter rules use the same one). */
export function namedMatchSchema(what: "header" | "query parameter") {
  return z
    .strictObject({
      name: z
        .string()
        .min(1)
        .meta({ description: `The ${what} name.` }),
      exact: z.string().optional().meta({ description: "The value equals this." }),
      prefix: nonEmpty.optional().meta({ description: "The value starts with this." }),
      suffix: nonEmpty.optional().meta({ description: "The value ends with this." }),
      contains: nonEmpty.optional().meta({ description: "The value contains this." }),
      regex: regexString.optional().meta({ description: "The whole value matches this RE2 regular expression." }),
      present: z
        .boolean()
        .optional()
        .meta({ description: `true: the ${what} is present, whatever its value; false: it is absent.` }),
      invert: z.boolean().prefault(false).meta({ description: "Negate the match." }),
    })
    .superRefine(exactlyOne(VALUE_KINDS), ALSO_WITH_OTHER_ISSUES)
    .transform((m): NamedMatch => {
      let match: ValueMatch = { kind: m.present === false ? "absent" : "present" };
      for (const kind of VALUE_KINDS) {
        const value = m[kind];
        if (kind !== "present" && typeof value === "string") match = { kind, value };
      }
      // Header names are case-insensitive (and lower case on HTTP/2); query names are not.
      return { name: what === "header" ? m.name.toLowerCase() : m.name, match, invert: m.invert };
    })
    .meta({
      description: `A ${what} matcher: name plus exactly one of exact, prefix, suffix, contains, regex, present; invert negates it.`,
    });
}

export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** An HTTP header name (an RFC 9110 token), lower-cased. */
export const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: (issue) => `invalid header name ${JSON.stringify(issue.input)}` })
  .transform((name) => name.toLowerCase());

/** An HTTP method (any case), upper-cased. */
export const method = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { error: (issue) => `invalid HTTP method ${JSON.stringify(issue.input)}` })
  .transform((m) => m.toUpperCase());
