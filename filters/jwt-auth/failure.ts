// Why a request was refused: one value per reason, with the text sent to the client (RFC 6750
// error_description) and the HTTP status. Reasons follow Envoy jwt_authn's wording.
export enum Failure {
  None = 0,
  Missing,
  TooLarge,
  Malformed,
  BadHeaderEncoding,
  BadHeaderJson,
  BadPayloadEncoding,
  BadPayloadJson,
  BadSignatureEncoding,
  UnsupportedAlg,
  AlgNotAllowed,
  UnsupportedCrit,
  NoJwks,
  UnknownKid,
  BadSignature,
  NoExp,
  BadTimeClaim,
  Expired,
  NotYetValid,
  IssuedInFuture,
  WrongIssuer,
  Audience,
  MissingClaim,
}

export function describe(f: Failure): string {
  switch (f) {
    case Failure.Missing: return "Jwt is missing";
    case Failure.TooLarge: return "Jwt is too large";
    case Failure.Malformed: return "Jwt is not in the form of Header.Payload.Signature";
    case Failure.BadHeaderEncoding: return "Jwt header is an invalid Base64url encoded";
    case Failure.BadHeaderJson: return "Jwt header is an invalid JSON";
    case Failure.BadPayloadEncoding: return "Jwt payload is an invalid Base64url encoded";
    case Failure.BadPayloadJson: return "Jwt payload is an invalid JSON";
    case Failure.BadSignatureEncoding: return "Jwt signature is an invalid Base64url encoded";
    case Failure.UnsupportedAlg: return "Jwt algorithm is not supported";
    case Failure.AlgNotAllowed: return "Jwt algorithm is not allowed";
    case Failure.UnsupportedCrit: return "Jwt header has an unsupported critical parameter";
    case Failure.NoJwks: return "Jwks is not available";
    case Failure.UnknownKid: return "Jwks doesn't have key to match kid or alg from Jwt";
    case Failure.BadSignature: return "Jwt verification fails";
    case Failure.NoExp: return "Jwt doesn't have an expiration time";
    case Failure.BadTimeClaim: return "Jwt has an invalid time claim";
    case Failure.Expired: return "Jwt is expired";
    case Failure.NotYetValid: return "Jwt not yet valid";
    case Failure.IssuedInFuture: return "Jwt is issued in the future";
    case Failure.WrongIssuer: return "Jwt issuer is not configured";
    case Failure.Audience: return "Audiences in Jwt are not allowed";
    case Failure.MissingClaim: return "Jwt is missing a required claim";
    default: return "";
  }
}

/** Valid token, but the route's rules refuse it: 403; everything else 401. */
export function isForbidden(f: Failure): bool {
  return f == Failure.Audience || f == Failure.MissingClaim;
}

/** A short name for metrics. */
export function metricName(f: Failure): string {
  switch (f) {
    case Failure.Missing: return "missing";
    case Failure.Expired: return "expired";
    case Failure.NotYetValid:
    case Failure.IssuedInFuture: return "not_yet_valid";
    case Failure.WrongIssuer: return "issuer";
    case Failure.Audience: return "audience";
    case Failure.MissingClaim: return "claims";
    case Failure.BadSignature: return "signature";
    case Failure.UnknownKid:
    case Failure.NoJwks: return "unknown_key";
    case Failure.UnsupportedAlg:
    case Failure.AlgNotAllowed: return "algorithm";
    case Failure.TooLarge: return "too_large";
    default: return "malformed";
  }
}
