// proto3 JSON <-> protobufjs messages, by reflection over the message Types: the JSON mapping
// Envoy's own YAML/JSON configs use (field names in snake_case or camelCase, "@type" Anys,
// Duration strings, wrappers as plain values, Struct as plain JSON, enums by name, 64-bit
// integers as numbers or strings, bytes as base64). protobufjs' fromObject handles none of these
// specially, so jsonToObject() walks the JSON against the Type and hands fromObject an object in
// its own canonical form; messageToJson() is the way back. Errors carry the JSON path.
import protobuf from "protobufjs";
import { MAX_DURATION_SECONDS as MAX_DURATION_SECONDS_NUMBER } from "../config/durations.js";

type PbType = protobuf.Type;
type PbField = protobuf.Field;
type PbEnum = protobuf.Enum;

/** Type name after the last "/" of a type URL. */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

export function lookupMessage(root: protobuf.Root, name: string): PbType | undefined {
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// proto3 JSON -> protobufjs object form

/** A proto3 JSON value that does not fit its message type; `path` locates it in the resource. */
export class ProtoJsonError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly resource?: string,
  ) {
    super(`${resource ? `${resource}: ` : ""}${path ? `${path}: ` : ""}${reason}`);
    this.name = "ProtoJsonError";
  }
  /** The same error, prefixed with the resource it occurred in. */
  within(resource: string): ProtoJsonError {
    return new ProtoJsonError(this.path, this.reason, resource);
  }
}

const joinKey = (path: string, key: string) => (path ? `${path}.${key}` : key);
const joinIndex = (path: string, i: number) => `${path}[${i}]`;

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

const describe = (v: unknown): string =>
  Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;

const WRAPPERS: Record<string, string> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};

/** Types whose JSON form is not an object of fields; inside an Any they sit under "value". */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.FieldMask",
  "google.protobuf.Any",
]);

/**
 * A type's name without the leading dot. Memoised: protobufjs' fullName getter walks the parent
 * chain and joins a new string on every call, and the converters ask once per message.
 */
const fullNames = new WeakMap<PbType | PbEnum, string>();
function fullName(t: PbType | PbEnum): string {
  let name = fullNames.get(t);
  if (name === undefined) {
    name = t.fullName.replace(/^\./, "");
    fullNames.set(t, name);
  }
  return name;
}

const INT32 = new Set(["int32", "sint32", "sfixed32"]);
const UINT32 = new Set(["uint32", "fixed32"]);
const INT64 = new Set(["int64", "sint64", "sfixed64"]);
const UINT64 = new Set(["uint64", "fixed64"]);

function integer(v: unknown, type: string, path: string): number | string {
  let text: string;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new ProtoJsonError(path, `expected an integer (${type}), got ${v}`);
    text = BigInt(v).toString();
  } else if (typeof v === "string" && /^-?\d+$/.test(v)) {
    text = BigInt(v).toString();
  } else if (typeof v === "string" && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) && Number.isInteger(Number(v))) {
    text = BigInt(Number(v)).toString(); // "1e3" is a valid proto3 JSON integer
  } else {
    throw new ProtoJsonError(path, `expected an integer (${type}), got ${describe(v)}`);
  }
  const n = BigInt(text);
  const [lo, hi] = INT32.has(type)
    ? [-(2n ** 31n), 2n ** 31n - 1n]
    : UINT32.has(type)
      ? [0n, 2n ** 32n - 1n]
      : INT64.has(type)
        ? [-(2n ** 63n), 2n ** 63n - 1n]
        : [0n, 2n ** 64n - 1n];
  if (n < lo || n > hi) throw new ProtoJsonError(path, `${text} is out of range for ${type}`);
  // 64-bit values stay strings: protobufjs turns them into Longs without losing precision.
  return INT64.has(type) || UINT64.has(type) ? text : Number(text);
}

function floating(v: unknown, type: string, path: string): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  throw new ProtoJsonError(path, `expected a number (${type}), got ${describe(v)}`);
}

function base64Bytes(v: unknown, path: string): Uint8Array {
  if (typeof v !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) {
    throw new ProtoJsonError(path, `expected base64 bytes, got ${describe(v)}`);
  }
  return new Uint8Array(Buffer.from(v.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

function scalar(v: unknown, type: string, path: string): unknown {
  if (INT32.has(type) || UINT32.has(type) || INT64.has(type) || UINT64.has(type)) return integer(v, type, path);
  switch (type) {
    case "double":
    case "float":
      return floating(v, type, path);
    case "bool":
      if (typeof v !== "boolean") throw new ProtoJsonError(path, `expected true or false, got ${describe(v)}`);
      return v;
    case "string":
      if (typeof v !== "string") throw new ProtoJsonError(path, `expected a string, got ${describe(v)}`);
      return v;
    case "bytes":
      return base64Bytes(v, path);
    default:
      throw new ProtoJsonError(path, `unsupported field type ${type}`);
  }
}

function enumValue(e: PbEnum, v: unknown, path: string): number {
  if (typeof v === "string") {
    const n = e.values[v];
    if (n === undefined) {
      throw new ProtoJsonError(path, `unknown ${fullName(e)} value "${v}" (one of ${Object.keys(e.values).join(", ")})`);
    }
    return n;
  }
  if (typeof v === "number" && Number.isInteger(v)) return v;
  throw new ProtoJsonError(path, `expected a ${fullName(e)} name, got ${describe(v)}`);
}

const MAX_DURATION_SECONDS = BigInt(MAX_DURATION_SECONDS_NUMBER); // 10,000 years, the proto3 JSON limit

function duration(v: unknown, path: string): { seconds: string; nanos: number } {
  const m = typeof v === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
  if (!m) throw new ProtoJsonError(path, `expected a duration such as "5s" or "0.250s", got ${describe(v)}`);
  const seconds = BigInt(m[2]!);
  if (seconds > MAX_DURATION_SECONDS) throw new ProtoJsonError(path, `duration ${v} is out of range`);
  const nanos = Number((m[3] ?? "").padEnd(9, "0"));
  const sign = m[1] ? -1 : 1;
  return { seconds: (seconds * BigInt(sign)).toString(), nanos: nanos * sign || 0 };
}

function timestamp(v: unknown, path: string): { seconds: string; nanos: number } {
  const m = typeof v === "string" ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(v) : null;
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new ProtoJsonError(path, `expected an RFC 3339 timestamp, got ${describe(v)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

const snakeCase = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camelCase = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Keys of a well-known type in protobufjs' object form. The bundled well-known types do not
 * follow keepCase (Value has "listValue", Any has "type_url"), so they are looked up by their
 * .proto name rather than spelled here.
 */
function wktKeys(root: protobuf.Root, typeName: string): (protoName: string) => string {
  let byRoot = wktKeyCache.get(root);
  if (!byRoot) {
    byRoot = new Map();
    wktKeyCache.set(root, byRoot);
  }
  let keys = byRoot.get(typeName);
  if (!keys) {
    const names = new Map(root.lookupType(typeName).fieldsArray.map((f) => [f.protoName ?? f.name, f.name]));
    keys = (protoName) => names.get(protoName) ?? protoName;
    byRoot.set(typeName, keys);
  }
  return keys;
}
/** wktKeys() per root and type: looked up once, not for every Duration, Struct or Any converted. */
const wktKeyCache = new WeakMap<protobuf.Root, Map<string, (protoName: string) => string>>();

function structValue(root: protobuf.Root, v: unknown, path: string): Record<string, unknown> {
  const k = wktKeys(root, "google.protobuf.Value");
  if (v === null) return { [k("null_value")]: 0 };
  if (typeof v === "number") return { [k("number_value")]: v };
  if (typeof v === "string") return { [k("string_value")]: v };
  if (typeof v === "boolean") return { [k("bool_value")]: v };
  if (Array.isArray(v)) return { [k("list_value")]: listValue(root, v, path) };
  if (isPlainObject(v)) return { [k("struct_value")]: struct(root, v, path) };
  throw new ProtoJsonError(path, `cannot represent ${describe(v)} as JSON`);
}

function listValue(root: protobuf.Root, v: unknown, path: string): Record<string, unknown> {
  if (!Array.isArray(v)) throw new ProtoJsonError(path, `expected an array (google.protobuf.ListValue), got ${describe(v)}`);
  return { [wktKeys(root, "google.protobuf.ListValue")("values")]: v.map((x, i) => structValue(root, x, joinIndex(path, i))) };
}

function struct(root: protobuf.Root, v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw new ProtoJsonError(path, `expected an object (google.protobuf.Struct), got ${describe(v)}`);
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) fields[k] = structValue(root, v[k], joinKey(path, k));
  return { [wktKeys(root, "google.protobuf.Struct")("fields")]: fields };
}

/** Converts the proto3 JSON value of a message type into protobufjs' object form (for Type.fromObject). */
export function jsonToObject(root: protobuf.Root, type: PbType, v: unknown, path: string): Record<string, unknown> {
  const name = fullName(type);
  const wrapped = WRAPPERS[name];
  if (wrapped) return { [wktKeys(root, name)("value")]: scalar(v, wrapped, path) };
  switch (name) {
    case "google.protobuf.Duration":
    case "google.protobuf.Timestamp": {
      const k = wktKeys(root, name);
      const { seconds, nanos } = name === "google.protobuf.Duration" ? duration(v, path) : timestamp(v, path);
      return { [k("seconds")]: seconds, [k("nanos")]: nanos };
    }
    case "google.protobuf.Struct":
      return struct(root, v, path);
    case "google.protobuf.Value":
      return structValue(root, v, path);
    case "google.protobuf.ListValue":
      return listValue(root, v, path);
    case "google.protobuf.FieldMask":
      if (typeof v !== "string") throw new ProtoJsonError(path, `expected a field mask string, got ${describe(v)}`);
      return { [wktKeys(root, name)("paths")]: v === "" ? [] : v.split(",").map((p) => p.split(".").map(snakeCase).join(".")) };
    case "google.protobuf.Any":
      return any(root, v, path);
  }
  if (!isPlainObject(v)) throw new ProtoJsonError(path, `expected an object (${name}), got ${describe(v)}`);
  return fields(root, type, v, path);
}

function fields(root: protobuf.Root, type: PbType, v: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const oneofSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(v)) {
    const at = joinKey(path, key);
    const field = fieldByJsonKey(type, key);
    if (!field) throw new ProtoJsonError(at, "unknown field");
    if (field.name in out) throw new ProtoJsonError(at, `field ${field.name} is set twice`);
    // null means "default" in proto3 JSON, except for google.protobuf.Value where it is a value.
    if (value === null && !(field.resolvedType && fullName(field.resolvedType) === "google.protobuf.Value")) continue;
    if (field.partOf) {
      const other = oneofSeen.get(field.partOf.name);
      if (other) throw new ProtoJsonError(at, `${key} and ${other} are both set, but only one of ${field.partOf.name} may be`);
      oneofSeen.set(field.partOf.name, key);
    }
    const converted = fieldValue(root, field, value, at);
    if (converted !== undefined) out[field.name] = converted;
  }
  return out;
}

function fieldByJsonKey(type: PbType, key: string): PbField | undefined {
  const direct = type.fields[key];
  if (direct) return direct;
  return type.fieldsArray.find((f) => f.jsonName === key || camelCase(f.name) === key);
}

function isDefaultScalar(field: PbField, v: unknown): boolean {
  if (field.hasPresence || field.resolvedType instanceof protobuf.Type) return false;
  if (v instanceof Uint8Array) return v.length === 0;
  if (INT64.has(field.type) || UINT64.has(field.type)) return v === "0";
  return v === 0 || v === "" || v === false;
}

function fieldValue(root: protobuf.Root, field: PbField, v: unknown, path: string): unknown {
  field.resolve();
  if (field.map) {
    if (!isPlainObject(v)) throw new ProtoJsonError(path, `expected an object (map), got ${describe(v)}`);
    const keyType = (field as unknown as protobuf.MapField).keyType;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      if (keyType === "bool" && k !== "true" && k !== "false") throw new ProtoJsonError(joinKey(path, k), "map key must be true or false");
      if (keyType !== "string" && keyType !== "bool") integer(k, keyType, joinKey(path, k));
      out[k] = singular(root, field, v[k], joinKey(path, k));
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) throw new ProtoJsonError(path, `expected an array, got ${describe(v)}`);
    return v.length ? v.map((x, i) => singular(root, field, x, joinIndex(path, i))) : undefined;
  }
  const one = singular(root, field, v, path);
  // proto3 fields without presence are not written when they hold their default, as protoc does:
  // equal configs then give equal bytes, whatever way the JSON spelled them.
  return isDefaultScalar(field, one) ? undefined : one;
}

function singular(root: protobuf.Root, field: PbField, v: unknown, path: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return jsonToObject(root, t, v, path);
  if (t instanceof protobuf.Enum) return enumValue(t, v, path);
  return scalar(v, field.type, path);
}

function any(root: protobuf.Root, v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw new ProtoJsonError(path, `expected an object with "@type" (google.protobuf.Any), got ${describe(v)}`);
  const typeUrl = v["@type"];
  if (typeUrl === undefined && Object.keys(v).length === 0) return {};
  if (typeof typeUrl !== "string" || !typeUrl.includes("/")) {
    throw new ProtoJsonError(
      joinKey(path, "@type"),
      `expected a type URL such as "type.googleapis.com/<message>", got ${describe(typeUrl)}`,
    );
  }
  const inner = lookupMessage(root, typeNameOf(typeUrl));
  if (!inner) {
    throw new ProtoJsonError(joinKey(path, "@type"), `type ${typeNameOf(typeUrl)} is not loaded (add it to ANY_TYPES in xds/proto.ts)`);
  }
  const { "@type": _, ...rest } = v;
  let obj: Record<string, unknown>;
  if (SPECIAL_JSON.has(fullName(inner))) {
    for (const k of Object.keys(rest)) if (k !== "value") throw new ProtoJsonError(joinKey(path, k), "unknown field");
    obj = jsonToObject(root, inner, rest.value, joinKey(path, "value"));
  } else {
    obj = fields(root, inner, rest, path);
  }
  const k = wktKeys(root, "google.protobuf.Any");
  return { [k("type_url")]: typeUrl, [k("value")]: inner.encode(inner.fromObject(obj)).finish() };
}

// ---------------------------------------------------------------------------------------------
// protobufjs message -> proto3 JSON (for tests, status and the consistency checks, which read resources in
// one canonical spelling: field names as in the .proto files, Anys expanded)

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** int64 values decode as Longs (or numbers when small); both print as decimal. */
const longText = (v: unknown): string => String(v);

function scalarToJson(v: unknown, type: string): Json {
  if (INT64.has(type) || UINT64.has(type)) return longText(v);
  if (type === "bytes") return Buffer.from(v as Uint8Array).toString("base64");
  if ((type === "double" || type === "float") && typeof v === "number" && !Number.isFinite(v)) return String(v);
  return v as Json;
}

/** A decoded well-known-type message, read by .proto field name. */
function wkt(root: protobuf.Root, typeName: string, m: Record<string, unknown>): (protoName: string) => unknown {
  const k = wktKeys(root, typeName);
  return (protoName) => {
    const key = k(protoName);
    return Object.hasOwn(m, key) ? m[key] : undefined;
  };
}

function durationToJson(seconds: bigint, nanos: number): string {
  const negative = seconds < 0n || nanos < 0;
  const abs = (seconds < 0n ? -seconds : seconds).toString();
  let frac = String(Math.abs(nanos)).padStart(9, "0");
  // proto3 JSON prints 0, 3, 6 or 9 fractional digits.
  frac = frac === "000000000" ? "" : frac.endsWith("000000") ? frac.slice(0, 3) : frac.endsWith("000") ? frac.slice(0, 6) : frac;
  return `${negative ? "-" : ""}${abs}${frac ? `.${frac}` : ""}s`;
}

function valueToJson(root: protobuf.Root, m: Record<string, unknown>): Json {
  const get = wkt(root, "google.protobuf.Value", m);
  const struct = get("struct_value");
  if (struct != null) return structToJson(root, struct as Record<string, unknown>);
  const list = get("list_value");
  if (list != null) return listToJson(root, list as Record<string, unknown>);
  for (const kind of ["string_value", "number_value", "bool_value"]) {
    const v = get(kind);
    if (v != null) return v as Json;
  }
  return null;
}

function listToJson(root: protobuf.Root, m: Record<string, unknown>): Json {
  return ((wkt(root, "google.protobuf.ListValue", m)("values") ?? []) as Record<string, unknown>[]).map((x) => valueToJson(root, x));
}

function structToJson(root: protobuf.Root, m: Record<string, unknown>): Json {
  const out: Record<string, Json> = {};
  const fields = (wkt(root, "google.protobuf.Struct", m)("fields") ?? {}) as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(root, v);
  return out;
}

export function messageToJson(root: protobuf.Root, type: PbType, m: Record<string, unknown>): Json {
  const name = fullName(type);
  return SPECIAL_JSON.has(name) ? specialToJson(root, type, name, m) : fieldsToJson(root, type, m);
}

/** A well-known type whose JSON form is not an object of its fields. */
function specialToJson(root: protobuf.Root, type: PbType, name: string, m: Record<string, unknown>): Json {
  const get = wkt(root, name, m);
  const wrapped = WRAPPERS[name];
  if (wrapped) return scalarToJson(get("value") ?? type.fieldsArray[0]!.typeDefault, wrapped);
  switch (name) {
    case "google.protobuf.Duration":
      return durationToJson(BigInt(longText(get("seconds") ?? 0)), Number(get("nanos") ?? 0));
    case "google.protobuf.Timestamp": {
      const iso = new Date(Number(longText(get("seconds") ?? 0)) * 1000).toISOString().replace(/\.000Z$/, "Z");
      const nanos = Number(get("nanos") ?? 0);
      return nanos ? iso.replace(/Z$/, `.${String(nanos).padStart(9, "0")}Z`) : iso;
    }
    case "google.protobuf.Struct":
      return structToJson(root, m);
    case "google.protobuf.Value":
      return valueToJson(root, m);
    case "google.protobuf.ListValue":
      return listToJson(root, m);
    case "google.protobuf.FieldMask":
      return ((get("paths") ?? []) as string[]).map(camelCase).join(",");
    case "google.protobuf.Any":
      return anyToJson(root, get("type_url") as string | undefined, get("value") as Uint8Array | undefined);
  }
  return fieldsToJson(root, type, m);
}

function fieldsToJson(root: protobuf.Root, type: PbType, m: Record<string, unknown>): Json {
  const out: Record<string, Json> = {};
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(m, field.name)) continue;
    const v = m[field.name];
    if (v === null || v === undefined) continue;
    field.resolve();
    if (field.map) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (!entries.length) continue;
      out[field.name] = Object.fromEntries(entries.map(([k, x]) => [k, singularToJson(root, field, x)]));
    } else if (field.repeated) {
      if (!(v as unknown[]).length) continue;
      out[field.name] = (v as unknown[]).map((x) => singularToJson(root, field, x));
    } else {
      out[field.name] = singularToJson(root, field, v);
    }
  }
  return out;
}

function singularToJson(root: protobuf.Root, field: PbField, v: unknown): Json {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return messageToJson(root, t, v as Record<string, unknown>);
  if (t instanceof protobuf.Enum) return t.valuesById[v as number] ?? (v as number);
  return scalarToJson(v, field.type);
}

function anyToJson(root: protobuf.Root, typeUrl: string | undefined, value: Uint8Array | undefined): Json {
  if (!typeUrl) return {};
  const inner = lookupMessage(root, typeNameOf(typeUrl));
  if (!inner) throw new Error(`cannot decode an Any of type ${typeUrl}: not loaded (see ANY_TYPES)`);
  const decoded = inner.decode(value ?? new Uint8Array()) as unknown as Record<string, unknown>;
  const json = messageToJson(root, inner, decoded);
  return SPECIAL_JSON.has(fullName(inner)) ? { "@type": typeUrl, value: json } : { "@type": typeUrl, ...(json as Record<string, Json>) };
}
