// The admin API over a real HTTP server, against an in-memory ConfigStore that honours the
// store's contract (ETags, If-Match / If-None-Match, dry runs, references, redaction): what an
// operator with curl would see for every endpoint.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { ConfigError } from "../../../src/config/index.js";
import type { LogFn } from "../../../src/log.js";
import { startAdminServer, type AdminServer, type AdminServerOptions, type AdminStore } from "../../../src/admin/server.js";
import { canonicalJson, configEtag, ifMatchHolds, mergePatch, resourceEtag } from "../../../src/store/canonical.js";
import { redact } from "../../../src/store/secrets.js";
import { KINDS, REDACTED, type Kind, type ResourceDiff, type StoredResource, type WriteOptions, type WriteResult } from "../../../src/store/types.js";
import { generateCertificate } from "../../support/tls.js";

// ---- a fake ConfigStore ---------------------------------------------------------------------
// (ETags, If-Match, merge patch and redaction are the real store's helpers; the rest is in memory.)

type Item = Record<string, unknown> & { name: string };
type Config = Record<Kind, Item[]>;

const SECRET = "s3cr3t-signing-key";
const ALLOWED: Record<Kind, string[]> = {
  listeners: ["name", "address", "port"],
  routes: ["name", "match", "upstream", "plugins", "timeout"],
  upstreams: ["name", "endpoints"],
  plugins: ["name", "filter", "config"],
};

const clone = <T>(v: T): T => structuredClone(v);

class FakeStore implements AdminStore {
  config: Config;
  /** Writes that reached "disk" (and would have been pushed). */
  commits = 0;
  failWith: Error | undefined;

  constructor(initial: Partial<Config>) {
    this.config = { listeners: [], routes: [], upstreams: [], plugins: [], ...clone(initial) };
  }

  private text(c: Config = this.config): string { return stringify(c); }

  private check(c: Config): ConfigError[] {
    const errors: ConfigError[] = [];
    const err = (path: string, message: string, line = 1) => errors.push({ source: "gateway.yaml", path, line, column: 5, message });
    for (const kind of KINDS) {
      c[kind].forEach((item, i) => {
        for (const key of Object.keys(item)) if (!ALLOWED[kind].includes(key)) err(`${kind}[${i}].${key}`, `unknown key "${key}"`, i + 2);
      });
    }
    c.routes.forEach((r, i) => {
      if (!c.upstreams.some((u) => u.name === r.upstream)) err(`routes[${i}].upstream`, `no upstream named "${String(r.upstream)}"`, i + 2);
    });
    return errors;
  }

  private diff(before: Config, after: Config): ResourceDiff {
    const out: ResourceDiff = {};
    for (const kind of KINDS) {
      const names = (c: Config) => new Map(c[kind].map((i) => [i.name, canonicalJson(i)]));
      const [b, a] = [names(before), names(after)];
      const d = { added: [...a.keys()].filter((n) => !b.has(n)), removed: [...b.keys()].filter((n) => !a.has(n)), changed: [...a.keys()].filter((n) => b.has(n) && b.get(n) !== a.get(n)) };
      if (d.added.length + d.removed.length + d.changed.length > 0) out[kind] = d;
    }
    return out;
  }

  private commit(next: Config, o: WriteOptions, etag: string, extra: { created: boolean; resource?: StoredResource }): WriteResult {
    if (this.text(next) === this.text()) return { ok: true, etag, created: false, unchanged: true, ...(o.dryRun ? { diff: {} } : {}), ...(extra.resource ? { resource: extra.resource } : {}) };
    const errors = this.check(next);
    if (errors.length > 0) return { ok: false, error: { code: "invalid", message: "the change does not validate; nothing was applied", errors } };
    if (o.dryRun) return { ok: true, etag, created: extra.created, unchanged: false, diff: this.diff(this.config, next) };
    this.config = next;
    this.commits++;
    return { ok: true, etag, unchanged: false, ...extra };
  }

  private stored(kind: Kind, v: Item): StoredResource {
    return { kind, name: v.name, value: redact(v) as Record<string, unknown>, etag: resourceEtag(v) };
  }

  async list(kind: Kind) { if (this.failWith) throw this.failWith; return this.config[kind].map((v) => this.stored(kind, v)); }
  async get(kind: Kind, name: string) { const v = this.config[kind].find((i) => i.name === name); return v && this.stored(kind, v); }

  private async write(kind: Kind, name: string, build: (cur: Item | undefined) => Item | undefined | string, o: WriteOptions): Promise<WriteResult> {
    const cur = this.config[kind].find((i) => i.name === name);
    if (o.ifNoneMatch?.trim() === "*" && cur) return { ok: false, error: { code: "precondition_failed", message: `${kind} "${name}" already exists` } };
    if (!ifMatchHolds(o.ifMatch, cur && resourceEtag(cur))) return { ok: false, error: { code: "precondition_failed", message: `${kind} "${name}" changed since it was read` } };
    const built = build(cur);
    if (typeof built === "string") return { ok: false, error: { code: "bad_request", message: built } };
    if (!built) return { ok: false, error: { code: "not_found", message: `no ${kind} named "${name}"` } };
    const value = restoreSecrets(built, cur);
    const next = clone(this.config);
    const i = next[kind].findIndex((x) => x.name === name);
    if (i >= 0) next[kind][i] = value; else next[kind].push(value);
    return this.commit(next, o, resourceEtag(value), { created: !cur, resource: this.stored(kind, value) });
  }

  put(kind: Kind, name: string, value: unknown, o: WriteOptions = {}) {
    return this.write(kind, name, () => {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return "the body must be a JSON object";
      const body = value as Record<string, unknown>;
      if (body.name !== undefined && body.name !== name) return `the body names "${String(body.name)}" but the URL names "${name}"`;
      return { ...body, name };
    }, o);
  }

  patch(kind: Kind, name: string, patch: unknown, o: WriteOptions = {}) {
    return this.write(kind, name, (cur) => (cur ? { ...(mergePatch(cur, patch) as Item), name } : undefined), o);
  }

  async delete(kind: Kind, name: string, o: WriteOptions = {}): Promise<WriteResult> {
    const cur = this.config[kind].find((i) => i.name === name);
    if (!cur) return { ok: false, error: { code: "not_found", message: `no ${kind} named "${name}"` } };
    if (!ifMatchHolds(o.ifMatch, resourceEtag(cur))) return { ok: false, error: { code: "precondition_failed", message: "changed since it was read" } };
    const users = this.config.routes.filter((r) => r.upstream === name || (Array.isArray(r.plugins) && r.plugins.includes(name)));
    if (kind !== "routes" && users.length > 0) return { ok: false, error: { code: "conflict", message: `${kind} "${name}" is still used by ${users.map((u) => `routes.${u.name}`).join(", ")}` } };
    const next = clone(this.config);
    next[kind] = next[kind].filter((i) => i.name !== name);
    return this.commit(next, o, resourceEtag(cur), { created: false });
  }

  async getConfig(format: "yaml" | "json") {
    const red = redact(this.config);
    return { text: format === "json" ? JSON.stringify(red, null, 2) : `# the gateway\n${stringify(red)}`, etag: configEtag(this.text()) };
  }

  async replaceConfig(text: string, o: WriteOptions = {}): Promise<WriteResult> {
    if (!ifMatchHolds(o.ifMatch, configEtag(this.text()))) return { ok: false, error: { code: "precondition_failed", message: "the config changed since it was read" } };
    const parsed = (parse(text) ?? {}) as Partial<Config>;
    const next: Config = { listeners: [], routes: [], upstreams: [], plugins: [], ...parsed };
    return this.commit(next, o, configEtag(this.text(next)), { created: false });
  }

  async validate(text: string) {
    const parsed = (parse(text) ?? {}) as Partial<Config>;
    const errors = this.check({ listeners: [], routes: [], upstreams: [], plugins: [], ...parsed });
    return { valid: errors.length === 0, errors };
  }
}

function restoreSecrets(v: Item, cur: Item | undefined): Item {
  const walk = (x: unknown, old: unknown): unknown =>
    x === REDACTED ? old
    : x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y, (old as Record<string, unknown> | undefined)?.[k])]))
    : x;
  return walk(v, cur) as Item;
}

const INITIAL: Partial<Config> = {
  listeners: [{ name: "public", port: 8080 }],
  routes: [{ name: "api", match: { path: { prefix: "/api" } }, upstream: "a", plugins: ["auth"] }],
  upstreams: [{ name: "a", endpoints: ["127.0.0.1:9001"] }, { name: "b", endpoints: ["127.0.0.1:9002"] }],
  plugins: [{ name: "auth", filter: "jwt-auth", config: { issuer: "https://idp", secret: SECRET } }],
};

// ---- a small HTTP client --------------------------------------------------------------------

interface Reply { status: number; headers: IncomingHttpHeaders; text: string; json: () => any }

function call(base: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean; ca?: Buffer } = {}): Promise<Reply> {
  const url = new URL(path, base);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers: o.headers, ...(o.ca ? { ca: o.ca, servername: "localhost" } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on("error", reject);
    if (o.body !== undefined && !o.chunked) req.setHeader("content-length", Buffer.byteLength(o.body));
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

const JSON_HEADERS = { "content-type": "application/json" };

// ---- the tests ------------------------------------------------------------------------------

let store: FakeStore;
let server: AdminServer | undefined;
let requests: [string, string, number][];
let logs: [string, string, Record<string, unknown> | undefined][];
const log: LogFn = (level, msg, fields) => void logs.push([level, msg, fields]);

async function start(o: Partial<AdminServerOptions> = {}): Promise<(method: string, path: string, opts?: Parameters<typeof call>[3]) => Promise<Reply>> {
  server = await startAdminServer({ store, host: "127.0.0.1", port: 0, log, onRequest: (m, r, s) => void requests.push([m, r, s]), ...o });
  const base = server.url;
  return (method, path, opts) => call(base, method, path, opts);
}

beforeEach(() => {
  store = new FakeStore(INITIAL);
  requests = [];
  logs = [];
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("admin API: resources", () => {
  it("lists a collection with its total, secrets redacted", async () => {
    const api = await start();
    const r = await api("GET", "/upstreams");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(r.json()).toEqual({ items: [{ name: "a", endpoints: ["127.0.0.1:9001"] }, { name: "b", endpoints: ["127.0.0.1:9002"] }], total: 2 });
    const plugins = await api("GET", "/plugins");
    expect(plugins.text).not.toContain(SECRET);
    expect(plugins.json().items[0].config.secret).toBe(REDACTED);
  });

  it("gets one resource with an ETag, and 304 when If-None-Match still matches", async () => {
    const api = await start();
    const r = await api("GET", "/routes/api");
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ name: "api", upstream: "a" });
    const etag = r.headers.etag!;
    expect(etag).toMatch(/^".+"$/);
    const again = await api("GET", "/routes/api", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe("");
  });

  it("answers 404 with the error shape for a missing resource, and for an unknown collection", async () => {
    const api = await start();
    const r = await api("GET", "/routes/nope");
    expect(r.status).toBe(404);
    expect(r.json()).toMatchObject({ error: "not_found", message: expect.stringContaining("nope"), errors: [] });
    const unknown = await api("GET", "/consumers");
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toBe("not_found");
  });

  it("PUT creates (201, Location, ETag) then replaces (200); a trailing slash is the same path", async () => {
    const api = await start();
    const created = await api("PUT", "/routes/web", { headers: JSON_HEADERS, body: JSON.stringify({ match: { path: { prefix: "/" } }, upstream: "b" }) });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe("/routes/web");
    expect(created.headers.etag).toBeTruthy();
    expect(created.json()).toEqual({ name: "web", match: { path: { prefix: "/" } }, upstream: "b" });
    const replaced = await api("PUT", "/routes/web/", { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "a" }) });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.etag).not.toBe(created.headers.etag);
    expect(store.config.routes.find((r) => r.name === "web")).toEqual({ name: "web", upstream: "a" });
    expect(requests).toContainEqual(["PUT", "/routes/{name}", 201]);
    expect(logs.some(([level, msg]) => level === "info" && msg === "admin API write")).toBe(true);
  });

  it("refuses a write over a stale ETag with 412 and accepts the current one", async () => {
    const api = await start();
    const { headers } = await api("GET", "/upstreams/b");
    await api("PUT", "/upstreams/b", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: ["127.0.0.1:9003"] }) }); // another operator
    const stale = await api("PUT", "/upstreams/b", { headers: { ...JSON_HEADERS, "if-match": headers.etag! }, body: JSON.stringify({ endpoints: ["127.0.0.1:9004"] }) });
    expect(stale.status).toBe(412);
    expect(stale.json().error).toBe("precondition_failed");
    expect(store.config.upstreams[1]!.endpoints).toEqual(["127.0.0.1:9003"]);
    const fresh = (await api("GET", "/upstreams/b")).headers.etag!;
    const ok = await api("PUT", "/upstreams/b", { headers: { ...JSON_HEADERS, "if-match": fresh }, body: JSON.stringify({ endpoints: ["127.0.0.1:9004"] }) });
    expect(ok.status).toBe(200);
    const exists = await api("PUT", "/upstreams/b", { headers: { ...JSON_HEADERS, "if-none-match": "*" }, body: JSON.stringify({ endpoints: ["127.0.0.1:9005"] }) });
    expect(exists.status).toBe(412);
  });

  it("POST creates with the name in the body, 409 when it exists, 400 without a name", async () => {
    const api = await start();
    const body = JSON.stringify({ name: "c", endpoints: ["127.0.0.1:9009"] });
    const created = await api("POST", "/upstreams", { headers: JSON_HEADERS, body });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe("/upstreams/c");
    const again = await api("POST", "/upstreams", { headers: JSON_HEADERS, body });
    expect(again.status).toBe(409);
    expect(again.json().error).toBe("conflict");
    const nameless = await api("POST", "/upstreams", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: [] }) });
    expect(nameless.status).toBe(400);
    expect(nameless.json().message).toContain("name");
  });

  it("answers 400 naming the field when the result does not validate, and changes nothing", async () => {
    const api = await start();
    const r = await api("PUT", "/routes/api", { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "ech0", plugins: ["auth"] }) });
    expect(r.status).toBe(400);
    const body = r.json();
    expect(body.error).toBe("invalid");
    expect(body.errors).toEqual([{ path: "routes[0].upstream", line: 2, column: 5, message: 'no upstream named "ech0"' }]);
    expect(store.config.routes[0]!.upstream).toBe("a");
    expect(store.commits).toBe(0);
    const mismatch = await api("PUT", "/routes/api", { headers: JSON_HEADERS, body: JSON.stringify({ name: "other", upstream: "a" }) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json().error).toBe("bad_request");
  });

  it("PATCH merges (null removes a key) with merge-patch+json or json; 404 for a missing resource", async () => {
    const api = await start();
    const r = await api("PATCH", "/routes/api", { headers: { "content-type": "application/merge-patch+json" }, body: JSON.stringify({ timeout: "5s", plugins: null }) });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ name: "api", match: { path: { prefix: "/api" } }, upstream: "a", timeout: "5s" });
    expect(r.headers.etag).toBeTruthy();
    const plain = await api("PATCH", "/routes/api", { headers: JSON_HEADERS, body: JSON.stringify({ timeout: "6s" }) });
    expect(plain.json().timeout).toBe("6s");
    const missing = await api("PATCH", "/routes/nope", { headers: JSON_HEADERS, body: "{}" });
    expect(missing.status).toBe(404);
  });

  it("keeps a secret that is written back redacted, and never returns it", async () => {
    const api = await start();
    const current = (await api("GET", "/plugins/auth")).json();
    const r = await api("PUT", "/plugins/auth", { headers: JSON_HEADERS, body: JSON.stringify({ ...current, config: { ...current.config, issuer: "https://idp2" } }) });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(SECRET);
    expect(store.config.plugins[0]!.config).toEqual({ issuer: "https://idp2", secret: SECRET });
  });

  it("DELETE refuses while something refers to the resource (409), then deletes (204)", async () => {
    const api = await start();
    const refused = await api("DELETE", "/upstreams/a");
    expect(refused.status).toBe(409);
    expect(refused.json().message).toContain("routes.api");
    const gone = await api("DELETE", "/upstreams/b");
    expect(gone.status).toBe(204);
    expect(gone.text).toBe("");
    expect((await api("GET", "/upstreams/b")).status).toBe(404);
    expect((await api("DELETE", "/upstreams/b")).status).toBe(404);
  });

  it("dry_run=true validates and shows the diff, changing nothing", async () => {
    const api = await start();
    const put = await api("PUT", "/upstreams/c?dry_run=true", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: ["127.0.0.1:1"] }) });
    expect(put.status).toBe(200);
    expect(put.json()).toEqual({ dry_run: true, valid: true, diff: { upstreams: { added: ["c"], removed: [], changed: [] } }, errors: [] });
    const bad = await api("PATCH", "/routes/api?dry_run=true", { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "zzz" }) });
    expect(bad.status).toBe(200);
    expect(bad.json()).toMatchObject({ dry_run: true, valid: false, errors: [{ path: "routes[0].upstream" }] });
    const del = await api("DELETE", "/routes/api?dry_run=1");
    expect(del.json()).toMatchObject({ dry_run: true, valid: true, diff: { routes: { removed: ["api"] } } });
    const whole = await api("PUT", "/config?dry_run=true", { headers: { "content-type": "application/yaml" }, body: "upstreams: [{name: a, endpoints: ['127.0.0.1:1']}]\n" });
    expect(whole.json()).toMatchObject({ dry_run: true, valid: true, diff: { routes: { removed: ["api"] } } });
    expect(store.commits).toBe(0);
    expect(store.config).toEqual({ ...INITIAL });
    const wrong = await api("DELETE", "/routes/api?dry_run=maybe");
    expect(wrong.status).toBe(400);
  });

  it("answers 415 for an unsupported content type and 400 (located, body not quoted) for bad JSON", async () => {
    const api = await start();
    const form = await api("PUT", "/routes/api", { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "upstream=a" });
    expect(form.status).toBe(415);
    expect(form.json()).toMatchObject({ error: "unsupported_media_type", message: expect.stringContaining("application/json") });
    const jsonPatch = await api("PATCH", "/routes/api", { headers: { "content-type": "application/json-patch+json" }, body: "[]" });
    expect(jsonPatch.status).toBe(415);
    const broken = await api("PUT", "/plugins/auth", { headers: JSON_HEADERS, body: `{"config": {"secret": "${SECRET}",}\n}` });
    expect(broken.status).toBe(400);
    expect(broken.json().error).toBe("invalid_json");
    expect(broken.text).not.toContain(SECRET);
  });

  it("answers 405 with Allow for a method a path does not take", async () => {
    const api = await start();
    const r = await api("DELETE", "/config");
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET, PUT");
    expect((await api("PUT", "/routes")).headers.allow).toBe("GET, POST");
    expect(requests).toContainEqual(["DELETE", "/config", 405]);
  });

  it("answers 413 past the size limit, whether the length is declared or not", async () => {
    const api = await start({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ endpoints: ["x".repeat(4096)] });
    const declared = await api("PUT", "/upstreams/a", { headers: JSON_HEADERS, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json().error).toBe("payload_too_large");
    const chunked = await api("PUT", "/upstreams/a", { headers: JSON_HEADERS, body: big, chunked: true });
    expect(chunked.status).toBe(413);
    const huge = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: Buffer.alloc(3 * 1024 * 1024, 0x61), chunked: true });
    expect(huge.status).toBe(413);
    expect(store.config.upstreams[0]!.endpoints).toEqual(["127.0.0.1:9001"]);
    // The server is still fine afterwards.
    expect((await api("GET", "/upstreams/a")).status).toBe(200);
  });

  it("answers 500 without details when the store fails, and logs the cause", async () => {
    const api = await start();
    store.failWith = new Error("EACCES: permission denied, open '/etc/portico/gateway.yaml'");
    const r = await api("GET", "/routes");
    expect(r.status).toBe(500);
    expect(r.json().error).toBe("internal");
    expect(r.text).not.toContain("EACCES");
    expect(logs.some(([level, , fields]) => level === "error" && String(fields?.error).includes("EACCES"))).toBe(true);
  });
});

describe("admin API: the whole config", () => {
  it("GET /config is YAML by default and JSON when Accept prefers it, with an ETag", async () => {
    const api = await start();
    const yaml = await api("GET", "/config");
    expect(yaml.status).toBe(200);
    expect(yaml.headers["content-type"]).toMatch(/^application\/yaml/);
    expect(yaml.text).toContain("# the gateway");
    expect(yaml.text).not.toContain(SECRET);
    const json = await api("GET", "/config", { headers: { accept: "application/yaml;q=0.5, application/json" } });
    expect(json.headers["content-type"]).toMatch(/^application\/json/);
    expect(json.json().routes[0].name).toBe("api");
    expect(json.headers.etag).toBe(yaml.headers.etag);
    expect((await api("GET", "/config", { headers: { "if-none-match": yaml.headers.etag! } })).status).toBe(304);
  });

  it("PUT /config replaces the file; the same content again is unchanged and not pushed", async () => {
    const api = await start();
    const text = stringify({ ...INITIAL, upstreams: [...INITIAL.upstreams!, { name: "c", endpoints: ["127.0.0.1:9003"] }] }).replace(SECRET, REDACTED);
    const first = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: text });
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({ unchanged: false });
    expect(store.commits).toBe(1);
    expect(store.config.upstreams.map((u) => u.name)).toEqual(["a", "b", "c"]);
    const again = await api("PUT", "/config", { headers: { "content-type": "text/yaml" }, body: text });
    expect(again.json()).toEqual({ unchanged: true });
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(store.commits).toBe(1);
  });

  it("PUT /config takes JSON, honours If-Match, and locates JSON syntax errors", async () => {
    const api = await start();
    const etag = (await api("GET", "/config")).headers.etag!;
    const body = JSON.stringify({ upstreams: [{ name: "only", endpoints: ["127.0.0.1:1"] }] });
    const ok = await api("PUT", "/config", { headers: { "content-type": "application/json", "if-match": etag }, body });
    expect(ok.status).toBe(200);
    const stale = await api("PUT", "/config", { headers: { "content-type": "application/json", "if-match": etag }, body: "{}" });
    expect(stale.status).toBe(412);
    const broken = await api("PUT", "/config", { headers: JSON_HEADERS, body: '{\n  "routes": [\n    oops\n  ]\n}' });
    expect(broken.status).toBe(400);
    expect(broken.json()).toMatchObject({ error: "invalid_json", errors: [{ line: 3, column: 5 }] });
    const invalid = await api("PUT", "/config", { headers: JSON_HEADERS, body: JSON.stringify({ routes: [{ name: "r", upstream: "none" }] }) });
    expect(invalid.status).toBe(400);
    expect(invalid.json().errors[0].path).toBe("routes[0].upstream");
    expect((await api("PUT", "/config", { headers: { "content-type": "text/html" }, body: "<p>" })).status).toBe(415);
  });

  it("POST /validate reports every error and changes nothing", async () => {
    const api = await start();
    const good = await api("POST", "/validate", { headers: { "content-type": "application/yaml" }, body: "upstreams: [{name: a, endpoints: ['127.0.0.1:1']}]\n" });
    expect(good.json()).toEqual({ valid: true, errors: [] });
    const bad = await api("POST", "/validate", { headers: { "content-type": "application/yaml" }, body: "routes: [{name: r, upstream: x, tiemout: 1s}]\n" });
    expect(bad.status).toBe(200);
    expect(bad.json().valid).toBe(false);
    expect(bad.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(["routes[0].tiemout", "routes[0].upstream"]);
    const json = await api("POST", "/validate", { headers: JSON_HEADERS, body: "{" });
    expect(json.json()).toMatchObject({ valid: false, errors: [{ message: expect.any(String) }] });
    expect(store.commits).toBe(0);
  });

  it("serves the gateway schema and each list's item schema", async () => {
    const api = await start();
    const all = (await api("GET", "/schema")).json();
    expect(Object.keys(all.properties)).toEqual(expect.arrayContaining([...KINDS]));
    const route = await api("GET", "/schema/routes");
    expect(route.status).toBe(200);
    expect(route.json()).toMatchObject({ type: "object", properties: { upstream: expect.any(Object), name: expect.any(Object) } });
    expect((await api("GET", "/schema/consumers")).status).toBe(404);
  });

  it("serves its OpenAPI document", async () => {
    const api = await start();
    const doc = (await api("GET", "/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/routes/{name}"].put).toBeDefined();
    expect(doc.components.securitySchemes).toBeUndefined();
  });
});

describe("admin API: the control plane's endpoints", () => {
  it("lets the fallback answer first, and 404s its paths without one", async () => {
    const seen: string[] = [];
    let api = await start({
      fallback: (req, res) => {
        seen.push(req.url!);
        if (req.url !== "/status") return false;
        res.writeHead(200, { "content-type": "application/json" }).end('{"config":{}}');
        return true;
      },
    });
    expect((await api("GET", "/status")).json()).toEqual({ config: {} });
    expect((await api("GET", "/routes")).status).toBe(200);
    expect(seen).toEqual(["/status", "/routes"]);
    expect(requests).toContainEqual(["GET", "/status", 200]);
    await server!.close();
    api = await start();
    expect((await api("GET", "/status")).status).toBe(404);
    expect((await api("GET", "/healthz")).json()).toEqual({ ok: true });
  });
});

describe("admin API: authentication", () => {
  const TOKEN = "correct-horse-battery-staple";

  it("requires the bearer token everywhere but GET /healthz", async () => {
    let fallbackCalls = 0;
    const api = await start({ token: TOKEN, fallback: () => (fallbackCalls++, false) });
    const none = await api("GET", "/routes");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="portico-admin"');
    expect(none.json().error).toBe("unauthorized");
    const wrong = await api("GET", "/routes", { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["www-authenticate"]).toContain('error="invalid_token"');
    const basic = await api("GET", "/routes", { headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` } });
    expect(basic.status).toBe(401);
    const write = await api("DELETE", "/routes/api");
    expect(write.status).toBe(401);
    expect(store.config.routes).toHaveLength(1);
    expect(fallbackCalls).toBe(0);
    const right = await api("GET", "/routes", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect((await api("GET", "/healthz")).status).toBe(200);
    expect((await api("GET", "/openapi.json")).status).toBe(401);
    const doc = (await api("GET", "/openapi.json", { headers: { authorization: `bearer ${TOKEN}` } })).json();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(requests).toContainEqual(["GET", "/routes", 401]);
  });

  it("refuses to listen beyond loopback without a token, and listens with one", async () => {
    await expect(startAdminServer({ store, host: "0.0.0.0", port: 0, log })).rejects.toThrow(/loopback/);
    await expect(startAdminServer({ store, host: "::", port: 0, log, token: "" })).rejects.toThrow(/token/);
    await start({ host: "0.0.0.0", token: TOKEN });
    expect(server!.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const base = `http://127.0.0.1:${server!.port}`;
    expect((await call(base, "GET", "/routes")).status).toBe(401);
    expect((await call(base, "GET", "/routes", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe("admin API: TLS", () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "portico-admin-tls-")); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("serves HTTPS with the given certificate", async () => {
    const cert = generateCertificate(join(dir, "cert.pem"), join(dir, "key.pem"), "localhost");
    await start({ tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
    expect(server!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await call(server!.url, "GET", "/routes/api", { ca: readFileSync(cert.certPath) });
    expect(r.status).toBe(200);
    expect(r.json().name).toBe("api");
    await expect(call(`http://127.0.0.1:${server!.port}`, "GET", "/routes/api")).rejects.toThrow();
  });

  it("fails to start when the certificate files cannot be read", async () => {
    await expect(startAdminServer({ store, host: "127.0.0.1", port: 0, log, tls: { certPath: join(dir, "none.pem"), keyPath: join(dir, "none.key") } })).rejects.toThrow(/ENOENT/);
  });
});
