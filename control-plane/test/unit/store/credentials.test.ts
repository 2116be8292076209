// The write-only rule as a property: whatever keys and users a consumer holds, what the store
// hands out holds no key, digest or hash, and writing that back keeps every stored secret.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyDigest } from "../../../src/config/schema-consumers.js";
import { hideCredentials, keepCredentials } from "../../../src/store/credentials.js";

const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/);
const key = fc.stringMatching(/^[\x21-\x7e]{8,40}$/);
const hash = fc.constantFrom("$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=");

const keyEntry = fc.oneof(
  fc.record({ id, key_sha256: key.map(keyDigest) }),
  fc.record({ id, key }), // a hand-written file may hold a plain key
);
const consumer = fc.record({
  name: id,
  groups: fc.array(id, { maxLength: 3 }),
  credentials: fc.record({
    keys: fc.uniqueArray(keyEntry, { selector: (k) => k.id, maxLength: 4 }),
    basic: fc.uniqueArray(fc.record({ username: id, password_hash: hash }), { selector: (b) => b.username, maxLength: 3 }),
  }),
});

type Consumer = typeof consumer extends fc.Arbitrary<infer T> ? T : never;

/** The stored consumer as the store writes it: plain keys as digests. */
function asStored(c: Consumer) {
  const keys = c.credentials.keys.map((k) => ("key" in k ? { id: k.id, key_sha256: keyDigest(k.key) } : k));
  return { ...c, credentials: { ...c.credentials, keys } };
}

describe("write-only credentials", () => {
  it("GET shows no secret; writing what GET showed keeps every secret (plain keys as digests)", () => {
    fc.assert(
      fc.property(consumer, (stored) => {
        const shown = hideCredentials("consumers", stored);
        const text = JSON.stringify(shown);
        for (const k of stored.credentials.keys) {
          if ("key" in k) expect(text).not.toContain(k.key);
          expect(text).not.toContain("key" in k ? keyDigest(k.key) : k.key_sha256);
        }
        for (const b of stored.credentials.basic) expect(text).not.toContain(b.password_hash);
        const kept = keepCredentials("consumers", shown, stored);
        expect(kept.ok).toBe(true);
        if (kept.ok) expect(kept.value).toEqual(asStored(stored));
      }),
      { numRuns: 300 },
    );
  });

  it("an entry naming no stored secret is refused, naming its place and id only", () => {
    fc.assert(
      fc.property(consumer, id, (stored, fresh) => {
        fc.pre(!stored.credentials.keys.some((k) => k.id === fresh));
        const written = { name: stored.name, credentials: { keys: [{ id: fresh }] } };
        expect(keepCredentials("consumers", written, stored)).toEqual({
          ok: false,
          message: `credentials.keys[0] (id "${fresh}") has no stored secret to keep: give key or key_sha256`,
        });
      }),
      { numRuns: 100 },
    );
  });

  it("leaves other collections alone", () => {
    const plugin = { name: "p", credentials: { keys: [{ id: "x", key: "not-a-consumer" }] } };
    expect(hideCredentials("plugins", plugin)).toBe(plugin);
    expect(keepCredentials("plugins", plugin, undefined)).toEqual({ ok: true, value: plugin, changed: false });
  });
});
