// The JWS algorithms we verify (RFC 7518 §3, RFC 8037 for EdDSA). Anything else, "none"
// included, is unknown and a token that names it is refused.
import { HashAlg } from "../../assembly/crypto/hash";
import { CurveId } from "../../assembly/crypto/ecdsa";

export enum Family {
  Hmac = 0,
  Rsa = 1,
  RsaPss = 2,
  Ecdsa = 3,
  EdDsa = 4,
}

export class Alg {
  constructor(
    public readonly name: string,
    public readonly family: Family,
    public readonly hash: HashAlg,
    public readonly hashBytes: i32,
    public readonly curve: CurveId = CurveId.P256,
  ) {}
}

export const ALGORITHMS: Alg[] = [
  new Alg("HS256", Family.Hmac, HashAlg.Sha256, 32),
  new Alg("HS384", Family.Hmac, HashAlg.Sha384, 48),
  new Alg("HS512", Family.Hmac, HashAlg.Sha512, 64),
  new Alg("RS256", Family.Rsa, HashAlg.Sha256, 32),
  new Alg("RS384", Family.Rsa, HashAlg.Sha384, 48),
  new Alg("RS512", Family.Rsa, HashAlg.Sha512, 64),
  new Alg("PS256", Family.RsaPss, HashAlg.Sha256, 32),
  new Alg("PS384", Family.RsaPss, HashAlg.Sha384, 48),
  new Alg("PS512", Family.RsaPss, HashAlg.Sha512, 64),
  new Alg("ES256", Family.Ecdsa, HashAlg.Sha256, 32, CurveId.P256),
  new Alg("ES384", Family.Ecdsa, HashAlg.Sha384, 48, CurveId.P384),
  new Alg("EdDSA", Family.EdDsa, HashAlg.Sha512, 64),
];

export function algByName(name: string): Alg | null {
  for (let i = 0; i < ALGORITHMS.length; i++) if (ALGORITHMS[i].name == name) return ALGORITHMS[i];
  return null;
}

export function algorithmNames(): string {
  const names = new Array<string>();
  for (let i = 0; i < ALGORITHMS.length; i++) names.push(ALGORITHMS[i].name);
  return names.join(", ");
}
