// Consumers through the config store: credentials are write-only (GET shows a key by its id and
// a user by its username), a plain key is stored as its SHA-256, an entry written back with only
// its id keeps its stored secret, and a consumer an ACL or an `anonymous` names cannot be deleted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { keyDigest } from "../../../src/config/schema-consumers.js";
import { ConfigSource } from "../../../src/gateway/config-source.js";
import type { ApplyOutcome } from "../../../src/gateway/gateway.js";
import { ConfigStore } from "../../../src/store/config-store.js";
import { fakeFiltersDir } from "../../support/golden.js";

const BCRYPT = "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const KEY = "alice-secret-key-1";
const BASE = `# consumers test gateway
consumers:
  - name: alice   # the first customer
    groups: [gold]
    credentials:
      keys: [{ id: alice-laptop, key_sha256: ${keyDigest(KEY)} }]
      basic: [{ username: alice, password_hash: "${BCRYPT}" }]
  - name: guest
plugins:
  - name: keys
    filter: key-auth
    config: { anonymous: guest }
  - name: gold-only
    filter: acl
    config: { allow: { groups: [gold], consumers: [alice] } }
`;

let dir: string;
let path: string;
let filtersDir: string;
let store: ConfigStore;
let logged: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "portico-consumers-"));
  filtersDir = fakeFiltersDir();
  path = join(dir, "gateway.yaml");
  writeFileSync(path, BASE);
  logged = [];
  const log = (level: string, message: string, fields?: object) => void logged.push(`${level} ${message} ${JSON.stringify(fields)}`);
  const source = new ConfigSource({
    path,
    load: (text) => loadGatewayConfig(text, { source: path, baseDir: dir, filtersDir }),
    apply: async ({ origin }): Promise<ApplyOutcome> => ({ ok: true, origin, at: "", kind: "full" }),
    diff: async () => ({}),
    log,
  });
  store = new ConfigStore({ source, log });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});

const file = () => readFileSync(path, "utf8");
const fileConsumer = (name: string) => (parse(file()).consumers as { name: string }[]).find((c) => c.name === name);

describe("consumers: write-only credentials", () => {
  it("GET shows keys by id and users by username, never a key, digest or hash", async () => {
    const alice = await store.get("consumers", "alice");
    expect(alice!.value).toEqual({
      name: "alice",
      groups: ["gold"],
      credentials: { keys: [{ id: "alice-laptop" }], basic: [{ username: "alice" }] },
    });
    const listed = JSON.stringify(await store.list("consumers"));
    for (const secret of [keyDigest(KEY), BCRYPT]) expect(listed).not.toContain(secret);
    for (const format of ["yaml", "json"] as const) {
      const { text } = await store.getConfig(format);
      expect(text).toContain("alice-laptop");
      for (const secret of [keyDigest(KEY), BCRYPT, "$2y$"]) expect(text).not.toContain(secret);
    }
    // Comments survive the hiding.
    expect((await store.getConfig("yaml")).text).toContain("# the first customer");
  });

  it("a plain key is stored as its SHA-256; the answer and the file never hold it", async () => {
    const r = await store.put("consumers", "bob", { groups: ["free"], credentials: { keys: [{ id: "bob-1", key: "bob-secret-key-1" }] } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.created).toBe(true);
    expect(r.resource!.value).toEqual({ name: "bob", groups: ["free"], credentials: { keys: [{ id: "bob-1" }] } });
    expect(file()).not.toContain("bob-secret-key-1");
    expect(fileConsumer("bob")).toEqual({
      name: "bob",
      groups: ["free"],
      credentials: { keys: [{ id: "bob-1", key_sha256: keyDigest("bob-secret-key-1") }] },
    });
    expect(logged.join("\n")).not.toContain("bob-secret-key-1");
  });

  it("GET → edit → PUT keeps the stored secrets; an id with nothing stored is refused", async () => {
    const before = file();
    const alice = await store.get("consumers", "alice");
    const same = await store.put("consumers", "alice", alice!.value);
    expect(same).toMatchObject({ ok: true, unchanged: true });
    expect(file()).toBe(before);

    const edited = { ...alice!.value, groups: ["gold", "beta"] };
    expect(await store.put("consumers", "alice", edited, { ifMatch: alice!.etag })).toMatchObject({ ok: true, unchanged: false });
    expect(fileConsumer("alice")).toMatchObject({
      groups: ["gold", "beta"],
      credentials: { keys: [{ id: "alice-laptop", key_sha256: keyDigest(KEY) }], basic: [{ username: "alice", password_hash: BCRYPT }] },
    });
    // The comment on the item's first line survives the splice.
    expect(file()).toContain("# consumers test gateway");

    const unknown = await store.put("consumers", "alice", { credentials: { keys: [{ id: "alice-phone" }] } });
    expect(unknown).toEqual({
      ok: false,
      error: {
        code: "bad_request",
        message: 'credentials.keys[0] (id "alice-phone") has no stored secret to keep: give key or key_sha256',
      },
    });
  });

  it("PATCH: other fields keep the credentials; a new key list keeps named entries and hashes new keys", async () => {
    expect(await store.patch("consumers", "alice", { metadata: { tier: "gold" } })).toMatchObject({ ok: true });
    expect(fileConsumer("alice")).toMatchObject({ metadata: { tier: "gold" }, credentials: { keys: [{ key_sha256: keyDigest(KEY) }] } });
    const r = await store.patch("consumers", "alice", {
      credentials: { keys: [{ id: "alice-laptop" }, { id: "alice-phone", key: "alice-phone-key-2" }] },
    });
    expect(r).toMatchObject({ ok: true });
    expect(fileConsumer("alice")).toMatchObject({
      credentials: {
        keys: [
          { id: "alice-laptop", key_sha256: keyDigest(KEY) },
          { id: "alice-phone", key_sha256: keyDigest("alice-phone-key-2") },
        ],
        // A merge patch merges maps: basic was not in the patch, so it stays.
        basic: [{ username: "alice", password_hash: BCRYPT }],
      },
    });
  });

  it("a dry run validates and writes nothing; a refused key is not quoted in the errors", async () => {
    const before = file();
    const dry = await store.put("consumers", "carol", { credentials: { keys: [{ id: "c1", key: "carol-key-123" }] } }, { dryRun: true });
    expect(dry).toMatchObject({ ok: true });
    expect(file()).toBe(before);

    const bad = await store.put("consumers", "carol", { credentials: { keys: [{ id: "c1", key: "short k" }] } });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.code).toBe("invalid");
    expect(bad.error.errors!.map((e) => `${e.path}: ${e.message}`)).toEqual([
      "consumers[2].credentials.keys[0].key: an API key is 8 to 1024 visible ASCII characters (no spaces)",
    ]);
    expect(JSON.stringify(bad)).not.toContain("short k");
    expect(file()).toBe(before);

    // A key already given to alice: named by where it is, not by its value.
    const taken = await store.put("consumers", "carol", { credentials: { keys: [{ id: "c1", key: KEY }] } });
    expect(taken.ok).toBe(false);
    if (taken.ok) return;
    expect(taken.error.errors!.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'consumers[2].credentials.keys[0]: this API key is already consumers[0] ("alice")\'s, at credentials.keys[0] (id "alice-laptop")',
    ]);
    expect(JSON.stringify(taken)).not.toContain(KEY);
  });

  it("PUT /config: the whole file as GET shows it keeps every stored secret; plain keys are hashed", async () => {
    const { text } = await store.getConfig("yaml");
    const edited = text.replace("  - name: guest", "  - name: guest\n    credentials: { keys: [{ id: g1, key: guest-key-123 }] }");
    const r = await store.replaceConfig(edited);
    expect(r).toMatchObject({ ok: true, unchanged: false });
    expect(fileConsumer("alice")).toMatchObject({
      credentials: { keys: [{ id: "alice-laptop", key_sha256: keyDigest(KEY) }], basic: [{ username: "alice", password_hash: BCRYPT }] },
    });
    expect(fileConsumer("guest")).toEqual({ name: "guest", credentials: { keys: [{ id: "g1", key_sha256: keyDigest("guest-key-123") }] } });
    expect(file()).not.toContain("guest-key-123");
  });
});

describe("consumers: DELETE while referenced", () => {
  it("is refused while an ACL or an auth filter's anonymous names the consumer", async () => {
    expect(await store.delete("consumers", "alice")).toEqual({
      ok: false,
      error: { code: "conflict", message: 'consumer "alice" is still used by plugins[1] (gold-only)' },
    });
    expect(await store.delete("consumers", "guest")).toEqual({
      ok: false,
      error: { code: "conflict", message: 'consumer "guest" is still used by plugins[0] (keys)' },
    });
    await store.put("consumers", "temp", {});
    expect(await store.delete("consumers", "temp")).toMatchObject({ ok: true });
    expect(fileConsumer("temp")).toBeUndefined();
  });
});
