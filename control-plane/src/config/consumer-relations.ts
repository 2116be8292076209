// Checks between consumers, and between consumers and the plugins that name them: a credential
// identifies one consumer only (one key digest, one key id, one basic username, one JWT mapping),
// an ACL names groups some consumer is in, and an auth filter's config leaves its `consumers`
// block to the gateway. (Consumer names an ACL or `anonymous` gives are references: collections.ts.)
// Messages never quote a key, a digest or a hash.
import { isAuthFilter, ACL_FILTER } from "./consumer-filters.js";
import type { Problem } from "./errors.js";
import { type ShapeResult, fieldOf, listOf } from "./shape.js";

/** The most consumers a gateway may have: each auth filter's config carries them (assembly/config/consumers.ts). */
export const MAX_CONSUMERS = 10_000;

export function checkConsumers(shape: ShapeResult): Problem[] {
  return [...consumerCount(shape), ...uniqueCredentials(shape), ...aclGroups(shape), ...aclsAfterAuth(shape), ...ownConsumerBlocks(shape)];
}

function consumerCount(shape: ShapeResult): Problem[] {
  const n = shape.written.consumers.length;
  return n > MAX_CONSUMERS ? [{ path: ["consumers"], message: `at most ${MAX_CONSUMERS} consumers (got ${n})` }] : [];
}

/** The first place each value was seen, to name it when it is seen again. */
class FirstSeen {
  private readonly first = new Map<string, { consumer: number; name: string; where: string }>();
  constructor(private readonly problems: Problem[]) {}

  see(value: string, consumer: number, name: string, where: string, path: PropertyKey[], what: string): void {
    const earlier = this.first.get(value);
    if (!earlier) {
      this.first.set(value, { consumer, name, where });
      return;
    }
    const owner = earlier.consumer === consumer ? "this consumer" : `consumers[${earlier.consumer}] ("${earlier.name}")`;
    this.problems.push({ path, message: `${what} is already ${owner}'s, at ${earlier.where}` });
  }
}

function uniqueCredentials({ sections }: ShapeResult): Problem[] {
  const problems: Problem[] = [];
  const digests = new FirstSeen(problems);
  const ids = new FirstSeen(problems);
  const usernames = new FirstSeen(problems);
  const mappings = new FirstSeen(problems);
  for (const { index, value: c } of sections.consumers) {
    const at = ["consumers", index, "credentials"];
    c.keys.forEach((k, i) => {
      const where = `credentials.keys[${i}]`;
      // The key itself is never named: only where it is written, and its id.
      digests.see(k.sha256, index, c.name, `${where} (id "${k.id}")`, [...at, "keys", i], "this API key");
      ids.see(k.id, index, c.name, where, [...at, "keys", i, "id"], `key id "${k.id}"`);
    });
    c.basic.forEach((b, i) => {
      usernames.see(b.username, index, c.name, `credentials.basic[${i}]`, [...at, "basic", i, "username"], `username "${b.username}"`);
    });
    c.jwt.forEach((j, i) => {
      const key = JSON.stringify("subject" in j ? [j.issuer, "sub", j.subject] : [j.issuer, j.claim, j.value]);
      const what =
        "subject" in j ? `the JWT mapping (${j.issuer}, sub ${j.subject})` : `the JWT mapping (${j.issuer}, ${j.claim} ${j.value})`;
      mappings.see(key, index, c.name, `credentials.jwt[${i}]`, [...at, "jwt", i], what);
    });
  }
  return problems;
}

/** Groups an ACL names must be some consumer's (as written: a consumer with another mistake still counts). */
function aclGroups({ written }: ShapeResult): Problem[] {
  const known = new Set(written.consumers.flatMap((c) => listOf(fieldOf(c, "groups")).filter((g) => typeof g === "string")));
  const problems: Problem[] = [];
  written.plugins.forEach((plugin, index) => {
    if (fieldOf(plugin, "filter") !== ACL_FILTER) return;
    for (const list of ["allow", "deny"]) {
      listOf(fieldOf(fieldOf(fieldOf(plugin, "config"), list), "groups")).forEach((group, g) => {
        if (typeof group !== "string" || known.has(group)) return;
        const groups = known.size > 0 ? `known: ${[...known].sort().join(", ")}` : "no consumer has groups";
        problems.push({ path: ["plugins", index, "config", list, "groups", g], message: `no consumer is in group "${group}" (${groups})` });
      });
    }
  });
  return problems;
}

/**
 * Plugins run in `plugins:` order, and an ACL reads the identity an auth filter wrote: one
 * listed before an auth filter would find no consumer there (its allow list refusing everyone,
 * its deny list denying no one) on every route that has both.
 */
function aclsAfterAuth({ written }: ShapeResult): Problem[] {
  const problems: Problem[] = [];
  written.plugins.forEach((acl, index) => {
    if (fieldOf(acl, "filter") !== ACL_FILTER) return;
    const later = written.plugins.findIndex((p, j) => j > index && isAuthFilter(fieldOf(p, "filter")));
    if (later === -1) return;
    const auth = written.plugins[later];
    problems.push({
      path: ["plugins", index, "filter"],
      message: `an ACL must come after the auth filters in plugins: (the chain's order): plugins[${later}] (${String(fieldOf(auth, "filter"))} "${String(fieldOf(auth, "name"))}") identifies the caller later, so this ACL would see no consumer; move it below`,
    });
  });
  return problems;
}

/** The gateway writes an auth filter's `consumers`; one written in the plugin's config would be overwritten. */
function ownConsumerBlocks({ written }: ShapeResult): Problem[] {
  return written.plugins.flatMap((plugin, index): Problem[] => {
    const written = fieldOf(plugin, "config");
    const config = typeof written === "string" ? parsedJson(written) : written;
    if (!isAuthFilter(fieldOf(plugin, "filter")) || fieldOf(config, "consumers") === undefined) return [];
    return [
      {
        path: ["plugins", index, "config", "consumers"],
        at: "key",
        message: "an auth filter's consumers come from the gateway's consumers: section; list them there",
      },
    ];
  });
}

/** A config written as a JSON text, read (its syntax is the plugin schema's to report). */
function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
