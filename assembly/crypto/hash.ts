// Hash algorithm selection for the signature schemes: JWS RS/PS/ES/HS256, 384, 512
// (RFC 7518 §3) each name one SHA-2 function.
import { Hasher } from "./hasher";
import { Sha256 } from "./sha256";
import { Sha384, Sha512 } from "./sha512";

export enum HashAlg {
  Sha256 = 0,
  Sha384 = 1,
  Sha512 = 2,
}

/** Digest size in bytes (32, 48, 64); 0 for a value outside the enum. */
export function digestLength(alg: HashAlg): i32 {
  if (alg == HashAlg.Sha256) return 32;
  if (alg == HashAlg.Sha384) return 48;
  if (alg == HashAlg.Sha512) return 64;
  return 0;
}

/** Block size in bytes (HMAC pads keys to it, RFC 2104 §2). */
export function blockLength(alg: HashAlg): i32 {
  if (alg == HashAlg.Sha256) return 64;
  if (alg == HashAlg.Sha384 || alg == HashAlg.Sha512) return 128;
  return 0;
}

export function isHashAlg(alg: i32): bool {
  return alg >= HashAlg.Sha256 && alg <= HashAlg.Sha512;
}

/** A fresh incremental hasher. An out-of-range value (only possible through a cast) is SHA-256. */
export function newHasher(alg: HashAlg): Hasher {
  if (alg == HashAlg.Sha384) return new Sha384();
  if (alg == HashAlg.Sha512) return new Sha512();
  return new Sha256();
}

/** One-shot digest. */
export function hash(alg: HashAlg, data: Uint8Array): Uint8Array {
  const h = newHasher(alg);
  h.update(data);
  return h.final();
}

// DER of DigestInfo ::= SEQUENCE { AlgorithmIdentifier { OID, NULL }, OCTET STRING (digest) }
// up to the digest itself: RFC 8017 §9.2 Note 1 lists exactly these byte strings.
const DIGEST_INFO_SHA256: StaticArray<u8> = [
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];
const DIGEST_INFO_SHA384: StaticArray<u8> = [
  0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30,
];
const DIGEST_INFO_SHA512: StaticArray<u8> = [
  0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
];

/** The DER DigestInfo prefix (19 bytes) that precedes the digest in EMSA-PKCS1-v1_5. */
export function digestInfoPrefix(alg: HashAlg): StaticArray<u8> {
  if (alg == HashAlg.Sha384) return DIGEST_INFO_SHA384;
  if (alg == HashAlg.Sha512) return DIGEST_INFO_SHA512;
  return DIGEST_INFO_SHA256;
}
