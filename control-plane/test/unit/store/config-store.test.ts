// The config store against a real file and the real loader (stand-in modules): every write is
// validated like a saved file, persisted atomically with comments kept, and refused with a
// precise reason when it would break something.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadGatewayConfig, type PluginChecker } from "../../../src/config/index.js";
import { ConfigSource } from "../../../src/gateway/config-source.js";
import type { ApplyOutcome } from "../../../src/gateway/gateway.js";
import { silentLog } from "../../../src/log.js";
import { ConfigStore } from "../../../src/store/config-store.js";
import { REDACTED } from "../../../src/store/types.js";
import { fakeFiltersDir } from "../../support/golden.js";

const BASE = `# Portico test gateway: this comment must survive API writes
listeners:
  - name: public   # the only listener
    port: 8080
routes:
  - name: api
    match: { path: { prefix: /api/ } }
    upstream: a
    plugins: [auth]
upstreams:
  - name: a
    endpoints: ["127.0.0.1:9001"]
  - name: b
    endpoints: ["127.0.0.1:9002"]
plugins:
  - name: auth
    filter: jwt-auth
    config:
      providers:
        - name: idp
          issuer: https://idp.example.com
          jwks: { keys: [{ kty: oct, kid: h, alg: HS256, k: c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyE }] }
      rules: [{ match: {}, requires: [idp] }]
`;

let dir: string;
let path: string;
let filtersDir: string;
let applied: string[];
let store: ConfigStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "portico-store-"));
  filtersDir = fakeFiltersDir();
  path = join(dir, "gateway.yaml");
  writeFileSync(path, BASE);
  applied = [];
  const source = new ConfigSource({
    path,
    load: (text) => loadGatewayConfig(text, { source: path, baseDir: dir, filtersDir }),
    apply: async ({ origin }): Promise<ApplyOutcome> => {
      applied.push(origin);
      return { ok: true, origin, at: "", kind: "full" };
    },
    diff: async (loaded) => ({ Route: { added: loaded.model.routes.map((r) => r.name), removed: [], changed: [] } }),
    log: silentLog,
  });
  store = new ConfigStore({ source, log: silentLog });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});

const file = () => readFileSync(path, "utf8");

describe("ConfigStore", () => {
  it("lists and gets resources with ETags, secrets redacted", async () => {
    const ups = await store.list("upstreams");
    expect(ups.map((u) => u.name)).toEqual(["a", "b"]);
    expect(ups[0]!.etag).toMatch(/^"[0-9a-f]{20}"$/);
    const auth = await store.get("plugins", "auth");
    expect(JSON.stringify(auth!.value)).toContain(REDACTED);
    expect(JSON.stringify(auth!.value)).not.toContain("c3VwZXIt");
    expect(await store.get("routes", "nope")).toBeUndefined();
  });

  it("creates and updates by name, keeping comments, and applies each write once", async () => {
    const created = await store.put("routes", "web", { match: { path: { prefix: "/" } }, upstream: "b" });
    expect(created).toMatchObject({ ok: true, created: true });
    const updated = await store.put("routes", "web", { match: { path: { prefix: "/" } }, upstream: "a" });
    expect(updated).toMatchObject({ ok: true, created: false, unchanged: false });
    expect(file()).toContain("# Portico test gateway: this comment must survive API writes");
    expect(file()).toContain("# the only listener");
    expect(parse(file()).routes.map((r: { name: string }) => r.name)).toEqual(["api", "web"]);
    expect(applied).toEqual(["admin API PUT /routes/web", "admin API PUT /routes/web"]);
    // The same content again changes nothing and pushes nothing.
    const same = await store.put("routes", "web", { match: { path: { prefix: "/" } }, upstream: "a" });
    expect(same).toMatchObject({ ok: true, unchanged: true });
    expect(applied).toHaveLength(2);
  });

  it("validates a write exactly as the file: located errors, nothing written", async () => {
    const before = file();
    const r = await store.put("routes", "bad", { upstream: "missing" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("invalid");
    expect(r.error.errors!.map((e) => `${e.path}: ${e.message}`).join("\n")).toMatch(/routes\[1\]\.upstream: no upstream named "missing"/);
    expect(file()).toBe(before);
    expect(applied).toEqual([]);
  });

  it("honours If-Match and If-None-Match", async () => {
    const a = (await store.get("upstreams", "a"))!;
    const ok = await store.put("upstreams", "a", { endpoints: ["127.0.0.1:9003"] }, { ifMatch: a.etag });
    expect(ok.ok).toBe(true);
    const stale = await store.put("upstreams", "a", { endpoints: ["127.0.0.1:9004"] }, { ifMatch: a.etag });
    expect(stale).toMatchObject({ ok: false, error: { code: "precondition_failed" } });
    const createOnly = await store.put("upstreams", "a", { endpoints: ["127.0.0.1:9004"] }, { ifNoneMatch: "*" });
    expect(createOnly).toMatchObject({ ok: false, error: { code: "precondition_failed" } });
    expect(parse(file()).upstreams[0].endpoints).toEqual(["127.0.0.1:9003"]);
  });

  it("merges a PATCH and keeps redacted secrets as stored", async () => {
    const auth = (await store.get("plugins", "auth"))!;
    // Read, change one thing, write back with the placeholder still in it.
    const v = structuredClone(auth.value) as { config: { providers: { issuer: string }[] } };
    v.config.providers[0]!.issuer = "https://idp2.example.com";
    const r = await store.put("plugins", "auth", v, { ifMatch: auth.etag });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(file()).toContain("c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyE");
    expect(file()).toContain("https://idp2.example.com");
    const p = await store.patch("upstreams", "b", { endpoints: ["127.0.0.1:9009"], lb: "random" });
    expect(p.ok).toBe(true);
    expect(parse(file()).upstreams[1]).toEqual({ name: "b", endpoints: ["127.0.0.1:9009"], lb: "random" });
    const removeField = await store.patch("upstreams", "b", { lb: null });
    expect(removeField.ok).toBe(true);
    expect(parse(file()).upstreams[1]).toEqual({ name: "b", endpoints: ["127.0.0.1:9009"] });
    expect(await store.patch("upstreams", "zzz", { lb: "random" })).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("refuses to delete what is still referenced, and deletes what is not", async () => {
    expect(await store.delete("upstreams", "a")).toMatchObject({
      ok: false,
      error: { code: "conflict", message: expect.stringContaining("routes[0] (api)") },
    });
    expect(await store.delete("plugins", "auth")).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect((await store.delete("upstreams", "b")).ok).toBe(true);
    expect(parse(file()).upstreams.map((u: { name: string }) => u.name)).toEqual(["a"]);
    expect(await store.delete("upstreams", "b")).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("dry runs validate and report the diff without writing", async () => {
    const before = file();
    const r = await store.put("routes", "web", { upstream: "b" }, { dryRun: true });
    expect(r).toMatchObject({ ok: true, diff: { Route: { added: ["api", "web"] } } });
    expect(file()).toBe(before);
    expect(applied).toEqual([]);
  });

  it("replaces the whole config; identical content is a no-op; secrets come back redacted and are kept", async () => {
    const { text, etag } = await store.getConfig("yaml");
    expect(text).toContain("# the only listener");
    expect(text).toContain(REDACTED);
    expect(text).not.toContain("c3VwZXIt");
    // Putting back what was read changes nothing: the placeholders resolve to the stored secret.
    const back = await store.replaceConfig(text, { ifMatch: etag });
    expect(back).toMatchObject({ ok: true });
    expect(parse(file())).toEqual(parse(BASE));
    const json = JSON.parse((await store.getConfig("json")).text);
    json.upstreams[1].endpoints = ["127.0.0.1:9100"];
    const r = await store.replaceConfig(JSON.stringify(json));
    expect(r.ok).toBe(true);
    expect(parse(file()).upstreams[1].endpoints).toEqual(["127.0.0.1:9100"]);
    expect(parse(file()).plugins[0].config.providers[0].jwks.keys[0].k).toBe("c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyE");
    expect(await store.replaceConfig("listeners: [", {})).toMatchObject({ ok: false, error: { code: "invalid" } });
    expect(await store.replaceConfig(BASE, { ifMatch: etag })).toMatchObject({ ok: false, error: { code: "precondition_failed" } });
  });

  it("leaves no temp files behind", async () => {
    await store.put("routes", "web", { upstream: "b" });
    expect(readdirSync(dir)).toEqual(["gateway.yaml"]);
  });
});

describe("ConfigStore DELETE and the clusters plugins call", () => {
  // Stands in for a filter that reports the clusters its config names (as jwt-auth reports
  // remote_jwks.cluster); what else the config holds is not the store's business.
  const checkPlugin: PluginChecker = async ({ config }) => {
    const providers = (JSON.parse(config) as { providers?: { remote_jwks?: { cluster?: string } }[] }).providers ?? [];
    const clusters = providers.flatMap((p, i) =>
      p.remote_jwks?.cluster ? [{ name: p.remote_jwks.cluster, path: `providers[${i}].remote_jwks.cluster` }] : [],
    );
    return { errors: [], clusters };
  };
  const CALLS = `listeners:
  - name: public
    port: 8080
routes:
  - name: api
    listeners: [public]
    match: { path: { prefix: /api/ } }
    upstreams: [{ name: a, weight: 1 }]
upstreams:
  - name: a
    endpoints: ["127.0.0.1:9001"]
  - name: idp
    endpoints: ["127.0.0.1:9002"]
  - name: metrics
    endpoints: ["127.0.0.1:9003"]
plugins:
  - name: auth
    filter: jwt-auth
    config:
      providers:
        - { name: idp, remote_jwks: { cluster: idp, path: /jwks } }
      # Not a cluster the filter calls: only the filter says which fields are.
      audit: { cluster: metrics }
`;
  let checked: ConfigStore;
  beforeEach(() => {
    writeFileSync(path, CALLS);
    const source = new ConfigSource({
      path,
      load: (text) => loadGatewayConfig(text, { source: path, baseDir: dir, filtersDir, checkPlugin }),
      apply: async ({ origin }): Promise<ApplyOutcome> => ({ ok: true, origin, at: "", kind: "full" }),
      diff: async () => ({}),
      log: silentLog,
    });
    checked = new ConfigStore({ source, log: silentLog });
  });

  it("refuses to delete an upstream only a plugin's reported cluster uses, naming the plugin", async () => {
    expect(await checked.delete("upstreams", "idp")).toMatchObject({
      ok: false,
      error: { code: "conflict", message: 'upstream "idp" is still used by plugins[0] (auth)' },
    });
    expect(parse(file()).upstreams.map((u: { name: string }) => u.name)).toEqual(["a", "idp", "metrics"]);
  });

  it("deletes an upstream a plugin config merely mentions under a key the filter does not report", async () => {
    expect((await checked.delete("upstreams", "metrics")).ok).toBe(true);
    expect(parse(file()).upstreams.map((u: { name: string }) => u.name)).toEqual(["a", "idp"]);
  });

  it("still refuses what routes use: a listener, and an upstream in a split", async () => {
    expect(await checked.delete("listeners", "public")).toMatchObject({
      ok: false,
      error: { code: "conflict", message: 'listener "public" is still used by routes[0] (api)' },
    });
    expect(await checked.delete("upstreams", "a")).toMatchObject({
      ok: false,
      error: { code: "conflict", message: 'upstream "a" is still used by routes[0] (api)' },
    });
  });
});
