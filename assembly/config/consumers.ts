// The `consumers` block every auth filter's configuration shares (key-auth, basic-auth,
// jwt-auth): each consumer's name and groups, the `anonymous` consumer, and whether the
// identity goes to the upstream as headers. Each filter reads its own credential kind from the
// same consumer objects (`keys`, `basic`, `jwt`) with `readConsumers`' callback, so the rules
// for names and groups live here once. The control plane writes this block from gateway.yaml's
// `consumers:`; a drop-in user writes it by hand (docs/consumers.md).
import { ConsumerIdentity } from "../runtime/consumer";
import { ConfigErrors, ObjectReader, indexPath, readStringArray } from "./reader";
import { JsonValue } from "../json";

/** Most consumers one filter configuration may list (the config's byte bound applies too). */
export const MAX_CONSUMERS: i32 = 10_000;
/** Most groups per consumer. */
export const MAX_GROUPS: i32 = 64;
const MAX_NAME: i32 = 64;

/** The gateway's name rule (control-plane/src/config/syntax.ts NAME_PATTERN): ^[a-z0-9][a-z0-9_-]*$. */
export function isConsumerName(s: string): bool {
  if (s.length == 0 || s.length > MAX_NAME) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && (i == 0 || (c != 0x5f && c != 0x2d))) return false;
  }
  return true;
}

export const NAME_RULE = "use 1 to 64 lower-case letters, digits, \"-\" and \"_\", starting with a letter or digit";

/** Reads one consumer's credentials of the filter's kind; the reader is the consumer object. */
export type CredentialReader = (consumer: ObjectReader, identity: ConsumerIdentity, index: i32) => void;

export class ConsumersBlock {
  consumers: ConsumerIdentity[] = [];
  /** Index into `consumers` of the anonymous consumer, or -1: a request without a credential is refused. */
  anonymous: i32 = -1;
  /** Send x-consumer-name, x-consumer-groups and x-credential-identifier upstream (default true). */
  upstreamHeaders: bool = true;
}

/**
 * Reads `consumers` (required: `required`), `anonymous` and `upstream_headers` from the
 * filter's top-level object. `kinds` are the credential members a consumer object may carry:
 * the filter's own is read by `readCredentials`; the others (another filter's) are accepted and
 * ignored, so the control plane can hand every auth filter the same consumer objects.
 */
export function readConsumersBlock(
  top: ObjectReader,
  readCredentials: CredentialReader,
  ownKind: string,
  otherKinds: string[],
  required: bool = true,
): ConsumersBlock {
  const block = new ConsumersBlock();
  const errors = top.errors;
  const list = top.array("consumers", required, MAX_CONSUMERS);
  const seen = new Set<string>();
  if (list !== null) {
    for (let i = 0; i < list.length; i++) {
      const c = ObjectReader.of(list.at(i), indexPath(top.at("consumers"), i), errors);
      if (c === null) continue;
      const name = c.string("name", "", true, MAX_NAME);
      if (name.length && !isConsumerName(name)) errors.add(c.at("name"), "invalid consumer name \"" + name + "\": " + NAME_RULE);
      else if (seen.has(name)) errors.add(c.at("name"), "consumer \"" + name + "\" is listed twice");
      seen.add(name);
      const groups = readGroups(c.array("groups", false, MAX_GROUPS), c.at("groups"), errors);
      const identity = new ConsumerIdentity(name, groups);
      c.raw("metadata"); // free metadata: the control plane's, not used by filters
      readCredentials(c, identity, block.consumers.length);
      for (let k = 0; k < otherKinds.length; k++) c.raw(otherKinds[k]);
      c.finish();
      block.consumers.push(identity);
    }
  }
  const anonymous = top.optionalString("anonymous", MAX_NAME);
  if (anonymous !== null) {
    for (let i = 0; i < block.consumers.length; i++) if (block.consumers[i].name == anonymous) block.anonymous = i;
    if (block.anonymous < 0) errors.add(top.at("anonymous"), "no consumer named \"" + anonymous + "\" in consumers");
  }
  block.upstreamHeaders = top.bool("upstream_headers", true);
  return block;
}

function readGroups(v: JsonValue | null, path: string, errors: ConfigErrors): string[] {
  if (v === null) return [];
  const groups = readStringArray(v, path, errors, MAX_NAME);
  const out = new Array<string>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (!isConsumerName(g)) errors.add(indexPath(path, i), "invalid group name \"" + g + "\": " + NAME_RULE);
    else if (!out.includes(g)) out.push(g);
  }
  return out;
}

// The headers an auth filter writes for the upstream are defined with the identity itself.
export { CONSUMER_GROUPS_HEADER, CONSUMER_HEADERS, CONSUMER_NAME_HEADER, CREDENTIAL_HEADER } from "../runtime/consumer";
