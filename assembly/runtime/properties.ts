// Envoy attributes ("properties") read through proxy_get_property. A path's segments are
// separated by NUL bytes on the wire; `propertyPath` builds that encoding once, at configure
// time, so the per-request lookup only passes a pointer.
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { OUT_PTR, OUT_SIZE, armOut, endCall, releaseHostResult, resetOut, takeHostBuffer, takeHostString } from "./host";

export class PropertyPath {
  constructor(public readonly encoded: ArrayBuffer, public readonly dotted: string) {}
}

/** Encodes a dotted attribute name ("request.path", "xds.route_name") for the host. */
export function propertyPath(dotted: string): PropertyPath {
  const segments = dotted.split(".");
  return new PropertyPath(String.UTF8.encode(segments.join("\0")), dotted);
}

/** The attribute's raw bytes, or null when Envoy does not know it for this stream. */
export function getPropertyBytes(path: PropertyPath): ArrayBuffer | null {
  resetOut();
  const r = abi.proxy_get_property(changetype<usize>(path.encoded), path.encoded.byteLength, OUT_PTR, OUT_SIZE);
  if (r != 0) return null;
  return takeHostBuffer();
}

export function getPropertyString(path: PropertyPath): string | null {
  armOut();
  const r = abi.proxy_get_property(changetype<usize>(path.encoded), path.encoded.byteLength, OUT_PTR, OUT_SIZE);
  endCall();
  if (r != 0) return null;
  return takeHostString();
}

/**
 * Reads the attribute into the host-result scratch (host.ts) for the caller to decode at once
 * (hostResultPtr()/hostResultSize(), then releaseHostResult()); false, with nothing to release,
 * when Envoy does not know it for this stream.
 */
export function readProperty(path: PropertyPath): bool {
  armOut();
  const r = abi.proxy_get_property(changetype<usize>(path.encoded), path.encoded.byteLength, OUT_PTR, OUT_SIZE);
  endCall();
  if (r == 0) return true;
  releaseHostResult();
  return false;
}

/** Stores a value other filters (and our templates) can read back as a property. */
export function setPropertyString(path: PropertyPath, value: string): bool {
  const v = String.UTF8.encode(value);
  return abi.proxy_set_property(changetype<usize>(path.encoded), path.encoded.byteLength, changetype<usize>(v), v.byteLength) == 0;
}
