// Header-map access that reports failures instead of aborting the VM.
//
// The SDK's helpers wrap results in CHECK_RESULT, which throws (and so kills the Wasm VM,
// failing every later request) on any non-OK status, e.g. when a map is not available in the
// current phase. A gateway filter must degrade, not die: these return what happened.
// Reads are answered from the callback's listing of the map when there is one, and changes are
// applied to it as well as sent to Envoy (header-listing.ts).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import {
  OUT_PTR, OUT_SIZE, armOut, endCall, resetOut, takeHostBuffer, takeHostString,
} from "./host";
import { decodeUtf8Lossy } from "../encoding/utf8";
import { encodeToScratch, scratchBytes } from "../encoding/utf8-scratch";
import { currentListing, headerChanged, listingIfCurrent } from "./header-listing";
import { PairEdit } from "./pair-edit";

export enum HeaderMap {
  RequestHeaders = 0,
  RequestTrailers = 1,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

const RESULT_OK: u32 = 0;

/** A header name with its UTF-8 bytes, encoded once (at configure time) instead of per call. */
export class HeaderName {
  readonly bytes: ArrayBuffer;

  constructor(public readonly text: string) {
    this.bytes = String.UTF8.encode(text);
  }
}

/** The first value of `name` (lowercase), or null when the header is absent. */
export function getHeader(map: HeaderMap, name: string): string | null {
  return getHeaderBytes(map, String.UTF8.encode(name));
}

/** getHeader with the name already encoded; no host call when this callback listed the map. */
export function getHeaderBytes(map: HeaderMap, key: ArrayBuffer): string | null {
  const l = listingIfCurrent(map);
  if (l !== null) return pairFirstAt(l.ptr, l.size, key);
  armOut();
  const r = abi.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, OUT_PTR, OUT_SIZE);
  endCall();
  if (r != RESULT_OK) return null;
  return takeHostString();
}

/** Replaces every value of `name` with `value`, adding the header when absent. */
export function setHeader(map: HeaderMap, name: string, value: string): bool {
  return setHeaderBytes(map, String.UTF8.encode(name), value);
}

export function setHeaderBytes(map: HeaderMap, key: ArrayBuffer, value: string): bool {
  // The host copies the value during the call: encoded into the reused scratch, not a new buffer.
  const n = encodeToScratch(value);
  return setHeaderRaw(map, key, scratchBytes(), <usize>n);
}

/** setHeaderBytes with the value as the `len` bytes at `ptr` (passed on as they are, UTF-8 or not). */
export function setHeaderRaw(map: HeaderMap, key: ArrayBuffer, ptr: usize, len: usize): bool {
  return changeHeader(map, PairEdit.Replace, key, ptr, len);
}

/** Appends another value of `name`. */
export function addHeader(map: HeaderMap, name: string, value: string): bool {
  return addHeaderBytes(map, String.UTF8.encode(name), value);
}

export function addHeaderBytes(map: HeaderMap, key: ArrayBuffer, value: string): bool {
  const n = encodeToScratch(value);
  return addHeaderRaw(map, key, scratchBytes(), <usize>n);
}

/** addHeaderBytes with the value as the `len` bytes at `ptr`. */
export function addHeaderRaw(map: HeaderMap, key: ArrayBuffer, ptr: usize, len: usize): bool {
  return changeHeader(map, PairEdit.Add, key, ptr, len);
}

/** Removes every value of `name`. */
export function removeHeader(map: HeaderMap, name: string): bool {
  return removeHeaderBytes(map, String.UTF8.encode(name));
}

export function removeHeaderBytes(map: HeaderMap, key: ArrayBuffer): bool {
  return changeHeader(map, PairEdit.Remove, key, 0, 0);
}

/**
 * The one way a header changes: the host call for `edit`, then the same change noted for the
 * callback's shared listing (header-listing.ts), which follows Envoy's map or is dropped.
 */
function changeHeader(map: HeaderMap, edit: PairEdit, key: ArrayBuffer, ptr: usize, len: usize): bool {
  const k = changetype<usize>(key);
  const n = key.byteLength;
  let r: u32;
  if (edit == PairEdit.Replace) r = abi.proxy_replace_header_map_value(map, k, n, ptr, len);
  else if (edit == PairEdit.Add) r = abi.proxy_add_header_map_value(map, k, n, ptr, len);
  else r = abi.proxy_remove_header_map_value(map, k, n);
  const ok = r == RESULT_OK;
  headerChanged(map, edit, k, <usize>n, ptr, len, ok);
  return ok;
}

export class HeaderEntry {
  constructor(public name: string, public value: string) {}
}

/** Every entry of a map, in order (repeated names appear once per value). */
export function getHeaders(map: HeaderMap): HeaderEntry[] {
  const out = new Array<HeaderEntry>();
  const l = currentListing(map);
  if (l !== null) decodePairs(l.ptr, l.size, null, out, null);
  return out;
}

/**
 * Every value of `key` (UTF-8 name bytes) in a map, in order. Like filtering getHeaders() by
 * name, but only the matching values are decoded: the other entries stay bytes.
 */
export function getHeaderValues(map: HeaderMap, key: ArrayBuffer): string[] {
  const out = new Array<string>();
  const l = currentListing(map);
  if (l !== null) decodePairs(l.ptr, l.size, key, null, out);
  return out;
}

/** A whole map in the pair encoding (a copy the caller keeps: one host call), or null when the map is not available now. */
export function getHeaderPairsBytes(map: HeaderMap): ArrayBuffer | null {
  resetOut();
  if (abi.proxy_get_header_map_pairs(map, OUT_PTR, OUT_SIZE) != RESULT_OK) return null;
  return takeHostBuffer();
}

/**
 * The values of `key` (UTF-8 name bytes) in a pairs buffer, in order; with `firstOnly` at most
 * one, the one proxy_get_header_map_value would return (Envoy answers with the first entry).
 */
export function pairValues(buf: ArrayBuffer, key: ArrayBuffer, firstOnly: bool): string[] {
  return pairValuesAt(changetype<usize>(buf), <usize>buf.byteLength, key, firstOnly);
}

/** pairValues on the `total` bytes at `base`, into `out` (emptied first) when given. */
export function pairValuesAt(base: usize, total: usize, key: ArrayBuffer, firstOnly: bool, out: string[] = new Array<string>()): string[] {
  out.length = 0;
  decodePairs(base, total, key, null, out, firstOnly);
  return out;
}

/** The first value of `key` in the `total` pair-encoded bytes at `base`, or null when absent. */
export function pairFirstAt(base: usize, total: usize, key: ArrayBuffer): string | null {
  const at = pairFindAt(base, total, key);
  return at < 0 ? null : decodeUtf8Lossy(base + <usize>(at >>> 32), <usize>(at & 0xffffffff));
}

/**
 * Where the first value of `key` is in the `total` pair-encoded bytes at `base`, without decoding
 * it: its offset from `base` in the high 32 bits and its length in the low ones; -1 when absent.
 */
export function pairFindAt(base: usize, total: usize, key: ArrayBuffer): i64 {
  if (total < 4) return -1;
  const count = <usize>load<u32>(base);
  if (count > (total - 4) / 8) return -1;
  let data = base + 4 + count * 8;
  const end = base + total;
  const keyLen = <usize>key.byteLength;
  for (let i: usize = 0; i < count; i++) {
    const nameLen = <usize>load<u32>(base + 4 + i * 8);
    const valueLen = <usize>load<u32>(base + 8 + i * 8);
    if (data + nameLen + valueLen + 2 > end) break;
    const name = data;
    data += nameLen + valueLen + 2;
    if (nameLen == keyLen && memory.compare(name, changetype<usize>(key), nameLen) == 0) {
      return (<i64>(name + nameLen + 1 - base) << 32) | <i64>valueLen;
    }
  }
  return -1;
}

/** How many entries named `key` the `total` pair-encoded bytes at `base` hold. */
export function pairCountAt(base: usize, total: usize, key: ArrayBuffer): i32 {
  if (total < 4) return 0;
  const count = <usize>load<u32>(base);
  if (count > (total - 4) / 8) return 0;
  let data = base + 4 + count * 8;
  const end = base + total;
  const keyLen = <usize>key.byteLength;
  let n = 0;
  for (let i: usize = 0; i < count; i++) {
    const nameLen = <usize>load<u32>(base + 4 + i * 8);
    const valueLen = <usize>load<u32>(base + 8 + i * 8);
    if (data + nameLen + valueLen + 2 > end) break;
    if (nameLen == keyLen && memory.compare(data, changetype<usize>(key), nameLen) == 0) n++;
    data += nameLen + valueLen + 2;
  }
  return n;
}

/** Decodes the proxy-wasm pair encoding: count, (name size, value size)*, then NUL-terminated bytes. */
export function decodeHeaderPairs(buf: ArrayBuffer): HeaderEntry[] {
  const out = new Array<HeaderEntry>();
  decodePairs(changetype<usize>(buf), <usize>buf.byteLength, null, out, null);
  return out;
}

/** Every entry into `entries`, or (with `only`) the values of entries named `only` into `values`. */
function decodePairs(
  base: usize, total: usize, only: ArrayBuffer | null, entries: HeaderEntry[] | null, values: string[] | null, firstOnly: bool = false,
): void {
  if (total < 4) return;
  const count = <usize>load<u32>(base);
  if (count > (total - 4) / 8) return;
  let data = base + 4 + count * 8;
  const end = base + total;
  for (let i: usize = 0; i < count; i++) {
    const nameLen = <usize>load<u32>(base + 4 + i * 8);
    const valueLen = <usize>load<u32>(base + 8 + i * 8);
    if (data + nameLen + valueLen + 2 > end) break;
    const name = data;
    data += nameLen + 1;
    const value = data;
    data += valueLen + 1;
    if (only === null) {
      entries!.push(new HeaderEntry(decodeUtf8Lossy(name, nameLen), decodeUtf8Lossy(value, valueLen)));
    } else if (nameLen == <usize>only.byteLength && memory.compare(name, changetype<usize>(only), nameLen) == 0) {
      values!.push(decodeUtf8Lossy(value, valueLen));
      if (firstOnly) return;
    }
  }
}

/** Encodes pairs for proxy_send_local_response / proxy_http_call / set pairs. */
export function encodeHeaderPairs(headers: HeaderEntry[]): ArrayBuffer {
  const n = headers.length;
  const names = new Array<ArrayBuffer>(n);
  const values = new Array<ArrayBuffer>(n);
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    names[i] = String.UTF8.encode(headers[i].name);
    values[i] = String.UTF8.encode(headers[i].value);
    size += names[i].byteLength + values[i].byteLength + 2;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, <u32>n);
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const nl = <usize>names[i].byteLength;
    const vl = <usize>values[i].byteLength;
    store<u32>(base + 4 + <usize>i * 8, <u32>nl);
    store<u32>(base + 8 + <usize>i * 8, <u32>vl);
    memory.copy(data, changetype<usize>(names[i]), nl);
    data += nl + 1; // NUL already there: ArrayBuffers are zero-filled
    memory.copy(data, changetype<usize>(values[i]), vl);
    data += vl + 1;
  }
  return buf;
}
