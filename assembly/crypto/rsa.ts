// RSA signature verification: RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017 §8), as JWS RS*/PS*
// use them (RFC 7518 §3.3, §3.5). Public-key operations only.
import {
  Limbs, newLimbs, lp, limbsFromBytes, limbsToBytes, limbsCmp, limbsBitLength, limbsBit, limbsCopy,
} from "./bigint";
import { Montgomery } from "./montgomery";
import { HashAlg, digestLength, digestInfoPrefix, isHashAlg, newHasher } from "./hash";
import { constantTimeEqualPtr } from "./ct";

/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms." */
export const RSA_MIN_BITS: i32 = 2048;
/**
 * Upper bound on modulus size. Verification cost grows with the square of the size, and the
 * key comes from a JWKS document we do not control; 8192 bits covers every real deployment.
 */
export const RSA_MAX_BITS: i32 = 8192;
/**
 * Upper bound on the public exponent's size, again so a hostile JWKS cannot make each
 * verification cost thousands of multiplications. Real keys use 65537 (or 3); OpenSSL applies
 * the same 64-bit limit to moduli over 3072 bits, Go allows at most 2^31-1.
 */
export const RSA_MAX_EXPONENT_BITS: i32 = 64;

export class RsaPublicKey {
  /** Modulus size in bytes (k in RFC 8017) and in bits. */
  readonly byteLength: i32;
  readonly bitLength: i32;
  private mont: Montgomery;
  /** The public exponent e. */
  private e: Limbs;
  // Scratch, sized to the modulus, reused by every verification with this key.
  private s: Limbs;
  private x: Limbs;
  private sMont: Limbs;
  private em: Uint8Array;
  private expected: Uint8Array;

  private constructor(n: Limbs, e: Limbs, bits: i32, byteLength: i32) {
    this.bitLength = bits;
    this.byteLength = byteLength;
    this.mont = new Montgomery(n);
    this.e = e;
    const nl = n.length;
    this.s = newLimbs(nl);
    this.x = newLimbs(nl);
    this.sMont = newLimbs(nl);
    this.em = new Uint8Array(byteLength);
    this.expected = new Uint8Array(byteLength);
  }

  /**
   * Builds a key from the big-endian modulus and exponent (a JWK's `n` and `e`, RFC 7518
   * §6.3.1). Leading zero bytes are ignored. Returns null unless n is odd with minBits ≤
   * bits(n) ≤ RSA_MAX_BITS, and e is odd with 1 < e < n and at most RSA_MAX_EXPONENT_BITS bits.
   */
  static fromModulusExponent(n: Uint8Array, e: Uint8Array, minBits: i32 = RSA_MIN_BITS): RsaPublicKey | null {
    let ns = 0;
    while (ns < n.length && unchecked(n[ns]) == 0) ns++;
    let es = 0;
    while (es < e.length && unchecked(e[es]) == 0) es++;
    const nLen = n.length - ns;
    const eLen = e.length - es;
    if (nLen == 0 || nLen > RSA_MAX_BITS / 8 || eLen == 0 || eLen > RSA_MAX_EXPONENT_BITS / 8) return null;
    const nl = Montgomery.width((nLen + 3) >> 2); // the Montgomery context's limb count
    const nLimbs = newLimbs(nl);
    limbsFromBytes(lp(nLimbs), nl, n.dataStart + <usize>ns, nLen);
    const bits = limbsBitLength(lp(nLimbs), nl);
    if (bits < minBits || bits > RSA_MAX_BITS) return null;
    if ((unchecked(nLimbs[0]) & 1) == 0) return null; // an RSA modulus is odd; Montgomery needs it
    const eLimbs = newLimbs(nl); // same width as n, so e < n is a plain comparison
    limbsFromBytes(lp(eLimbs), nl, e.dataStart + <usize>es, eLen);
    if ((unchecked(eLimbs[0]) & 1) == 0) return null; // even e is not an RSA exponent
    if (limbsBitLength(lp(eLimbs), nl) < 2) return null; // e = 1 would make s = m
    if (limbsCmp(lp(eLimbs), lp(nLimbs), nl) >= 0) return null;
    return new RsaPublicKey(nLimbs, eLimbs, bits, nLen);
  }

  /**
   * RSAVP1 (RFC 8017 §5.2.2) into this.em: m = s^e mod n as k big-endian bytes. False when the
   * signature is not exactly k bytes (§8.2.2 step 1) or is not below n (§5.2.2 step 1).
   */
  verifyPrimitive(signature: Uint8Array): bool {
    if (signature.length != this.byteLength) return false;
    const mont = this.mont;
    const nl = mont.n;
    const s = lp(this.s);
    limbsFromBytes(s, nl, signature.dataStart, signature.length);
    if (mont.notReduced(s)) return false;
    // Left-to-right square-and-multiply over e's bits. The last multiplication uses plain s,
    // which also leaves Montgomery form (x·s·R⁻¹), so e = 65537 costs exactly 16 squarings,
    // one multiplication and the conversion into Montgomery form.
    const sm = lp(this.sMont);
    const x = lp(this.x);
    const e = lp(this.e);
    mont.toMont(sm, s);
    limbsCopy(x, sm, nl);
    const ebits = limbsBitLength(e, nl);
    for (let i = ebits - 2; i >= 1; i--) {
      mont.sqr(x, x);
      if (limbsBit(e, i) != 0) mont.mul(x, x, sm);
    }
    mont.sqr(x, x);
    mont.mul(x, x, s); // e is odd: its bit 0 is set
    limbsToBytes(this.em.dataStart, this.byteLength, x, nl);
    return true;
  }

  /** The last RSAVP1 output (k bytes); valid after verifyPrimitive returned true. */
  get lastMessageRepresentative(): Uint8Array {
    return this.em;
  }

  /** Scratch of k bytes for building the expected encoding. */
  get scratch(): Uint8Array {
    return this.expected;
  }
}

/**
 * RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) of a precomputed digest.
 *
 * Following §8.2.2 step 3 and §9.2, the expected encoding EM' = 00 01 FF..FF 00 DigestInfo
 * (the one DER encoding) is BUILT and compared with the whole decrypted block in constant time.
 * The decrypted block is never parsed: parsers that skip padding or read ASN.1 lengths are what
 * made Bleichenbacher's 2006 e = 3 forgery (CVE-2006-4339) and its many variants possible.
 */
export function rsaVerifyPkcs1v15(key: RsaPublicKey, hash: HashAlg, digest: Uint8Array, signature: Uint8Array): bool {
  if (!isHashAlg(hash) || digest.length != digestLength(hash)) return false;
  const prefix = digestInfoPrefix(hash);
  const k = key.byteLength;
  const tLen = prefix.length + digest.length;
  if (k < tLen + 11) return false; // §9.2 step 3: "intended encoded message length too short"
  if (!key.verifyPrimitive(signature)) return false;
  const em = key.scratch;
  const p = em.dataStart;
  store<u8>(p, 0x00);
  store<u8>(p, 0x01, 1);
  const psEnd = k - tLen - 1; // PS = FF bytes at [2, psEnd), at least 8 of them
  memory.fill(p + 2, 0xff, <usize>(psEnd - 2));
  store<u8>(p + <usize>psEnd, 0x00);
  memory.copy(p + <usize>(psEnd + 1), changetype<usize>(prefix), <usize>prefix.length);
  memory.copy(p + <usize>(psEnd + 1 + prefix.length), digest.dataStart, <usize>digest.length);
  return constantTimeEqualPtr(p, key.lastMessageRepresentative.dataStart, k);
}

/** XORs MGF1(seed, len) (RFC 8017 §B.2.1) into out[0, len). */
function mgf1Xor(hash: HashAlg, seed: usize, seedLen: i32, out: usize, len: i32): void {
  const h = newHasher(hash);
  const hLen = h.digestSize;
  const block = new Uint8Array(hLen);
  const counter = new Uint8Array(4);
  let done = 0;
  for (let c: u32 = 0; done < len; c++) {
    store<u32>(counter.dataStart, bswap<u32>(c));
    h.updatePtr(seed, seedLen);
    h.update(counter);
    h.finalInto(block.dataStart);
    const take = min(hLen, len - done);
    for (let i = 0; i < take; i++) {
      const q = out + <usize>(done + i);
      store<u8>(q, load<u8>(q) ^ unchecked(block[i]));
    }
    done += take;
  }
}

/**
 * RSASSA-PSS verification (RFC 8017 §8.1.2 with EMSA-PSS-VERIFY, §9.1.2) of a precomputed
 * digest, with MGF1 over the same hash. JWS PS256/384/512 fix saltLength to the digest length
 * (RFC 7518 §3.5).
 */
export function rsaVerifyPss(key: RsaPublicKey, hash: HashAlg, digest: Uint8Array, signature: Uint8Array, saltLength: i32): bool {
  if (!isHashAlg(hash) || digest.length != digestLength(hash)) return false;
  const hLen = digest.length;
  if (saltLength < 0 || saltLength > key.byteLength) return false;
  // §8.1.2 step 2: emBits = modBits - 1, emLen = ⌈emBits / 8⌉ (one byte less than k when
  // modBits ≡ 1 mod 8; the leading byte of the RSAVP1 output must then be zero, step 2c).
  const emBits = key.bitLength - 1;
  const emLen = (emBits + 7) >> 3;
  if (emLen < hLen + saltLength + 2) return false; // §9.1.2 step 3
  if (!key.verifyPrimitive(signature)) return false;
  const m = key.lastMessageRepresentative;
  const off = key.byteLength - emLen; // 0 or 1
  if (off == 1 && unchecked(m[0]) != 0) return false; // I2OSP(m, emLen) would fail
  const em = m.dataStart + <usize>off;
  if (load<u8>(em + <usize>(emLen - 1)) != 0xbc) return false; // step 4
  const dbLen = emLen - hLen - 1; // step 5: maskedDB ‖ H ‖ 0xbc
  const hPtr = em + <usize>dbLen;
  // step 6: the 8·emLen - emBits leftmost bits of maskedDB must be zero.
  const topBits = 8 * emLen - emBits;
  const topMask = <u8>(<i32>0xff >> topBits); // bits allowed to be set in the first byte
  if ((load<u8>(em) & ~topMask) != 0) return false;
  // steps 7-9: DB = maskedDB ⊕ MGF1(H), computed in a copy, with the same leftmost bits cleared.
  const db = key.scratch;
  memory.copy(db.dataStart, em, <usize>dbLen);
  mgf1Xor(hash, hPtr, hLen, db.dataStart, dbLen);
  unchecked((db[0] = db[0] & topMask));
  // step 10: DB = 00..00 ‖ 01 ‖ salt, with emLen - hLen - sLen - 2 zero bytes.
  const psLen = emLen - hLen - saltLength - 2;
  for (let i = 0; i < psLen; i++) if (unchecked(db[i]) != 0) return false;
  if (unchecked(db[psLen]) != 0x01) return false;
  // steps 12-14: H' = Hash(00 x 8 ‖ mHash ‖ salt) must equal H.
  const h = newHasher(hash);
  h.update(new Uint8Array(8));
  h.update(digest);
  h.updatePtr(db.dataStart + <usize>(psLen + 1), saltLength);
  const hPrime = h.final();
  return constantTimeEqualPtr(hPrime.dataStart, hPtr, hLen);
}
