// Durations as users write them ("250ms", "15s", "2m", "1h", "1m30s", or a number of seconds),
// converted to whole milliseconds, which is what the model and Envoy's protos carry.
import { z } from "zod";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** One or more <number><unit> parts; also the JSON Schema pattern, so editors flag typos. */
export const DURATION_PATTERN = "^(\\d+(\\.\\d+)?(ms|s|m|h))+$";
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** The longest duration protobuf's Duration carries (10,000 years): what Envoy can be sent. */
export const MAX_DURATION_SECONDS = 315_576_000_000;
const MAX_DURATION_MS = MAX_DURATION_SECONDS * 1000;

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

export function parseDuration(value: string | number): DurationResult {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) return { ok: false, message: `a duration must not be negative (got ${value})` };
    ms = value * 1000;
  } else {
    const text = value.trim();
    if (!new RegExp(DURATION_PATTERN).test(text)) {
      return {
        ok: false,
        message: `invalid duration "${value}": use a number with a unit (ms, s, m, h) such as "250ms", "15s", "1m30s", or a number of seconds`,
      };
    }
    ms = 0;
    for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  // Decimal fractions (0.1 s) are not exact in binary: round away the float noise, then insist
  // on whole milliseconds, the finest unit Envoy is given here.
  const rounded = Math.round(ms * 1000) / 1000;
  if (!Number.isInteger(rounded)) return { ok: false, message: `a duration must be a whole number of milliseconds (got ${value})` };
  if (rounded > MAX_DURATION_MS)
    return { ok: false, message: `a duration must be at most ${MAX_DURATION_SECONDS}s, about 10,000 years (got ${value})` };
  return { ok: true, ms: rounded };
}

/** A duration field: accepts the string or number forms, yields milliseconds. */
export function duration(description: string, options: { positive?: boolean } = {}) {
  return (
    z
      // The pattern is for editors only (meta): the transform gives the clearer message.
      .union([z.number().min(0), z.string().meta({ pattern: DURATION_PATTERN })])
      .meta({ description })
      .transform((value, ctx) => {
        const result = parseDuration(value);
        if (result.ok && options.positive && result.ms === 0) {
          ctx.issues.push({ code: "custom", message: "must be longer than 0", input: value });
          return z.NEVER;
        }
        if (result.ok) return result.ms;
        ctx.issues.push({ code: "custom", message: result.message, input: value });
        return z.NEVER;
      })
  );
}
