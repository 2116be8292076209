// SHA-2 entry points: one-shot digests and the incremental classes (FIPS 180-4).
export { Hasher } from "./hasher";
export { Sha256 } from "./sha256";
export { Sha384, Sha512 } from "./sha512";
import { Sha256 } from "./sha256";
import { Sha384, Sha512 } from "./sha512";

export function sha256(data: Uint8Array): Uint8Array {
  const h = new Sha256();
  h.update(data);
  return h.final();
}

export function sha384(data: Uint8Array): Uint8Array {
  const h = new Sha384();
  h.update(data);
  return h.final();
}

export function sha512(data: Uint8Array): Uint8Array {
  const h = new Sha512();
  h.update(data);
  return h.final();
}
