// Password hashes a consumer's basic-auth credential may carry: the htpasswd formats the
// basic-auth filter verifies (bcrypt, and SHA-1 `{SHA}` for users migrating from Envoy's own
// basic_auth filter). Any other format is refused by name, so a user knows what to re-hash, and
// no message ever quotes the hash itself (it is a secret: an error message reaches logs and API
// answers).

/** bcrypt costs accepted: below 4 bcrypt itself refuses; above 14 one check takes over a second of a worker thread. */
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 14;

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

/** Formats recognised by their prefix and refused, with the name a user will recognise. */
const UNSUPPORTED: readonly { prefix: string; name: string }[] = [
  { prefix: "$apr1$", name: "MD5 (apr1)" },
  { prefix: "$1$", name: "MD5-crypt ($1$)" },
  { prefix: "$5$", name: "SHA-256-crypt ($5$)" },
  { prefix: "$6$", name: "SHA-512-crypt ($6$)" },
  { prefix: "$2x$", name: "bcrypt $2x$ (the variant with the 2011 sign-extension bug)" },
  { prefix: "$argon2", name: "Argon2" },
  { prefix: "$y$", name: "yescrypt" },
  { prefix: "$7$", name: "scrypt" },
  { prefix: "{SSHA}", name: "salted SHA-1 ({SSHA})" },
];

const USE_BCRYPT = "use bcrypt (htpasswd -B)";

/** null when `hash` is a supported password hash; else why not (never quoting the hash). */
export function passwordHashError(hash: string): string | null {
  const bcrypt = BCRYPT.exec(hash);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST)
      return `bcrypt cost ${cost} is outside ${BCRYPT_MIN_COST} to ${BCRYPT_MAX_COST} (each step doubles the time every uncached request waits); re-hash with htpasswd -B -C 10`;
    return null;
  }
  if (SHA1.test(hash)) return null;
  const known = UNSUPPORTED.find((f) => hash.startsWith(f.prefix));
  if (known) return `${known.name} hashes are not supported; ${USE_BCRYPT}`;
  if (hash.startsWith("$2")) return `not a well-formed bcrypt hash ("$2y$" + 2-digit cost + "$" + 53 characters); ${USE_BCRYPT}`;
  if (hash.startsWith("{SHA}")) return 'not a well-formed {SHA} hash ("{SHA}" + the base64 of 20 bytes)';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return `DES crypt hashes are not supported; ${USE_BCRYPT}`;
  return `not a password hash in a supported format (bcrypt "$2y$..." or "{SHA}..."; plain-text passwords are not accepted); ${USE_BCRYPT}`;
}
