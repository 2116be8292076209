// consumers: the section's values, the checks between consumers and the plugins naming them,
// what a valid section becomes (model, the auth filters' configs), and that no error message
// ever quotes a key, a digest or a password hash.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/config/index.js";
import { keyDigest } from "../../../src/config/schema-consumers.js";
import type { GatewayModel, WasmPluginModel } from "../../../src/model/types.js";
import { type GatewayDir, makeGatewayDir, yaml } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

const BCRYPT = "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const SHA1 = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=";
const DIGEST = keyDigest("alice-secret-key");

function lines(errors: ConfigError[]): string[] {
  return errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

async function model(text: string): Promise<GatewayModel> {
  const result = await gw.load(text);
  if (!result.ok) throw new Error(lines(result.errors).join("\n"));
  return result.model;
}

function wasmConfig(m: GatewayModel, name: string): Record<string, unknown> {
  const p = m.plugins.find((x): x is WasmPluginModel => x.kind === "wasm" && x.name === name);
  if (!p) throw new Error(`no wasm plugin ${name}`);
  return JSON.parse(p.config) as Record<string, unknown>;
}

describe("consumers: values", () => {
  it("places each mistake: names, groups, metadata, key forms, hash formats, JWT mappings", async () => {
    const errors = lines(
      await gw.errors(yaml`
        consumers:
          - name: Alice
            groups: [gold, "Gold"]
            metadata: { "tier key": x }
            credentials:
              keys:
                - { id: k1 }
                - { id: k2, key: short }
                - { id: k3, key_sha256: not-hex }
                - { id: k4, key: "long-enough-key", key_sha256: "${DIGEST}" }
              basic:
                - { username: "a:b", password_hash: "${BCRYPT}" }
                - { username: apr, password_hash: "$apr1$abc$defdefdefdefdefdefdefd" }
                - { username: plain, password_hash: hunter2hunter2 }
                - { username: slow, password_hash: "$2y$15$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy" }
              jwt:
                - { issuer: "https://idp" }
                - { issuer: "https://idp", subject: a, claim: role, value: x }
                - { issuer: "https://idp", claim: role }
      `),
    );
    expect(errors).toEqual([
      '2:11 consumers[0].name: invalid name "Alice": use lower-case letters, digits, "-" and "_", starting with a letter or digit',
      '3:20 consumers[0].groups[1]: invalid name "Gold": use lower-case letters, digits, "-" and "_", starting with a letter or digit',
      '4:29 consumers[0].metadata["tier key"]: invalid metadata key "tier key": 1 to 64 letters, digits, "_", "." and "-"',
      "7:11 consumers[0].credentials.keys[0]: give one of: key, key_sha256",
      "8:26 consumers[0].credentials.keys[1].key: an API key is 8 to 1024 visible ASCII characters (no spaces)",
      '9:33 consumers[0].credentials.keys[2].key_sha256: must be 64 hex digits: the SHA-256 of the key (printf %s "$KEY" | sha256sum)',
      "10:11 consumers[0].credentials.keys[3]: give only one of key, key_sha256 (they are alternatives)",
      '12:23 consumers[0].credentials.basic[0].username: a username is 1 to 256 visible ASCII characters without ":"',
      "13:43 consumers[0].credentials.basic[1].password_hash: MD5 (apr1) hashes are not supported; use bcrypt (htpasswd -B)",
      '14:45 consumers[0].credentials.basic[2].password_hash: not a password hash in a supported format (bcrypt "$2y$..." or "{SHA}..."; plain-text passwords are not accepted); use bcrypt (htpasswd -B)',
      "15:44 consumers[0].credentials.basic[3].password_hash: bcrypt cost 15 is outside 4 to 14 (each step doubles the time every uncached request waits); re-hash with htpasswd -B -C 10",
      "17:11 consumers[0].credentials.jwt[0]: give subject, or claim and value (they are alternatives)",
      "18:11 consumers[0].credentials.jwt[1]: give subject, or claim and value (they are alternatives)",
      "19:11 consumers[0].credentials.jwt[2].value: claim and value go together",
    ]);
    // No message quotes a secret.
    for (const secret of ["short", "not-hex", "long-enough-key", DIGEST, BCRYPT, "$apr1$abc", "hunter2"])
      for (const e of errors) expect(e).not.toContain(secret);
  });

  it("a key's type error does not quote it either", async () => {
    const errors = lines(await gw.errors("consumers:\n  - name: a\n    credentials: { keys: [{ id: k, key: 123456789 }] }\n"));
    expect(errors).toEqual(["3:41 consumers[0].credentials.keys[0].key: must be a string"]);
  });
});

describe("consumers: checks between them", () => {
  it("one key, key id, username or JWT mapping identifies one consumer", async () => {
    const errors = lines(
      await gw.errors(yaml`
        consumers:
          - name: alice
            credentials:
              keys: [{ id: a1, key: alice-secret-key }]
              basic: [{ username: alice, password_hash: "${SHA1}" }]
              jwt: [{ issuer: "https://idp", subject: alice }]
          - name: bob
            credentials:
              keys: [{ id: b1, key_sha256: "${DIGEST.toUpperCase()}" }, { id: a1, key: bob-secret-key }]
              basic: [{ username: alice, password_hash: "${BCRYPT}" }]
              jwt: [{ issuer: "https://idp", subject: alice }, { issuer: "https://idp", claim: cid, value: b }, { issuer: "https://idp", claim: cid, value: b }]
      `),
    );
    expect(errors).toEqual([
      '9:14 consumers[1].credentials.keys[0]: this API key is already consumers[0] ("alice")\'s, at credentials.keys[0] (id "a1")',
      '9:112 consumers[1].credentials.keys[1].id: key id "a1" is already consumers[0] ("alice")\'s, at credentials.keys[0]',
      '10:27 consumers[1].credentials.basic[0].username: username "alice" is already consumers[0] ("alice")\'s, at credentials.basic[0]',
      '11:13 consumers[1].credentials.jwt[0]: the JWT mapping (https://idp, sub alice) is already consumers[0] ("alice")\'s, at credentials.jwt[0]',
      "11:105 consumers[1].credentials.jwt[2]: the JWT mapping (https://idp, cid b) is already this consumer's, at credentials.jwt[1]",
    ]);
  });

  it("an ACL names known consumers and groups; anonymous names a consumer; auth configs leave consumers to the gateway", async () => {
    const errors = lines(
      await gw.errors(yaml`
        consumers:
          - { name: alice, groups: [gold] }
        plugins:
          - name: keys
            filter: key-auth
            config: { anonymous: guest, consumers: [] }
          - name: acl
            filter: acl
            config:
              allow: { consumers: [alice, carol], groups: [gold, silver] }
              deny: { claims: { role: ["a,b"], "bad claim": [x] } }
          - name: empty
            filter: acl
            config: { deny: {} }
      `),
    );
    expect(errors).toEqual([
      '6:26 plugins[0].config.anonymous: no consumer named "guest" (known: alice)',
      "6:33 plugins[0].config.consumers: an auth filter's consumers come from the gateway's consumers: section; list them there",
      '10:35 plugins[1].config.allow.consumers[1]: no consumer named "carol" (known: alice)',
      '10:58 plugins[1].config.allow.groups[1]: no consumer is in group "silver" (known: gold)',
      '11:32 plugins[1].config.deny.claims.role[0]: a claim value cannot hold ","',
      '11:53 plugins[1].config.deny.claims["bad claim"]: invalid claim name "bad claim": 1 to 64 characters of a-z, A-Z, 0-9, "_" and "-" (a top-level claim)',
      "14:21 plugins[2].config.deny: give at least one of consumers, groups or claims",
    ]);
  });

  it("a config written as a JSON text names consumers too", async () => {
    const errors = lines(
      await gw.errors(yaml`
        consumers:
          - { name: alice }
        plugins:
          - { name: keys, filter: key-auth, config: '{"anonymous": "nobody"}' }
      `),
    );
    expect(errors).toEqual(['4:45 plugins[0].config.anonymous: no consumer named "nobody" (known: alice)']);
  });

  it("an ACL listed before an auth filter is refused: it would see no consumer", async () => {
    const errors = lines(
      await gw.errors(yaml`
        consumers:
          - { name: alice, groups: [gold] }
        plugins:
          - { name: acl, filter: acl, config: { allow: { groups: [gold] } } }
          - { name: keys, filter: key-auth }
      `),
    );
    expect(errors).toEqual([
      '4:26 plugins[0].filter: an ACL must come after the auth filters in plugins: (the chain\'s order): plugins[1] (key-auth "keys") identifies the caller later, so this ACL would see no consumer; move it below',
    ]);
  });
});

describe("consumers: the model and the auth filters' configs", () => {
  const config = yaml`
    consumers:
      - name: alice
        groups: [gold, beta, gold]
        metadata: { tier: gold }
        credentials:
          keys: [{ id: alice-laptop, key: alice-secret-key }]
          basic: [{ username: alice, password_hash: "${BCRYPT}" }]
          jwt: [{ issuer: "https://idp", subject: alice@example.com }]
      - name: guest
        groups: [free]
    plugins:
      - { name: keys, filter: key-auth, config: { anonymous: guest } }
      - { name: basic, filter: basic-auth }
      - name: jwt
        filter: jwt-auth
        config: { providers: [], claims_to_filter_state: [scope] }
      - name: acl
        filter: acl
        config: { allow: { groups: [gold] }, deny: { claims: { role: [banned] } } }
  `;

  it("holds keys as digests only, and each auth filter gets its own credential kind", async () => {
    const m = await model(config);
    expect(m.consumers[0]).toEqual({
      name: "alice",
      groups: ["gold", "beta"],
      metadata: { tier: "gold" },
      keys: [{ id: "alice-laptop", sha256: DIGEST }],
      basic: [{ username: "alice", hash: BCRYPT }],
      jwt: [{ issuer: "https://idp", subject: "alice@example.com" }],
    });
    expect(JSON.stringify(m)).not.toContain("alice-secret-key");
    expect(wasmConfig(m, "keys")).toEqual({
      anonymous: "guest",
      consumers: [
        { name: "alice", groups: ["gold", "beta"], keys: [{ id: "alice-laptop", sha256: DIGEST }] },
        { name: "guest", groups: ["free"] },
      ],
    });
    expect(wasmConfig(m, "basic")).toEqual({
      consumers: [{ name: "alice", groups: ["gold", "beta"], basic: [{ username: "alice", hash: BCRYPT }] }],
    });
    // jwt-auth: its mappings, and the claims ACLs match added to its own.
    expect(wasmConfig(m, "jwt")).toEqual({
      providers: [],
      claims_to_filter_state: ["scope", "role"],
      consumers: [{ name: "alice", groups: ["gold", "beta"], jwt: [{ issuer: "https://idp", subject: "alice@example.com" }] }],
    });
  });

  it("jwt-auth gets no consumers block when no consumer has a JWT mapping", async () => {
    const m = await model("consumers:\n  - name: a\nplugins:\n  - { name: jwt, filter: jwt-auth, config: { providers: [] } }\n");
    expect(wasmConfig(m, "jwt")).toEqual({ providers: [] });
  });

  it("the filter judges the config it will get: the checker sees the consumers block", async () => {
    const seen: string[] = [];
    const result = await gw.load(config, {
      checkPlugin: async (p) => {
        seen.push(`${p.name} ${p.config}`);
        return { errors: p.name === "keys" ? ["consumers[0].keys[0].sha256: refused for the test"] : [], clusters: [] };
      },
    });
    expect(seen.find((s) => s.startsWith("keys "))).toContain(DIGEST);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(lines(result.errors)).toEqual(["12:45 plugins[0].config: consumers[0].keys[0].sha256: refused for the test"]);
  });
});
