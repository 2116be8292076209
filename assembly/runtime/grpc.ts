// Unary gRPC calls through an Envoy cluster (proxy_grpc_call), and reading their answers.
//
// Semantics (proxy-wasm-cpp-host over Envoy's Context::grpcCall): the call belongs to the root
// context of the effective context; its outcome reaches that root exactly once, either as
// proxy_on_grpc_receive(token, size) with the response message in BufferType GrpcReceiveBuffer,
// or as proxy_on_grpc_close(token, status) with a gRPC status (DEADLINE_EXCEEDED after the
// timeout, UNAVAILABLE when the cluster has no healthy host, ...). Envoy may report a failure
// while proxy_grpc_call itself runs, before the caller knows the token: a root must ignore
// answers for tokens it does not know. Envoy forgets a call only when its root goes away, so a
// stream that ends first must cancel its call (grpcCancel).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { BufferTypeValues } from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { ProtoWriter } from "../encoding/protobuf";
import { encodeHeaderPairs } from "./headers";
import { OUT_PTR, OUT_SIZE, OUT_U32, armOut, endCall, releaseHostResult } from "./host";
import { hostCallHooks } from "./stream";

// proxy_grpc_call as Envoy links it for ABI 0.2.1 (proxy-wasm-cpp-host exports.cc): 12
// parameters, with the initial metadata (serialized header pairs) before the request. The SDK
// declares the older 10-parameter form, and Envoy refuses to load a module importing that
// ("import type mismatch: env.proxy_grpc_call").
// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
declare function proxy_grpc_call(
  servicePtr: usize, serviceSize: usize, serviceNamePtr: usize, serviceNameSize: usize, methodNamePtr: usize, methodNameSize: usize,
  initialMetadataPtr: usize, initialMetadataSize: usize, requestPtr: usize, requestSize: usize, timeoutMs: u32, tokenPtr: usize,
): u32;

/** gRPC status codes a caller may want to name (grpc/doc/statuscodes.md). */
export const GRPC_OK: u32 = 0;
export const GRPC_DEADLINE_EXCEEDED: u32 = 4;
export const GRPC_UNAVAILABLE: u32 = 14;

/**
 * envoy.config.core.v3.GrpcService{envoy_grpc: {cluster_name}} encoded (GrpcService.envoy_grpc
 * is field 1, EnvoyGrpc.cluster_name field 1). Envoy also takes a bare cluster name where the
 * proto does not parse, but a name can happen to parse as a proto: the proto is unambiguous.
 */
export function grpcServiceProto(cluster: string): ArrayBuffer {
  return new ProtoWriter().message(1, new ProtoWriter().string(1, cluster)).finish();
}

/** Encoded names, made once per target (a call per request must not encode them again). */
export class GrpcTarget {
  readonly service: ArrayBuffer;
  readonly serviceName: ArrayBuffer;
  readonly methodName: ArrayBuffer;
  /** No initial metadata: the serialized empty list of header pairs. */
  readonly metadata: ArrayBuffer = encodeHeaderPairs([]);

  constructor(cluster: string, serviceName: string, methodName: string) {
    this.service = grpcServiceProto(cluster);
    this.serviceName = String.UTF8.encode(serviceName);
    this.methodName = String.UTF8.encode(methodName);
  }
}

/**
 * Starts a unary call of `target` with the encoded request `message`; returns its token, or 0
 * when Envoy refused to start it (unknown cluster, bad argument). The answer arrives on the
 * root context that is effective now (see the top of this file).
 */
export function grpcCall(target: GrpcTarget, message: ArrayBuffer, timeoutMs: u32): u32 {
  store<u32>(OUT_U32, 0);
  const r = proxy_grpc_call(
    changetype<usize>(target.service), target.service.byteLength,
    changetype<usize>(target.serviceName), target.serviceName.byteLength,
    changetype<usize>(target.methodName), target.methodName.byteLength,
    changetype<usize>(target.metadata), target.metadata.byteLength,
    changetype<usize>(message), message.byteLength, timeoutMs, OUT_U32,
  );
  const token = r == 0 ? load<u32>(OUT_U32) : 0;
  // A suite routes the answer to the filter that made the call (HostCallHooks in ./stream).
  const h = hostCallHooks();
  if (h !== null) h.grpcCallStarted(token);
  return token;
}

/** Cancels a pending call: no callback will come for it. False when Envoy did not know the token. */
export function grpcCancel(token: u32): bool {
  const h = hostCallHooks();
  if (h !== null) h.grpcCallCancelled(token);
  return abi.proxy_grpc_cancel(token) == 0;
}

/**
 * Reads the answer of size `size` in on_grpc_receive into the host-result scratch (host.ts): the
 * caller decodes hostResultPtr()/hostResultSize() at once, then calls releaseHostResult(). False,
 * with nothing to release, when the host did not hand the buffer out. An empty answer (size 0)
 * reads as ptr 0, size 0: a valid protobuf message with every field at its default.
 */
export function readGrpcResponse(size: u32): bool {
  armOut();
  const r = size == 0 ? 0 : abi.proxy_get_buffer_bytes(BufferTypeValues.GrpcReceiveBuffer, 0, size, OUT_PTR, OUT_SIZE);
  endCall();
  if (r == 0) return true;
  releaseHostResult();
  return false;
}
