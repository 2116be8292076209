// Properties (Envoy "attributes"). The guest asks for a path whose segments are separated by NUL
// ("request\0path"); tests name them with dots ("request.path"). Keys are kept in NUL form, so a
// guest asking for the literal "request.path" gets NotFound, as in Envoy, which looks that up as
// one unknown top-level name.
import { serializePairs } from "./abi.js";
import type { HeaderMap } from "./headers.js";
import { toUtf8 } from "./memory.js";

/** Strings become UTF-8, numbers and bigints 8-byte little-endian int64 (Envoy's encoding of e.g. source.port). */
export type PropertyValue = string | Uint8Array | number | bigint | boolean;
export type Properties = Record<string, PropertyValue>;

/** "source.address" -> "source\0address"; a key that already contains NUL is used as is. */
export const propertyPath = (key: string): string => (key.includes("\0") ? key : key.split(".").join("\0"));

export function encodeProperty(value: PropertyValue): Uint8Array {
  if (typeof value === "string") return toUtf8(value);
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value === "boolean") return Uint8Array.of(value ? 1 : 0);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(value), true);
  return out;
}

export function propertyMap(props: Properties | undefined): Map<string, Uint8Array> {
  return new Map(Object.entries(props ?? {}).map(([k, v]) => [propertyPath(k), encodeProperty(v)]));
}

/** What a stream exposes to attribute lookups. */
export interface AttributeSource {
  /** Envoy derives request.* from the header map only while it holds it (see stream.ts). */
  readonly readableRequestHeaders: HeaderMap | null;
  readonly readableResponseHeaders: HeaderMap | null;
  readonly responseCode: number | undefined;
  readonly protocol: string;
}

const FROM_HEADER: Record<string, string> = {
  host: ":authority",
  method: ":method",
  scheme: ":scheme",
  referer: "referer",
  useragent: "user-agent",
  id: "x-request-id",
};

/** The request.* and response.* attributes Envoy derives from headers and stream info. */
export function streamAttribute(path: string, src: AttributeSource): Uint8Array | undefined {
  const [root, field = "", sub] = path.split("\0");
  const utf8 = (v: string | undefined) => (v === undefined ? undefined : toUtf8(v));
  const headersAttr = (h: HeaderMap | null) => (!h ? undefined : sub === undefined ? serializePairs(h.toList()) : utf8(h.get(sub)));
  if (root === "response") {
    if (field === "code") return src.responseCode === undefined ? undefined : encodeProperty(src.responseCode);
    return field === "headers" ? headersAttr(src.readableResponseHeaders) : undefined;
  }
  if (root !== "request") return undefined;
  if (field === "protocol") return toUtf8(src.protocol);
  const h = src.readableRequestHeaders;
  if (field === "headers") return headersAttr(h);
  const p = h?.get(":path");
  if (field === "path") return utf8(p);
  if (field === "url_path") return utf8(p?.split("?")[0]);
  if (field === "query") return utf8(p === undefined ? undefined : p.split("?").slice(1).join("?"));
  return FROM_HEADER[field] === undefined ? undefined : utf8(h?.get(FROM_HEADER[field]));
}
