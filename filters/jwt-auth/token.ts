// Compact JWS parsing (RFC 7515 §7.1): three base64url segments, strict decoding, strict JSON
// objects for header and payload. Nothing here trusts the token: it only takes it apart.
import { JsonValue, parseJsonBuffer } from "../../assembly/json";
import { base64urlDecodeBytes } from "../../assembly/encoding/base64url";
import { Alg, algByName } from "./algorithms";
import { Failure } from "./failure";

export class Jws {
  alg!: Alg;
  kid: string | null = null;
  header!: JsonValue;
  payload!: JsonValue;
  /** ASCII bytes of "header.payload", what the signature covers. */
  signingInput!: Uint8Array;
  signature!: Uint8Array;
  /** The payload segment as it appears in the token (base64url). */
  payloadText: string = "";
}

export class ParseResult {
  constructor(public readonly jws: Jws | null, public readonly failure: Failure) {}
}

const DOT: u8 = 0x2e;

function fail(f: Failure): ParseResult {
  return new ParseResult(null, f);
}

export function parseJws(token: string, maxBytes: i32): ParseResult {
  if (token.length > maxBytes) return fail(Failure.TooLarge);
  const bytes = Uint8Array.wrap(String.UTF8.encode(token));
  if (bytes.length > maxBytes) return fail(Failure.TooLarge);
  const first = bytes.indexOf(DOT);
  const second = first < 0 ? -1 : bytes.indexOf(DOT, first + 1);
  if (first <= 0 || second < 0 || bytes.indexOf(DOT, second + 1) >= 0) return fail(Failure.Malformed);

  const headerBytes = base64urlDecodeBytes(bytes, 0, first);
  if (headerBytes === null) return fail(Failure.BadHeaderEncoding);
  const header = parseJsonBuffer(headerBytes.buffer, 16);
  if (!header.ok || !header.value!.isObject) return fail(Failure.BadHeaderJson);
  const payloadBytes = base64urlDecodeBytes(bytes, first + 1, second);
  if (payloadBytes === null) return fail(Failure.BadPayloadEncoding);
  const payload = parseJsonBuffer(payloadBytes.buffer, 32);
  if (!payload.ok || !payload.value!.isObject) return fail(Failure.BadPayloadJson);
  const signature = base64urlDecodeBytes(bytes, second + 1);
  if (signature === null) return fail(Failure.BadSignatureEncoding);

  const h = header.value!;
  const algValue = h.get("alg");
  if (algValue === null || !algValue.isString) return fail(Failure.UnsupportedAlg);
  const alg = algByName(algValue.str); // "none" and anything unknown: null
  if (alg === null) return fail(Failure.UnsupportedAlg);
  // RFC 7515 §4.1.11: a recipient must reject a token whose critical extensions it does not
  // understand; we understand none (and "b64": false would change what is signed).
  if (h.has("crit") || h.has("b64")) return fail(Failure.UnsupportedCrit);
  const kid = h.get("kid");
  if (kid !== null && !kid.isString) return fail(Failure.BadHeaderJson);

  const jws = new Jws();
  jws.alg = alg;
  jws.kid = kid === null ? null : kid.str;
  jws.header = h;
  jws.payload = payload.value!;
  jws.signingInput = bytes.subarray(0, second);
  jws.signature = signature;
  jws.payloadText = token.substring(first + 1, second);
  return new ParseResult(jws, Failure.None);
}
