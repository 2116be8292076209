// The cluster a proxy_grpc_call names. Its first argument is an encoded
// envoy.config.core.v3.GrpcService; Envoy (Context::grpcCall) falls back to taking the bytes as a
// cluster name when they do not parse as that message.

/** GrpcService.envoy_grpc (field 1).cluster_name (field 1), or the bytes as text when they are not such a message. */
export function grpcServiceCluster(bytes: Uint8Array): string {
  const envoyGrpc = lengthField(bytes, 1);
  const cluster = envoyGrpc && lengthField(envoyGrpc, 1);
  return cluster ? new TextDecoder().decode(cluster) : new TextDecoder().decode(bytes);
}

/** The last length-delimited field `field` of a message; undefined when the bytes are not a well-formed message or lack it. */
function lengthField(bytes: Uint8Array, field: number): Uint8Array | undefined {
  let pos = 0;
  let found: Uint8Array | undefined;
  const varint = (): number | undefined => {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const tag = varint();
    if (tag === undefined || tag < 8) return undefined;
    const [num, wire] = [Math.floor(tag / 8), tag % 8];
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > bytes.length) return undefined;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || pos + len > bytes.length) return undefined;
      if (num === field) found = bytes.subarray(pos, pos + len);
      pos += len;
    } else return undefined;
  }
  return found;
}
