// Parses and validates the basic-auth configuration: the realm, the consumers block with each
// consumer's `basic` users, and the cache and verification budget. Every mistake is reported
// with the path of the field, all at once; no message quotes a password hash (it is a secret).
import { ConfigErrors, ConfigSource, ObjectReader, indexPath } from "../../assembly/config/reader";
import { ConsumersBlock, readConsumersBlock } from "../../assembly/config/consumers";
import { ConsumerIdentity } from "../../assembly/runtime/consumer";
import { PasswordHash, parsePasswordHash, passwordHashProblem } from "./hashes";

export const MAX_CONFIG_BYTES: i32 = 4 * 1024 * 1024;
/** Most basic users per consumer. */
const MAX_USERS_PER_CONSUMER: i32 = 64;
/** The control plane's rule (control-plane/src/config/schema-consumers.ts): 1 to 256 visible ASCII characters, no ":". */
export const MAX_USERNAME: i32 = 256;
const MAX_REALM: i32 = 128;

/** One basic-auth user: who it identifies and how its password is checked. */
export class BasicUser {
  /** "basic:<username>", the credential id in filter state and x-credential-identifier, encoded once. */
  readonly credential: ArrayBuffer;
  readonly credentialText: string;
  /** The username's bytes (ASCII), compared with the bytes a client sends. */
  readonly nameBytes: ArrayBuffer;

  constructor(
    public readonly username: string,
    public readonly consumer: i32,
    public readonly hash: PasswordHash,
    /** Its position in BasicAuthConfig.users; cache entries name their user by it. */
    public readonly index: i32,
  ) {
    this.nameBytes = String.UTF8.encode(username);
    const text = "basic:" + username;
    this.credentialText = text;
    this.credential = String.UTF8.encode(text);
  }
}

/** FNV-1a over `len` bytes at `p`: the user table's bucket. */
function fnv1a(p: usize, len: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 0x01000193;
  return h;
}

/** Users by username bytes: a request's user-id is looked up as sent, without building a string. */
export class UserTable {
  private readonly buckets: Map<u32, BasicUser[]> = new Map();

  add(user: BasicUser): void {
    const h = fnv1a(changetype<usize>(user.nameBytes), user.nameBytes.byteLength);
    if (!this.buckets.has(h)) this.buckets.set(h, []);
    this.buckets.get(h).push(user);
  }

  /** The user whose username is the `len` bytes at `p`, or null. */
  find(p: usize, len: i32): BasicUser | null {
    const h = fnv1a(p, len);
    if (!this.buckets.has(h)) return null;
    const list = this.buckets.get(h);
    for (let i = 0; i < list.length; i++) {
      const u = list[i];
      if (u.nameBytes.byteLength == len && memory.compare(changetype<usize>(u.nameBytes), p, <usize>len) == 0) return u;
    }
    return null;
  }
}

export class BasicAuthConfig {
  statPrefix: string = "";
  realm: string = "portico";
  consumers: ConsumersBlock = new ConsumersBlock();
  users: BasicUser[] = [];
  byName: UserTable = new UserTable();
  hideCredentials: bool = true;
  cacheTtlMs: i64 = 300_000;
  cacheSize: i32 = 1024;
  maxVerificationsPerSecond: i32 = 50;
}

/** Whether `s` is 1 to 256 visible ASCII characters without ":" (RFC 7617: a user-id has no colon). */
export function isUsername(s: string): bool {
  if (s.length == 0 || s.length > MAX_USERNAME) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c == 0x3a) return false;
  }
  return true;
}

/** Whether the realm can go between the quotes of WWW-Authenticate as it is (RFC 7230 quoted-string without escapes). */
function isRealm(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c == 0x22 || c == 0x5c) return false;
  }
  return true;
}

// readConsumersBlock's callback is a plain function (no closures in AssemblyScript): it collects
// into the configuration being parsed.
let parsing: BasicAuthConfig = new BasicAuthConfig();
/** Where each username was first given ("consumers[0].basic[1]"), for the duplicate message. */
let firstSeenAt: Map<string, string> = new Map();

function readBasicUsers(c: ObjectReader, identity: ConsumerIdentity, index: i32): void {
  const list = c.array("basic", false, MAX_USERS_PER_CONSUMER);
  if (list === null) return;
  const errors = c.errors;
  for (let i = 0; i < list.length; i++) {
    const at = indexPath(c.at("basic"), i);
    const u = ObjectReader.of(list.at(i), at, errors);
    if (u === null) continue;
    const username = u.string("username", "", true, MAX_USERNAME);
    const hashText = u.string("hash", "", true, 1024);
    u.finish();
    let ok = true;
    if (!u.has("username") || !u.has("hash")) ok = false;
    if (u.has("username") && !isUsername(username)) {
      errors.add(u.at("username"), "a username is 1 to 256 visible ASCII characters without \":\"");
      ok = false;
    } else if (firstSeenAt.has(username)) {
      errors.add(u.at("username"), "username \"" + username + "\" is also given at " + firstSeenAt.get(username) + ": a username identifies one consumer");
      ok = false;
    }
    if (u.has("hash")) {
      const problem = passwordHashProblem(hashText);
      if (problem.length) {
        errors.add(u.at("hash"), problem);
        ok = false;
      }
    }
    if (!ok) continue;
    firstSeenAt.set(username, at + " (consumer \"" + identity.name + "\")");
    const user = new BasicUser(username, index, parsePasswordHash(hashText)!, parsing.users.length);
    parsing.users.push(user);
    parsing.byName.add(user);
  }
}

export function parseBasicAuthConfig(source: ConfigSource, errors: ConfigErrors): BasicAuthConfig | null {
  const doc = source.document(MAX_CONFIG_BYTES, errors);
  if (doc === null) return null;
  const top = ObjectReader.of(doc, "", errors);
  if (top === null) return null;
  const cfg = new BasicAuthConfig();
  parsing = cfg;
  firstSeenAt = new Map();
  cfg.statPrefix = top.metricName("stat_prefix", "");
  cfg.realm = top.string("realm", "portico", false, MAX_REALM);
  if (!isRealm(cfg.realm)) errors.add(top.at("realm"), "may contain only printable ASCII without '\"' and '\\'");
  cfg.consumers = readConsumersBlock(top, readBasicUsers, "basic", ["keys", "jwt"]);
  cfg.hideCredentials = top.bool("hide_credentials", true);
  cfg.cacheTtlMs = top.duration("cache_ttl", "", 1000, 300_000, 1000, 86_400_000);
  cfg.cacheSize = <i32>top.int("cache_size", 1024, 1, 65_536);
  cfg.maxVerificationsPerSecond = <i32>top.int("max_verifications_per_second", 50, 1, 10_000);
  top.finish();
  parsing = new BasicAuthConfig();
  firstSeenAt = new Map();
  return errors.empty ? cfg : null;
}
