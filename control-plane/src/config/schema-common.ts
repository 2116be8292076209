// Building blocks shared by the section schemas: names, hosts, "exactly one of" objects, matchers.
import { z } from "zod";
import type { NamedMatch, PathMatch, ValueMatch } from "../model/types.js";
import { HOST_MATCH_PATTERN, NAME_PATTERN, hostMatchError, regexError } from "./syntax.js";

/** A string that must also pass `check` (a message, or null when fine). */
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
    const message =
      given.length === 0
        ? `give one of: ${keys.join(", ")}`
        : `give only one of ${given.join(", ")} (they are alternatives)`;
    ctx.addIssue({ code: "custom", message, input: value });
  };
}

export const ALSO_WITH_OTHER_ISSUES = {
  when: (payload: z.core.ParsePayload) => typeof payload.value === "object" && payload.value !== null,
};

export const absolutePath = checkedString((path) => (path.startsWith("/") ? null : `a path must start with "/" (got "${path}")`)).meta({
  pattern: "^/",
});

export const pathMatchSchema = z
  .strictObject({
    prefix: absolutePath.optional().meta({ description: 'Match paths starting with this ("/api" also matches "/api/x" and "/apix").' }),
    exact: absolutePath.optional().meta({ description: "Match this path exactly (the query string is not part of it)." }),
    regex: regexString.optional().meta({ description: "Match the whole path against this RE2 regular expression." }),
  })
  .superRefine(exactlyOne(["prefix", "exact", "regex"]), ALSO_WITH_OTHER_ISSUES)
  .transform((m): PathMatch => {
    if (m.exact !== undefined) return { kind: "exact", value: m.exact };
    if (m.regex !== undefined) return { kind: "regex", value: m.regex };
    return { kind: "prefix", value: m.prefix ?? "/" };
  })
  .meta({ description: "How the request path is matched: exactly one of prefix, exact, regex." });

/** Header and query parameter matchers share one shape. */
export function namedMatchSchema(what: "header" | "query parameter") {
  return z
    .strictObject({
      name: z.string().min(1).meta({ description: `The ${what} name.` }),
      exact: z.string().optional().meta({ description: "The value equals this." }),
      prefix: z.string().optional().meta({ description: "The value starts with this." }),
      regex: regexString.optional().meta({ description: "The whole value matches this RE2 regular expression." }),
      present: z
        .literal(true, { error: "present only takes true (to require absence, add invert: true)" })
        .optional()
        .meta({ description: `The ${what} is present, whatever its value.` }),
      invert: z.boolean().prefault(false).meta({ description: "Negate the match." }),
    })
    .superRefine(exactlyOne(["exact", "prefix", "regex", "present"]), ALSO_WITH_OTHER_ISSUES)
    .transform((m): NamedMatch => {
      let match: ValueMatch;
      if (m.exact !== undefined) match = { kind: "exact", value: m.exact };
      else if (m.prefix !== undefined) match = { kind: "prefix", value: m.prefix };
      else if (m.regex !== undefined) match = { kind: "regex", value: m.regex };
      else match = { kind: "present" };
      // Header names are case-insensitive (and lower case on HTTP/2); query names are not.
      return { name: what === "header" ? m.name.toLowerCase() : m.name, match, invert: m.invert };
    })
    .meta({ description: `A ${what} matcher: name plus exactly one of exact, prefix, regex, present.` });
}

export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
