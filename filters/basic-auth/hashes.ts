// Password hashes as users have them in htpasswd files, recognised and checked.
//
// Supported: bcrypt (`$2y$`, `$2b$`, `$2a$`; `htpasswd -B`), the format to use, and `{SHA}`
// (`htpasswd -s`: unsalted SHA-1 in base64), which is weak (fast to brute-force, and equal
// passwords have equal hashes) but is the only format Envoy's native basic_auth filter reads, so
// users moving from it have such files. Everything else htpasswd or crypt(3) writes is refused at
// configure time with its name: Apache's MD5 (`$apr1$`), MD5-crypt (`$1$`), SHA-256/512-crypt
// (`$5$`, `$6$`), DES crypt and plain text are weak, and yescrypt/Argon2 have no implementation
// here; a user rehashes with `htpasswd -B`.
//
// Comparisons are constant-time (assembly/crypto/ct.ts): a timing difference must not tell a
// guesser how many leading bytes of a digest they got right.
import { BCRYPT_DIGEST_BYTES, BcryptHash, bcryptDigestInto, bcryptProblem, parseBcrypt } from "../../assembly/crypto/bcrypt";
import { Sha1 } from "../../assembly/crypto/sha1";
import { constantTimeEqualPtr } from "../../assembly/crypto/ct";
import { base64Decode } from "../../assembly/encoding/base64url";

/**
 * The highest bcrypt cost accepted. A check of a password not in the cache runs on an Envoy worker
 * thread and blocks every other request of that thread meanwhile; each step doubles it (measured
 * in Node's V8 on a quiet core: about 1 ms at cost 4, 16 ms at 8, 65 ms at 10, 0.26 s at 12, so about
 * 1 s at 14; bcryptjs takes about as long).
 */
export const MAX_BCRYPT_COST: i32 = 14;

export const SUPPORTED_FORMATS = "supported: bcrypt ($2y$, $2b$, $2a$; htpasswd -B) and {SHA} (htpasswd -s; weak, for migrating from Envoy's basic_auth)";

const SCRATCH: usize = memory.data(32, 16);
const SHA1 = new Sha1();

export abstract class PasswordHash {
  /** Whether checking costs real CPU (bcrypt), so it is rationed and its successes cached. */
  abstract get expensive(): bool;
  /** Whether the `len` password bytes at `pw` match; constant time in the digest comparison. */
  abstract verify(pw: usize, len: i32): bool;
}

export class BcryptPassword extends PasswordHash {
  constructor(public readonly hash: BcryptHash) {
    super();
  }

  get expensive(): bool {
    return true;
  }

  verify(pw: usize, len: i32): bool {
    bcryptDigestInto(this.hash, pw, len, SCRATCH);
    return constantTimeEqualPtr(SCRATCH, this.hash.digest.dataStart, BCRYPT_DIGEST_BYTES);
  }
}

export class Sha1Password extends PasswordHash {
  constructor(public readonly digest: Uint8Array) {
    super();
  }

  get expensive(): bool {
    return false;
  }

  verify(pw: usize, len: i32): bool {
    SHA1.updatePtr(pw, len);
    SHA1.finalInto(SCRATCH);
    return constantTimeEqualPtr(SCRATCH, this.digest.dataStart, 20);
  }
}

/** The format `s` looks like, named for a user ("Apache MD5 ($apr1$)"), when it is one we refuse. */
function refusedFormat(s: string): string {
  if (s.startsWith("$apr1$")) return "Apache MD5 ($apr1$, htpasswd -m)";
  if (s.startsWith("$1$")) return "MD5-crypt ($1$)";
  if (s.startsWith("$5$")) return "SHA-256-crypt ($5$)";
  if (s.startsWith("$6$")) return "SHA-512-crypt ($6$)";
  if (s.startsWith("$y$") || s.startsWith("$7$")) return "yescrypt/scrypt (" + s.substring(0, 3) + ")";
  if (s.startsWith("$argon2")) return "Argon2 ($argon2...$)";
  if (s.startsWith("{SSHA}")) return "salted SHA-1 ({SSHA})";
  if (s.length == 13 && isCryptChars(s)) return "DES crypt (htpasswd -d)";
  return "plain text or an unknown format";
}

function isCryptChars(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = c == 0x2e || c == 0x2f || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!ok) return false;
  }
  return true;
}

/** What is wrong with `s` as a password hash, or "" when parsePasswordHash takes it. Never echoes `s`. */
export function passwordHashProblem(s: string): string {
  if (s.startsWith("$2")) {
    const problem = bcryptProblem(s);
    if (problem.length) return problem;
    const cost = (s.charCodeAt(4) - 0x30) * 10 + (s.charCodeAt(5) - 0x30);
    if (cost > MAX_BCRYPT_COST) {
      return "bcrypt cost " + cost.toString() + " is above " + MAX_BCRYPT_COST.toString()
        + ": every check of a password not in the cache blocks an Envoy worker thread, for about a second at cost 14 and twice as long per step above; rehash at cost "
        + MAX_BCRYPT_COST.toString() + " or less (htpasswd -B -C 12)";
    }
    return "";
  }
  if (s.startsWith("{SHA}")) {
    const d = base64Decode(s.substring(5));
    return d !== null && d.length == 20 ? "" : "{SHA} must be followed by the base64 of a 20-byte SHA-1 digest (28 characters)";
  }
  return "unsupported password hash format: " + refusedFormat(s) + "; " + SUPPORTED_FORMATS;
}

/** The hash, or null when passwordHashProblem(s) is not empty. */
export function parsePasswordHash(s: string): PasswordHash | null {
  if (passwordHashProblem(s).length) return null;
  if (s.startsWith("{SHA}")) return new Sha1Password(base64Decode(s.substring(5))!);
  return new BcryptPassword(parseBcrypt(s)!);
}
