// The rate limit service's messages from Envoy's own .proto files (shipped by @grpc/grpc-js-xds
// under deps/), through protobufjs: the tests decode what the filter sends and encode what the
// service answers with an independent, maintained codec, not the filter's own.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join } from "node:path";
import protobuf from "protobufjs";

let root: protobuf.Root | undefined;

function load(): protobuf.Root {
  if (root) return root;
  const require = createRequire(import.meta.url);
  const xds = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  const dirs = [
    ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xds, "deps", d)),
    dirname(require.resolve("protobufjs/package.json")),
  ];
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const d of dirs) if (existsSync(join(d, target))) return join(d, target);
    return target; // well-known types: built into protobufjs
  };
  r.loadSync(["envoy/service/ratelimit/v3/rls.proto", "envoy/config/core/v3/grpc_service.proto"], { keepCase: true });
  // The descriptor's own hits_addend (field 3) came after the Envoy API these deps ship: added as
  // envoy/extensions/common/ratelimit/v3/ratelimit.proto declares it today.
  const descriptor = r.lookupType("envoy.extensions.common.ratelimit.v3.RateLimitDescriptor");
  if (!descriptor.fields.hits_addend) descriptor.add(new protobuf.Field("hits_addend", 3, "google.protobuf.UInt64Value"));
  r.resolveAll();
  root = r;
  return r;
}

export const rlsType = (name: "RateLimitRequest" | "RateLimitResponse") => load().lookupType(`envoy.service.ratelimit.v3.${name}`);
export const grpcServiceType = () => load().lookupType("envoy.config.core.v3.GrpcService");

export interface SentRequest {
  domain: string;
  hits_addend: number;
  /** Each descriptor's entries as [key, value] pairs. */
  descriptors: [string, string][][];
  /** Each descriptor's own hits_addend; null when unset. */
  descriptorHits: (number | null)[];
}

/** What the filter sent, decoded by protobufjs. */
export function decodeRequest(bytes: Uint8Array): SentRequest {
  const m = rlsType("RateLimitRequest").toObject(rlsType("RateLimitRequest").decode(bytes), { defaults: true, longs: Number }) as {
    domain: string;
    hits_addend: number;
    descriptors: { entries: { key: string; value: string }[]; hits_addend?: { value: number } | null }[];
  };
  return {
    domain: m.domain,
    hits_addend: m.hits_addend,
    descriptors: m.descriptors.map((d) => d.entries.map((e) => [e.key, e.value] as [string, string])),
    descriptorHits: m.descriptors.map((d) => (d.hits_addend ? d.hits_addend.value : null)),
  };
}

export type Code = "UNKNOWN" | "OK" | "OVER_LIMIT";

export interface StatusSpec {
  code: Code;
  /** current_limit.requests_per_unit (and unit). */
  limit?: { requests_per_unit: number; unit: "SECOND" | "MINUTE" | "HOUR" | "DAY" };
  limit_remaining?: number;
  /** duration_until_reset in ms. */
  resetMs?: number;
}

/** A RateLimitResponse as the service would encode it. */
export function encodeResponse(overall: Code, statuses: StatusSpec[]): Uint8Array {
  const T = rlsType("RateLimitResponse");
  const msg = T.fromObject({
    overall_code: overall,
    statuses: statuses.map((s) => ({
      code: s.code,
      current_limit: s.limit,
      limit_remaining: s.limit_remaining ?? 0,
      duration_until_reset:
        s.resetMs === undefined ? undefined : { seconds: Math.floor(s.resetMs / 1000), nanos: (s.resetMs % 1000) * 1_000_000 },
    })),
  });
  return T.encode(msg).finish();
}
