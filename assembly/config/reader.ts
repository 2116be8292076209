// Typed, located access to a JSON config. Every problem is collected with the path of the
// field it concerns (e.g. `rules[2].request.set.x-user`), so one configure attempt reports
// all mistakes at once and the user never has to guess which field was meant.
import { JsonKind, JsonValue, kindName, parseJsonBuffer } from "../json";

export class ConfigErrors {
  messages: string[] = [];

  add(path: string, message: string): void {
    this.messages.push(path.length ? path + ": " + message : message);
  }

  get empty(): bool { return this.messages.length == 0; }

  /** One line per error, prefixed with the filter's name, for Envoy's log. */
  format(filterName: string): string {
    return filterName + ": invalid configuration: " + this.messages.join("; ");
  }
}

export function childPath(path: string, key: string): string {
  return path.length ? path + "." + key : key;
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

  /** Reports members that no reader asked for: a misspelt key must not be silently ignored. */
  finish(): void {
    const n = this.value.length;
    for (let i = 0; i < n; i++) {
      const key = this.value.keyAt(i);
      if (!this.seen.includes(key)) this.errors.add(this.at(key), "unknown field");
    }
  }
}

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
  if (buf.byteLength > maxBytes) {
    errors.add("", "configuration is " + buf.byteLength.toString() + " bytes, at most " + maxBytes.toString() + " allowed");
    return null;
  }
  const parsed = parseJsonBuffer(buf);
  if (!parsed.ok) {
    errors.add("", "configuration is not valid JSON: " + parsed.error + " at byte " + parsed.offset.toString());
    return null;
  }
  return parsed.value;
}
