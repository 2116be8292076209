// The gRPC service definition of envoy.service.discovery.v3.AggregatedDiscoveryService, written
// by hand on top of the protobufjs codec in proto.ts (no proto-loader, no generated code).
// Tests build a client from the same definition to play Envoy.
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import {
  decodeDiscoveryRequest,
  decodeDiscoveryResponse,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "./proto.js";

const SERVICE = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export type AdsServiceDefinition = ServiceDefinition<{
  StreamAggregatedResources: unknown;
  DeltaAggregatedResources: unknown;
}>;

export function adsServiceDefinition(): AdsServiceDefinition {
  const sotw: MethodDefinition<DiscoveryRequest, DiscoveryResponse> = {
    path: `${SERVICE}/StreamAggregatedResources`,
    originalName: "streamAggregatedResources",
    requestStream: true,
    responseStream: true,
    requestSerialize: (req) => toBuffer(encodeDiscoveryRequest(req)),
    requestDeserialize: (bytes) => decodeDiscoveryRequest(bytes),
    responseSerialize: (res) => toBuffer(encodeDiscoveryResponse(res)),
    responseDeserialize: (bytes) => decodeDiscoveryResponse(bytes),
  };
  // Delta xDS is not served (Envoy is configured with api_type GRPC); its messages stay opaque.
  const delta: MethodDefinition<Buffer, Buffer> = {
    path: `${SERVICE}/DeltaAggregatedResources`,
    originalName: "deltaAggregatedResources",
    requestStream: true,
    responseStream: true,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  };
  return { StreamAggregatedResources: sotw, DeltaAggregatedResources: delta };
}
