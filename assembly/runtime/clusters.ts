// Tells the host which Envoy clusters the configured filter will call, so the control plane can
// check that they exist without knowing the filter's config fields (the filter knows them).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { quoteJson } from "../json/value";
import { OUT_PTR, OUT_SIZE, resetOut, takeHostBuffer } from "./host";

const DECLARE_CLUSTERS = String.UTF8.encode("portico_declare_clusters");

/** A cluster the filter calls, and where its config names it (the reader's path, e.g. "providers[0].remote_jwks.cluster"). */
export class ClusterRef {
  constructor(public readonly name: string, public readonly path: string) {}
}

/**
 * Declares the clusters from the configure step through the foreign function
 * "portico_declare_clusters" (argument: a JSON array of {"name","path"}). Portico's emulator
 * (the control plane's config check) records them; Envoy has no such function and answers
 * NotFound, which is ignored. Returns whether the host took the declaration.
 */
export function declareClusters(refs: ClusterRef[]): bool {
  if (refs.length == 0) return false;
  let json = "[";
  for (let i = 0; i < refs.length; i++) {
    if (i > 0) json += ",";
    json += "{\"name\":" + quoteJson(refs[i].name) + ",\"path\":" + quoteJson(refs[i].path) + "}";
  }
  const args = String.UTF8.encode(json + "]");
  resetOut();
  const r = abi.proxy_call_foreign_function(
    changetype<usize>(DECLARE_CLUSTERS), DECLARE_CLUSTERS.byteLength, changetype<usize>(args), args.byteLength, OUT_PTR, OUT_SIZE,
  );
  if (r == 0) takeHostBuffer();
  return r == 0;
}
