// Typed, located access to a JSON config. Every problem is collected with the path of the
// field it concerns (e.g. `rules[2].request.set.x-user`), so one configure attempt reports
// all mistakes at once and the user never has to guess which field was meant.
import { JsonKind, JsonValue, kindName, parseJsonBuffer, quoteJson } from "../json";

/** Errors kept in full; the rest are only counted, so a hostile config cannot flood the log line. */
const MAX_MESSAGES: i32 = 20;
/** Longest message kept (a message may quote a value from the config). */
const MAX_MESSAGE_CHARS: i32 = 512;

export class ConfigErrors {
  messages: string[] = [];
  /** Errors beyond MAX_MESSAGES, counted but not kept. */
  dropped: i32 = 0;

  /** A problem at `path`; the empty path is the configuration itself (e.g. it is not an object). */
  add(path: string, message: string): void {
    this.keep((path.length ? path : "configuration") + ": " + message);
  }

  /** A problem with the document as a whole (its size, its JSON syntax): "configuration <message>". */
  addDocument(message: string): void {
    this.keep("configuration " + message);
  }

  private keep(message: string): void {
    if (this.messages.length >= MAX_MESSAGES) {
      this.dropped++;
      return;
    }
    this.messages.push(message.length > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS) + "..." : message);
  }

  get empty(): bool { return this.messages.length == 0; }

  /** One line for Envoy's log, prefixed with the filter's name: the first errors, then how many more. */
  format(filterName: string): string {
    const more = this.dropped > 0 ? "; and " + this.dropped.toString() + " more" : "";
    return filterName + ": invalid configuration: " + this.messages.join("; ") + more;
  }
}

/** Longest key echoed into a path: an error line must stay readable and bounded, whatever the input. */
const MAX_KEY_IN_PATH = 64;

/** A key that reads unambiguously after a dot: letters, digits, `_`, `-`, `:` (header names). */
function isPlainKey(key: string): bool {
  if (key.length == 0 || key.length > MAX_KEY_IN_PATH) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2d || c == 0x3a;
    if (!ok) return false;
  }
  return true;
}

/**
 * `path.key`; a key that is empty, long, or has other characters (spaces, dots, quotes, control
 * characters: anything a user could misread) is quoted as JSON and cut: `path["a b"]`, and at
 * the top level `configuration["a b"]`.
 */
export function childPath(path: string, key: string): string {
  if (isPlainKey(key)) return path.length ? path + "." + key : key;
  const shown = key.length > MAX_KEY_IN_PATH ? quoteJson(key.substring(0, MAX_KEY_IN_PATH)) + "..." : quoteJson(key);
  return (path.length ? path : "configuration") + "[" + shown + "]";
}

export function indexPath(path: string, index: i32): string {
  return path + "[" + index.toString() + "]";
}

/** A JSON object being read, with its location; unknown keys are reported by `finish()`. */
export class ObjectReader {
  private seen: string[] = [];

  constructor(
    public readonly value: JsonValue,
    public readonly path: string,
    public readonly errors: ConfigErrors,
  ) {}

  /** Reads `value` as an object, or reports and returns null. */
  static of(value: JsonValue | null, path: string, errors: ConfigErrors): ObjectReader | null {
    if (value === null) return null;
    if (!value.isObject) {
      errors.add(path, "must be an object, got " + kindName(value.kind));
      return null;
    }
    return new ObjectReader(value, path, errors);
  }

  at(key: string): string { return childPath(this.path, key); }

  has(key: string): bool { return this.value.has(key); }

  /** The raw member, marking it as known. */
  raw(key: string): JsonValue | null {
    if (!this.seen.includes(key)) this.seen.push(key);
    return this.value.get(key);
  }

  private typed(key: string, kind: JsonKind, required: bool): JsonValue | null {
    const v = this.raw(key);
    if (v === null) {
      if (required) this.errors.add(this.at(key), "is required");
      return null;
    }
    if (v.kind != kind) {
      this.errors.add(this.at(key), "must be " + kindName(kind) + ", got " + kindName(v.kind));
      return null;
    }
    return v;
  }

  object(key: string, required: bool = false): ObjectReader | null {
    const v = this.typed(key, JsonKind.Object, required);
    return v === null ? null : new ObjectReader(v, this.at(key), this.errors);
  }

  array(key: string, required: bool = false, maxItems: i32 = 1024): JsonValue | null {
    const v = this.typed(key, JsonKind.Array, required);
    if (v !== null && v.length > maxItems) {
      this.errors.add(this.at(key), "has " + v.length.toString() + " items, at most " + maxItems.toString() + " allowed");
      return null;
    }
    return v;
  }

  string(key: string, fallback: string, required: bool = false, maxLength: i32 = 4096): string {
    const v = this.typed(key, JsonKind.String, required);
    if (v === null) return fallback;
    if (v.str.length > maxLength) {
      this.errors.add(this.at(key), "is longer than " + maxLength.toString() + " characters");
      return fallback;
    }
    return v.str;
  }

  /** A string that may be absent (null) but, when present, must be a string. */
  optionalString(key: string, maxLength: i32 = 4096): string | null {
    if (!this.value.has(key)) {
      this.raw(key);
      return null;
    }
    const v = this.typed(key, JsonKind.String, false);
    if (v === null) return null;
    if (v.str.length > maxLength) {
      this.errors.add(this.at(key), "is longer than " + maxLength.toString() + " characters");
      return null;
    }
    return v.str;
  }

  /** A name that becomes part of metric or shared-data names: 1-64 characters of a-z, 0-9, _. */
  metricName(key: string, fallback: string, required: bool = false): string {
    const s = this.string(key, fallback, required, 64);
    if (s.length && !isMetricName(s)) this.errors.add(this.at(key), "may contain only a-z, 0-9 and _");
    return s;
  }

  bool(key: string, fallback: bool): bool {
    const v = this.typed(key, JsonKind.Bool, false);
    return v === null ? fallback : v.bool;
  }

  int(key: string, fallback: i64, min: i64, max: i64, required: bool = false): i64 {
    const v = this.typed(key, JsonKind.Number, required);
    if (v === null) return fallback;
    if (!v.integral || v.num < <f64>min || v.num > <f64>max) {
      this.errors.add(this.at(key), "must be an integer from " + min.toString() + " to " + max.toString());
      return fallback;
    }
    return <i64>v.num;
  }

  number(key: string, fallback: f64, min: f64, max: f64, required: bool = false): f64 {
    const v = this.typed(key, JsonKind.Number, required);
    if (v === null) return fallback;
    if (v.num < min || v.num > max) {
      this.errors.add(this.at(key), "must be a number from " + min.toString() + " to " + max.toString());
      return fallback;
    }
    return v.num;
  }

  /**
   * A duration in milliseconds under `key` — a string such as "250ms", "15s", "2m", "1h",
   * "1m30s" (whole milliseconds; the control plane's grammar) or a number of seconds — or, for
   * configs written before it, under `legacyKey`: an integer in units of `legacyUnitMs` (e.g.
   * `timeout_ms` with 1, `refresh_s` with 1000). Giving both is an error naming both; bounds are
   * reported in the unit-free form ("must be between 100ms and 60s").
   */
  duration(key: string, legacyKey: string, legacyUnitMs: i64, fallbackMs: i64, minMs: i64, maxMs: i64, required: bool = false): i64 {
    const v = this.raw(key);
    const legacy = legacyKey.length ? this.raw(legacyKey) : null;
    if (v !== null && legacy !== null) {
      this.errors.add(this.path, "give either " + key + " or the legacy " + legacyKey + ", not both");
      return fallbackMs;
    }
    const range = "between " + formatDuration(minMs) + " and " + formatDuration(maxMs);
    if (legacy !== null) {
      const unit = legacyUnitMs == 1 ? "milliseconds" : legacyUnitMs == 1000 ? "seconds" : "units of " + formatDuration(legacyUnitMs);
      if (legacy.kind != JsonKind.Number || !legacy.integral) {
        this.errors.add(this.at(legacyKey), "must be an integer (" + unit + "), got " + (legacy.kind == JsonKind.Number ? "a fraction" : kindName(legacy.kind)));
        return fallbackMs;
      }
      const ms = legacy.num * <f64>legacyUnitMs;
      if (ms < <f64>minMs || ms > <f64>maxMs) {
        this.errors.add(this.at(legacyKey), "must be " + range + " (" + (<f64>minMs / <f64>legacyUnitMs).toString() + " to " + (<f64>maxMs / <f64>legacyUnitMs).toString() + " " + unit + ")");
        return fallbackMs;
      }
      return <i64>ms;
    }
    if (v === null) {
      if (required) this.errors.add(this.at(key), "is required" + (legacyKey.length ? " (or the legacy " + legacyKey + ")" : ""));
      return fallbackMs;
    }
    let ms: f64 = -1;
    if (v.kind == JsonKind.Number) {
      if (v.num < 0 || !isFinite(v.num)) {
        this.errors.add(this.at(key), "a duration must not be negative");
        return fallbackMs;
      }
      ms = v.num * 1000;
    } else if (v.kind == JsonKind.String) {
      ms = parseDurationMs(v.str);
      if (ms < 0) {
        this.errors.add(this.at(key), "invalid duration \"" + v.str + "\": use a number with a unit (ms, s, m, h) such as \"250ms\", \"15s\", \"1m30s\", or a number of seconds");
        return fallbackMs;
      }
    } else {
      this.errors.add(this.at(key), "must be a duration string such as \"15s\" or a number of seconds, got " + kindName(v.kind));
      return fallbackMs;
    }
    // Decimal fractions (0.1 s) are not exact in binary: round the float noise away, then
    // insist on whole milliseconds, as the control plane does.
    const rounded = Math.round(ms * 1000) / 1000;
    if (rounded != Math.floor(rounded)) {
      this.errors.add(this.at(key), "a duration must be a whole number of milliseconds");
      return fallbackMs;
    }
    if (rounded < <f64>minMs || rounded > <f64>maxMs) {
      this.errors.add(this.at(key), "must be " + range);
      return fallbackMs;
    }
    return <i64>rounded;
  }

  /** Reports members that no reader asked for: a misspelt key must not be silently ignored. */
  finish(): void {
    const n = this.value.length;
    for (let i = 0; i < n; i++) {
      const key = this.value.keyAt(i);
      if (!this.seen.includes(key)) this.errors.add(this.at(key), "unknown field");
    }
  }
}

/**
 * Milliseconds in "250ms", "15s", "2m", "1h", "1m30s" (grammar `^(\d+(\.\d+)?(ms|s|m|h))+$`,
 * surrounding blanks ignored, as control-plane/src/config/durations.ts); -1 if it is not one.
 */
export function parseDurationMs(raw: string): f64 {
  const s = raw.trim();
  const n = s.length;
  if (n == 0) return -1;
  let i = 0;
  let total: f64 = 0;
  while (i < n) {
    const start = i;
    let amount: f64 = 0;
    while (i < n && isAsciiDigit(s.charCodeAt(i))) amount = amount * 10 + <f64>(s.charCodeAt(i++) - 0x30);
    if (i == start) return -1;
    if (i < n && s.charCodeAt(i) == 0x2e) { // '.'
      i++;
      let scale: f64 = 0.1;
      const fracStart = i;
      while (i < n && isAsciiDigit(s.charCodeAt(i))) {
        amount += <f64>(s.charCodeAt(i++) - 0x30) * scale;
        scale /= 10;
      }
      if (i == fracStart) return -1;
    }
    if (i >= n) return -1;
    const u = s.charCodeAt(i);
    let unitMs: f64;
    if (u == 0x6d && i + 1 < n && s.charCodeAt(i + 1) == 0x73) { unitMs = 1; i += 2; } // ms
    else if (u == 0x73) { unitMs = 1000; i++; } // s
    else if (u == 0x6d) { unitMs = 60_000; i++; } // m
    else if (u == 0x68) { unitMs = 3_600_000; i++; } // h
    else return -1;
    total += amount * unitMs;
  }
  return total;
}

/** `ms` in the largest unit that states it exactly ("24h", "2m", "60s", "250ms"; a minute is "60s"). */
export function formatDuration(ms: i64): string {
  if (ms != 0 && ms % 3_600_000 == 0) return (ms / 3_600_000).toString() + "h";
  if (ms > 60_000 && ms % 60_000 == 0) return (ms / 60_000).toString() + "m";
  if (ms % 1000 == 0) return (ms / 1000).toString() + "s";
  return ms.toString() + "ms";
}

function isAsciiDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

export function isMetricName(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x5f)) return false;
  }
  return true;
}

/** Reads a string array member; reports non-string items by index. */
export function readStringArray(v: JsonValue, path: string, errors: ConfigErrors, maxLength: i32 = 4096): string[] {
  const out = new Array<string>();
  for (let i = 0; i < v.length; i++) {
    const item = v.at(i);
    if (!item.isString) {
      errors.add(indexPath(path, i), "must be a string, got " + kindName(item.kind));
    } else if (item.str.length > maxLength) {
      errors.add(indexPath(path, i), "is longer than " + maxLength.toString() + " characters");
    } else {
      out.push(item.str);
    }
  }
  return out;
}

/** Parses a plugin configuration buffer; an empty buffer reads as `{}`. */
export function parseConfigDocument(buf: ArrayBuffer, maxBytes: i32, errors: ConfigErrors): JsonValue | null {
  if (buf.byteLength == 0) return JsonValue.object([], []);
  if (!withinSize(buf.byteLength, maxBytes, errors)) return null;
  const parsed = parseJsonBuffer(buf);
  if (!parsed.ok) {
    errors.addDocument("is not valid JSON: " + parsed.error + " at byte " + parsed.offset.toString());
    return null;
  }
  return parsed.value;
}

/** A configuration of `bytes` bytes is within a filter's limit; else reports it (as the document's error) and returns false. */
function withinSize(bytes: i64, maxBytes: i32, errors: ConfigErrors): bool {
  if (bytes <= <i64>maxBytes) return true;
  errors.addDocument("is " + bytes.toString() + " bytes, at most " + maxBytes.toString() + " allowed");
  return false;
}

/**
 * A filter's configuration as it reaches the filter's parser: the bytes Envoy hands over, or, for
 * a member of a suite (filters/suite), the member's part of the suite's document, already parsed.
 * The suite hands the part over as it is instead of writing it out as JSON text for the member to
 * parse again: that text and the second parse were most of the suite VM's memory at configure
 * (docs/benchmarks.md, #14). Either way the filter's own size limit applies: to the bytes, or to
 * the part's length as compact JSON (what the member would have been handed as text).
 */
export class ConfigSource {
  private constructor(
    private readonly bytes: ArrayBuffer | null,
    private readonly parsed: JsonValue | null,
    /** The parsed value's length as compact JSON. */
    private readonly parsedBytes: i64,
  ) {}

  static ofBytes(buf: ArrayBuffer): ConfigSource { return new ConfigSource(buf, null, 0); }

  // Measured here, not in document(): a filter's own module never calls ofValue, so the measure
  // (and the number formatting it needs) is only compiled into the suite's.
  static ofValue(value: JsonValue): ConfigSource { return new ConfigSource(null, value, value.toJsonByteLength()); }

  /** The document, or null (with `errors` filled) when it is over `maxBytes` or not JSON. */
  document(maxBytes: i32, errors: ConfigErrors): JsonValue | null {
    const parsed = this.parsed;
    if (parsed === null) return parseConfigDocument(this.bytes as ArrayBuffer, maxBytes, errors);
    return withinSize(this.parsedBytes, maxBytes, errors) ? parsed : null;
  }
}
