// The admin API over a real HTTP server, against the real ConfigStore on a temp gateway file:
// the real loader (stand-in filter modules, no plugin checker), the real ConfigSource and a real
// Gateway with its snapshot cache, so ETags, If-Match / If-None-Match, validation, references,
// redaction and dry-run diffs (keyed by Envoy type) are the server's own: what an operator with
// curl would see for every endpoint.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startAdminServer, type AdminServer, type AdminServerOptions } from "../../../src/admin/server.js";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { MAX_MESSAGE } from "../../../src/config/errors.js";
import { MAX_NESTING_DEPTH } from "../../../src/config/nesting.js";
import { ConfigSource, gatewayTarget } from "../../../src/gateway/config-source.js";
import { Gateway } from "../../../src/gateway/gateway.js";
import { silentLog, type LogFn } from "../../../src/log.js";
import { ConfigStore } from "../../../src/store/config-store.js";
import { KINDS, REDACTED } from "../../../src/store/types.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { fakeFiltersDir } from "../../support/golden.js";
import { generateCertificate } from "../../support/tls.js";

// ---- a real store on a temp file ------------------------------------------------------------

/** A symmetric JWK's key material: a secret the store must never hand out. */
const SECRET = "c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyE";
const AUTH_CONFIG = {
  providers: [{ name: "idp", issuer: "https://idp", jwks: { keys: [{ kty: "oct", kid: "h", alg: "HS256", k: SECRET }] } }],
  rules: [{ match: {}, requires: ["idp"] }],
};
const INITIAL = {
  listeners: [{ name: "public", port: 8080 }],
  routes: [{ name: "api", match: { path: { prefix: "/api" } }, upstream: "a", plugins: ["auth"] }],
  upstreams: [
    { name: "a", endpoints: ["127.0.0.1:9001"] },
    { name: "b", endpoints: ["127.0.0.1:9002"] },
  ],
  plugins: [{ name: "auth", filter: "jwt-auth", config: AUTH_CONFIG }],
};
const INITIAL_TEXT = `# the gateway\n${stringify(INITIAL)}`;

let dir: string;
let filtersDir: string;
let path: string;
let gateway: Gateway;
let store: ConfigStore;
/** Pushes to the snapshot cache since the test began (a write that reached Envoys). */
let pushes: () => number;

/** The gateway file as it is on disk now. */
const onDisk = () => parse(readFileSync(path, "utf8")) as typeof INITIAL & Record<string, Record<string, unknown>[]>;
// ---- a small HTTP client --------------------------------------------------------------------

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => any;
}

function call(
  base: string,
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean; ca?: Buffer } = {},
): Promise<Reply> {
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

let server: AdminServer | undefined;
let requests: [string, string, number][];
let logs: [string, string, Record<string, unknown> | undefined][];
const log: LogFn = (level, msg, fields) => void logs.push([level, msg, fields]);

async function start(
  o: Partial<AdminServerOptions> = {},
): Promise<(method: string, path: string, opts?: Parameters<typeof call>[3]) => Promise<Reply>> {
  server = await startAdminServer({ store, host: "127.0.0.1", port: 0, log, onRequest: (m, r, s) => void requests.push([m, r, s]), ...o });
  const base = server.url;
  return (method, path, opts) => call(base, method, path, opts);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "portico-admin-"));
  filtersDir = fakeFiltersDir();
  path = join(dir, "gateway.yaml");
  writeFileSync(path, INITIAL_TEXT);
  gateway = new Gateway({ cache: new SnapshotCache(), log: silentLog });
  const source = new ConfigSource({
    path,
    load: (text) => loadGatewayConfig(text, { source: "gateway.yaml", baseDir: dir, filtersDir }),
    ...gatewayTarget(gateway),
    log: silentLog,
  });
  const first = await source.reload();
  expect(first.ok, first.error).toBe(true);
  const pushesAtStart = gateway.pushCount;
  pushes = () => gateway.pushCount - pushesAtStart;
  store = new ConfigStore({ source, log: silentLog });
  requests = [];
  logs = [];
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});

describe("admin API: resources", () => {
  it("lists a collection with its total, secrets redacted", async () => {
    const api = await start();
    const r = await api("GET", "/upstreams");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(r.json()).toEqual({
      items: [
        { name: "a", endpoints: ["127.0.0.1:9001"] },
        { name: "b", endpoints: ["127.0.0.1:9002"] },
      ],
      total: 2,
    });
    const plugins = await api("GET", "/plugins");
    expect(plugins.text).not.toContain(SECRET);
    expect(plugins.json().items[0].config.providers[0].jwks.keys[0].k).toBe(REDACTED);
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
    const unknown = await api("GET", "/services");
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toBe("not_found");
  });

  it("PUT creates (201, Location, ETag) then replaces (200); a trailing slash is the same path", async () => {
    const api = await start();
    const created = await api("PUT", "/routes/web", {
      headers: JSON_HEADERS,
      body: JSON.stringify({ match: { path: { prefix: "/" } }, upstream: "b" }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe("/routes/web");
    expect(created.headers.etag).toBeTruthy();
    expect(created.json()).toEqual({ name: "web", match: { path: { prefix: "/" } }, upstream: "b" });
    const replaced = await api("PUT", "/routes/web/", { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "a" }) });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.etag).not.toBe(created.headers.etag);
    expect(onDisk().routes.find((r) => r.name === "web")).toEqual({ name: "web", upstream: "a" });
    expect(requests).toContainEqual(["PUT", "/routes/{name}", 201]);
    expect(logs.some(([level, msg]) => level === "info" && msg === "admin API write")).toBe(true);
  });

  it("refuses a write over a stale ETag with 412 and accepts the current one", async () => {
    const api = await start();
    const { headers } = await api("GET", "/upstreams/b");
    await api("PUT", "/upstreams/b", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: ["127.0.0.1:9003"] }) }); // another operator
    const stale = await api("PUT", "/upstreams/b", {
      headers: { ...JSON_HEADERS, "if-match": headers.etag! },
      body: JSON.stringify({ endpoints: ["127.0.0.1:9004"] }),
    });
    expect(stale.status).toBe(412);
    expect(stale.json().error).toBe("precondition_failed");
    expect(onDisk().upstreams[1]!.endpoints).toEqual(["127.0.0.1:9003"]);
    const fresh = (await api("GET", "/upstreams/b")).headers.etag!;
    const ok = await api("PUT", "/upstreams/b", {
      headers: { ...JSON_HEADERS, "if-match": fresh },
      body: JSON.stringify({ endpoints: ["127.0.0.1:9004"] }),
    });
    expect(ok.status).toBe(200);
    const exists = await api("PUT", "/upstreams/b", {
      headers: { ...JSON_HEADERS, "if-none-match": "*" },
      body: JSON.stringify({ endpoints: ["127.0.0.1:9005"] }),
    });
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
    // Located in the file as it would have been written: the route's upstream, on its own line.
    expect(body.errors).toEqual([{ path: "routes[0].upstream", line: 7, column: 15, message: 'no upstream named "ech0" (known: a, b)' }]);
    expect(onDisk().routes[0]!.upstream).toBe("a");
    expect(pushes()).toBe(0);
    const mismatch = await api("PUT", "/routes/api", { headers: JSON_HEADERS, body: JSON.stringify({ name: "other", upstream: "a" }) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json().error).toBe("bad_request");
  });

  it("checks a native policy's config like the file does: 400 at the field inside config, then 201 when fixed", async () => {
    const api = await start();
    const bad = await api("PUT", "/plugins/cors", {
      headers: JSON_HEADERS,
      body: JSON.stringify({ filter: "cors", config: { origins: ["https://ok.example.com", "https://x.com/path"], credential: true } }),
    });
    expect(bad.status).toBe(400);
    const errors = (bad.json().errors as { path: string; message: string }[]).map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([
      'plugins[1].config.origins[1]: invalid origin "https://x.com/path": expected scheme://host[:port] with no path, e.g. "https://app.example.com", "https://*.example.com" or "*"',
      'plugins[1].config.credential: unknown key "credential" (did you mean "credentials"?)',
    ]);
    expect(pushes()).toBe(0);
    const ok = await api("PUT", "/plugins/cors", {
      headers: JSON_HEADERS,
      body: JSON.stringify({ filter: "cors", config: { origins: ["https://ok.example.com"], credentials: true } }),
    });
    expect(ok.status).toBe(201);
    expect(onDisk().plugins.map((p: { name: string }) => p.name)).toContain("cors");
  });

  it("PATCH merges (null removes a key) with merge-patch+json or json; 404 for a missing resource", async () => {
    const api = await start();
    const r = await api("PATCH", "/routes/api", {
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ timeout: "5s", plugins: null }),
    });
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
    expect(current.config.providers[0].jwks.keys[0].k).toBe(REDACTED);
    current.config.providers[0].issuer = "https://idp2";
    const r = await api("PUT", "/plugins/auth", { headers: JSON_HEADERS, body: JSON.stringify(current) });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(SECRET);
    const stored = onDisk().plugins[0]!.config as typeof AUTH_CONFIG;
    expect(stored.providers[0]!.issuer).toBe("https://idp2");
    expect(stored.providers[0]!.jwks.keys[0]!.k).toBe(SECRET);
  });

  it("DELETE refuses while something refers to the resource (409), then deletes (204)", async () => {
    const api = await start();
    const refused = await api("DELETE", "/upstreams/a");
    expect(refused.status).toBe(409);
    expect(refused.json().message).toContain("routes[0] (api)");
    const gone = await api("DELETE", "/upstreams/b");
    expect(gone.status).toBe(204);
    expect(gone.text).toBe("");
    expect((await api("GET", "/upstreams/b")).status).toBe(404);
    expect((await api("DELETE", "/upstreams/b")).status).toBe(404);
  });

  it("dry_run=true validates and shows the diff by Envoy resource type, changing nothing", async () => {
    const api = await start();
    const put = await api("PUT", "/upstreams/c?dry_run=true", {
      headers: JSON_HEADERS,
      body: JSON.stringify({ endpoints: ["127.0.0.1:1"] }),
    });
    expect(put.status).toBe(200);
    const added = { added: ["c"], removed: [], changed: [] };
    expect(put.json()).toEqual({ dry_run: true, valid: true, diff: { Cluster: added, ClusterLoadAssignment: added }, errors: [] });
    const bad = await api("PATCH", "/routes/api?dry_run=true", { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "zzz" }) });
    expect(bad.status).toBe(200);
    expect(bad.json()).toMatchObject({ dry_run: true, valid: false, errors: [{ path: "routes[0].upstream" }] });
    // A route is an entry of its listener's RouteConfiguration (named after the listener).
    const del = await api("DELETE", "/routes/api?dry_run=1");
    expect(del.json()).toEqual({
      dry_run: true,
      valid: true,
      diff: { RouteConfiguration: { added: [], removed: [], changed: ["public"] } },
      errors: [],
    });
    const whole = await api("PUT", "/config?dry_run=true", {
      headers: { "content-type": "application/yaml" },
      body: "upstreams: [{name: a, endpoints: ['127.0.0.1:1']}]\n",
    });
    expect(whole.json()).toMatchObject({
      dry_run: true,
      valid: true,
      diff: {
        Listener: { removed: ["public"] },
        RouteConfiguration: { removed: ["public"] },
        TypedExtensionConfig: { removed: ["portico.plugin.auth"] },
        Cluster: { removed: ["b"] },
        ClusterLoadAssignment: { removed: ["b"], changed: ["a"] },
      },
    });
    expect(pushes()).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(INITIAL_TEXT);
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
    const huge = await api("PUT", "/config", {
      headers: { "content-type": "application/yaml" },
      body: Buffer.alloc(3 * 1024 * 1024, 0x61),
      chunked: true,
    });
    expect(huge.status).toBe(413);
    expect(onDisk().upstreams[0]!.endpoints).toEqual(["127.0.0.1:9001"]);
    // The server is still fine afterwards.
    expect((await api("GET", "/upstreams/a")).status).toBe(200);
  });

  it("answers 500 without details when the store fails, and logs the cause", async () => {
    const api = await start();
    // The file cannot be read at all (here: a directory stands where it was).
    rmSync(path);
    mkdirSync(path);
    const r = await api("GET", "/routes");
    expect(r.status).toBe(500);
    expect(r.json().error).toBe("internal");
    expect(r.text).not.toContain("EISDIR");
    expect(logs.some(([level, , fields]) => level === "error" && String(fields?.error).includes("EISDIR"))).toBe(true);
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
    // As a client would send it back after a GET: the secret as the placeholder.
    const redacted = JSON.parse(JSON.stringify(INITIAL).replace(SECRET, REDACTED)) as typeof INITIAL;
    const text = stringify({ ...redacted, upstreams: [...INITIAL.upstreams, { name: "c", endpoints: ["127.0.0.1:9003"] }] });
    const first = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: text });
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({ unchanged: false });
    expect(pushes()).toBe(1);
    expect(onDisk().upstreams.map((u) => u.name)).toEqual(["a", "b", "c"]);
    expect(readFileSync(path, "utf8")).toContain(SECRET); // the placeholder kept the stored secret
    const again = await api("PUT", "/config", { headers: { "content-type": "text/yaml" }, body: text });
    expect(again.json()).toEqual({ unchanged: true });
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(pushes()).toBe(1);
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
    const invalid = await api("PUT", "/config", {
      headers: JSON_HEADERS,
      body: JSON.stringify({ routes: [{ name: "r", upstream: "none" }] }),
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json().errors[0].path).toBe("routes[0].upstream");
    expect((await api("PUT", "/config", { headers: { "content-type": "text/html" }, body: "<p>" })).status).toBe(415);
  });

  it("POST /validate reports every error and changes nothing", async () => {
    const api = await start();
    const good = await api("POST", "/validate", {
      headers: { "content-type": "application/yaml" },
      body: "upstreams: [{name: a, endpoints: ['127.0.0.1:1']}]\n",
    });
    expect(good.json()).toEqual({ valid: true, errors: [] });
    const bad = await api("POST", "/validate", {
      headers: { "content-type": "application/yaml" },
      body: "routes: [{name: r, upstream: x, tiemout: 1s}]\n",
    });
    expect(bad.status).toBe(200);
    expect(bad.json().valid).toBe(false);
    expect(
      bad
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(["routes[0].tiemout", "routes[0].upstream"]);
    const json = await api("POST", "/validate", { headers: JSON_HEADERS, body: "{" });
    expect(json.json()).toMatchObject({ valid: false, errors: [{ message: expect.any(String) }] });
    expect(pushes()).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(INITIAL_TEXT);
  });

  it("serves the gateway schema and each list's item schema", async () => {
    const api = await start();
    const all = (await api("GET", "/schema")).json();
    expect(Object.keys(all.properties)).toEqual(expect.arrayContaining([...KINDS]));
    const route = await api("GET", "/schema/routes");
    expect(route.status).toBe(200);
    expect(route.json()).toMatchObject({ type: "object", properties: { upstream: expect.any(Object), name: expect.any(Object) } });
    expect((await api("GET", "/schema/services")).status).toBe(404);
  });

  it("serves its OpenAPI document", async () => {
    const api = await start();
    const doc = (await api("GET", "/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/routes/{name}"].put).toBeDefined();
    expect(doc.components.securitySchemes).toBeUndefined();
  });
});

describe("admin API: every kind of secret is redacted", () => {
  // One plugin config holding each secret the docs name (admin-api.md#security), with a value
  // that appears nowhere else, next to public JWK members and non-secret settings.
  const VAULT_CONFIG = {
    rsa: {
      kty: "RSA",
      n: "public-rsa-modulus-n",
      e: "AQAB",
      d: "secret-rsa-d",
      p: "secret-rsa-p",
      q: "secret-rsa-q",
      dp: "secret-rsa-dp",
      dq: "secret-rsa-dq",
      qi: "secret-rsa-qi",
      oth: [{ r: "secret-oth-r", d: "secret-oth-d", t: "secret-oth-t" }],
    },
    ec: { kty: "EC", crv: "P-256", x: "public-ec-x", y: "public-ec-y", d: "secret-ec-d" },
    oct: { kty: "oct", k: "secret-oct-k" },
    client_secret: "secret-client-secret",
    password: "secret-password",
    refresh_token: "secret-refresh-token",
    api_key: "secret-api-key",
    private_key: "secret-private-key",
    credentials: "secret-credentials",
    forward_token: true,
    max_token_bytes: 4096,
  };
  type Vault = typeof VAULT_CONFIG;
  /** Where each secret sits in the config. */
  const SECRETS: [string, (c: Vault) => unknown][] = [
    ["rsa.d", (c) => c.rsa.d],
    ["rsa.p", (c) => c.rsa.p],
    ["rsa.q", (c) => c.rsa.q],
    ["rsa.dp", (c) => c.rsa.dp],
    ["rsa.dq", (c) => c.rsa.dq],
    ["rsa.qi", (c) => c.rsa.qi],
    ["rsa.oth", (c) => c.rsa.oth],
    ["ec.d", (c) => c.ec.d],
    ["oct.k", (c) => c.oct.k],
    ["client_secret", (c) => c.client_secret],
    ["password", (c) => c.password],
    ["refresh_token", (c) => c.refresh_token],
    ["api_key", (c) => c.api_key],
    ["private_key", (c) => c.private_key],
    ["credentials", (c) => c.credentials],
  ];
  const SECRET_VALUES = JSON.stringify(VAULT_CONFIG).match(/secret-[a-z-]+/g)!;
  /** What a client may see: the public members and settings, each secret as the placeholder. */
  const expectRedacted = (config: Vault, where: string) => {
    for (const [at, get] of SECRETS) expect(get(config), `${where}: ${at}`).toBe(REDACTED);
    expect(config.rsa, where).toMatchObject({ kty: "RSA", n: "public-rsa-modulus-n", e: "AQAB" });
    expect(config.ec, where).toMatchObject({ kty: "EC", crv: "P-256", x: "public-ec-x", y: "public-ec-y" });
    expect(config.oct.kty, where).toBe("oct");
    expect(config.forward_token, where).toBe(true);
    expect(config.max_token_bytes, where).toBe(4096);
  };
  const expectNoSecretIn = (text: string, where: string) => {
    for (const v of SECRET_VALUES) expect(text, `${where} quotes ${v}`).not.toContain(v);
  };
  /** The file's text with the vault plugin added (as a hand edit would). */
  const withVault = () =>
    `${INITIAL_TEXT}${stringify([{ name: "vault", filter: "header-rewrite", config: VAULT_CONFIG }])
      .replace(/^/gm, "  ")
      .trimEnd()}\n`;

  it("hides each documented secret kind in GET /{kind}/{name}, and in GET /config as JSON and as YAML", async () => {
    writeFileSync(path, withVault());
    const api = await start();
    const one = await api("GET", "/plugins/vault");
    expect(one.status).toBe(200);
    expectNoSecretIn(one.text, "GET /plugins/vault");
    expectRedacted(one.json().config, "GET /plugins/vault");
    const json = await api("GET", "/config", { headers: { accept: "application/json" } });
    expect(json.headers["content-type"]).toMatch(/^application\/json/);
    expectNoSecretIn(json.text, "GET /config (JSON)");
    expectRedacted(json.json().plugins.find((p: { name: string }) => p.name === "vault").config, "GET /config (JSON)");
    const yaml = await api("GET", "/config");
    expect(yaml.headers["content-type"]).toMatch(/^application\/yaml/);
    expectNoSecretIn(yaml.text, "GET /config (YAML)");
    const fromYaml = parse(yaml.text) as { plugins: { name: string; config: Vault }[] };
    expectRedacted(fromYaml.plugins.find((p) => p.name === "vault")!.config, "GET /config (YAML)");
  });

  it("keeps every stored secret, byte for byte, when the redacted GET body is written back", async () => {
    const original = withVault();
    writeFileSync(path, original);
    const api = await start();
    // The resource: read it, change a setting, write it back with the placeholders.
    const got = (await api("GET", "/plugins/vault")).json();
    got.config.max_token_bytes = 8192;
    const put = await api("PUT", "/plugins/vault", { headers: JSON_HEADERS, body: JSON.stringify(got) });
    expect(put.status).toBe(200);
    expectNoSecretIn(put.text, "PUT /plugins/vault");
    const afterPut = readFileSync(path, "utf8");
    expect(afterPut).toBe(original.replace("max_token_bytes: 4096", "max_token_bytes: 8192"));
    expect(onDisk().plugins.find((p) => p.name === "vault")!.config).toEqual({ ...VAULT_CONFIG, max_token_bytes: 8192 });
    // The whole config: GET as YAML, change a setting, PUT it back.
    const yaml = (await api("GET", "/config")).text;
    const whole = await api("PUT", "/config", {
      headers: { "content-type": "application/yaml" },
      body: yaml.replace("max_token_bytes: 8192", "max_token_bytes: 16384"),
    });
    expect(whole.status).toBe(200);
    expectNoSecretIn(whole.text, "PUT /config");
    const text = readFileSync(path, "utf8");
    for (const v of SECRET_VALUES) expect(text, v).toContain(v);
    expect(text).not.toContain(REDACTED);
    expect(onDisk().plugins.find((p) => p.name === "vault")!.config).toEqual({ ...VAULT_CONFIG, max_token_bytes: 16384 });
  });
});

describe("admin API: bodies nesting too deep", () => {
  /** `levels` JSON objects one inside the other. */
  const nest = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
  const TOO_DEEP = `the body nests deeper than ${MAX_NESTING_DEPTH} levels (maps and lists within one another)`;

  it("answers 400 too_deep, located, to a body nesting 5,000 objects on every resource write; the file and Envoys keep the last good config", async () => {
    const api = await start();
    const body = `{"upstream": "a", "match": ${nest(5000)}}`;
    // The body is level 1 and match's object level 2, so level 65 is the nest's 64th object.
    const at = { path: "", line: 1, column: body.indexOf('{"a":') + 1 + '{"a":'.length * (MAX_NESTING_DEPTH - 1) };
    for (const [method, path, type] of [
      ["PUT", "/routes/x", "application/json"],
      ["PUT", "/routes/api", "application/json"],
      ["PATCH", "/routes/api", "application/merge-patch+json"],
      ["POST", "/routes", "application/json"],
    ] as const) {
      const r = await api(method, path, {
        headers: { "content-type": type },
        body: method === "POST" ? `{"name": "x", ${body.slice(1)}` : body,
      });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.json(), `${method} ${path}`).toEqual({
        error: "too_deep",
        message: TOO_DEEP,
        errors: [{ ...at, column: method === "POST" ? at.column + '"name": "x", '.length : at.column, message: TOO_DEEP }],
      });
    }
    expect(readFileSync(path, "utf8")).toBe(INITIAL_TEXT);
    expect(pushes()).toBe(0);
    expect(logs.filter(([level]) => level === "error")).toEqual([]);
    // The API still works, and the last good config is what it serves.
    expect((await api("GET", "/routes/api")).json()).toMatchObject({ name: "api", upstream: "a" });
  });

  it("refuses a whole config nesting too deep, YAML or JSON, and POST /validate says it is not valid", async () => {
    const api = await start();
    const yaml = `routes:\n  - name: r\n    upstream: a\n    match: ${"[".repeat(5000)}${"]".repeat(5000)}\n`;
    const put = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: yaml });
    expect(put.status).toBe(400);
    // The document (1), routes (2), the route (3): the 62nd bracket (column 12 + 61) is level 65.
    expect(put.json()).toEqual({
      error: "too_deep",
      message: TOO_DEEP,
      errors: [{ path: "", line: 4, column: 12 + 61, message: TOO_DEEP }],
    });
    const json = await api("PUT", "/config", { headers: JSON_HEADERS, body: `{"routes": [${nest(5000)}]}` });
    expect(json.status).toBe(400);
    expect(json.json().error).toBe("too_deep");
    const validate = await api("POST", "/validate", { headers: { "content-type": "application/yaml" }, body: yaml });
    expect(validate.status).toBe(200);
    expect(validate.json()).toEqual({ valid: false, errors: [{ path: "", line: 4, column: 12 + 61, message: TOO_DEEP }] });
    expect(readFileSync(path, "utf8")).toBe(INITIAL_TEXT);
    expect(pushes()).toBe(0);
  });

  // Found by the admin API fuzz (control-plane/test/unit/fuzz/admin-api.test.ts): messages quoted
  // names from the URL and the body whole.
  it("keeps error messages short when they name a huge resource name from the URL or the body", async () => {
    const api = await start();
    const long = "x".repeat(5000);
    const mismatch = await api("PUT", `/routes/${long}`, { headers: JSON_HEADERS, body: JSON.stringify({ name: "y".repeat(500_000) }) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json().message.length).toBeLessThanOrEqual(MAX_MESSAGE + 1);
    expect(mismatch.json().message).toMatch(
      /^the body names "y{80}…" \(500000 characters\) but the URL names "x{80}…" \(5000 characters\)$/,
    );
    const missing = await api("GET", `/upstreams/${long}`);
    expect(missing.status).toBe(404);
    expect(missing.json().message).toBe(`no upstream named "${"x".repeat(80)}…" (5000 characters)`);
  });

  it("refuses a whole config whose aliases make a cycle with a located 400, not a 500", async () => {
    const api = await start();
    const yaml = `${INITIAL_TEXT}  - name: loop\n    filter: header-rewrite\n    config: &c { rules: [*c] }\n`;
    const r = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: yaml });
    expect(r.status).toBe(400);
    expect(r.json().errors).toEqual([
      { path: "", line: yaml.split("\n").length - 1, column: 26, message: "an alias refers to a map or list that contains it (a cycle)" },
    ]);
    expect(readFileSync(path, "utf8")).toBe(INITIAL_TEXT);
  });

  // Found while fuzzing: a hand edit the API cannot parse (a syntax error, or nesting 5,000 deep)
  // made GET /config and DELETE answer 500, and other reads answer from a partial reading.
  it.each([
    // [how, the lines added, the error, its line after the original text's last]
    ["nesting 5,000 deep", `x-deep: ${"[".repeat(5000)}${"]".repeat(5000)}\n`, "the document nests deeper than 64 levels", 0],
    ["with a syntax error", "x-broken: [\n", "Flow sequence in block collection must be sufficiently indented and end with a ]", 1],
  ])(
    "answers a file hand-edited %s with 409 (reads) or 400 (writes) and its located errors; PUT /config replaces it",
    async (_, tail, message, after) => {
      const api = await start();
      writeFileSync(path, `${INITIAL_TEXT}${tail}`);
      const line = INITIAL_TEXT.split("\n").length + after;
      const reads = await Promise.all([
        api("GET", "/routes"),
        api("GET", "/routes/api"),
        api("GET", "/config"),
        api("GET", "/config", { headers: { accept: "application/json" } }),
      ]);
      for (const r of reads) {
        expect(r.status).toBe(409);
        expect(r.json()).toMatchObject({
          error: "conflict",
          message: "the stored config does not parse; fix the file or replace it with PUT /config",
        });
        expect(r.json().errors[0]).toMatchObject({ line, message: expect.stringContaining(message) });
      }
      const writes = await Promise.all([
        api("PUT", "/routes/x", { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "a" }) }),
        api("PATCH", "/routes/api", { headers: JSON_HEADERS, body: JSON.stringify({ timeout: "1s" }) }),
        api("DELETE", "/routes/api"),
      ]);
      for (const r of writes) {
        expect(r.status).toBe(400);
        expect(r.json()).toMatchObject({ error: "invalid", message: "the stored config does not parse; replace it with PUT /config" });
        expect(r.json().errors[0]).toMatchObject({ line, message: expect.stringContaining(message) });
      }
      expect(logs.filter(([level]) => level === "error")).toEqual([]);
      const replaced = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: INITIAL_TEXT });
      expect(replaced.status).toBe(200);
      expect((await api("GET", "/routes/api")).status).toBe(200);
    },
  );

  // Found by the admin API fuzz over hand-edited files: an unresolved alias in the file made
  // PUT /config (its secret restore) throw, a file that is one scalar made item writes throw.
  it("answers a file whose alias is unresolved or that is a bare scalar with 4xx, and PUT /config still replaces it", async () => {
    const api = await start();
    writeFileSync(path, `*a${INITIAL_TEXT}`);
    expect((await api("GET", "/routes")).status).toBe(409);
    const replaced = await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: INITIAL_TEXT });
    expect([replaced.status, readFileSync(path, "utf8")]).toEqual([200, INITIAL_TEXT]);

    writeFileSync(path, "\u0000");
    for (const [method, target] of [
      ["PUT", "/routes/x"],
      ["DELETE", "/routes/api"],
    ] as const) {
      const r = await api(method, target, method === "PUT" ? { headers: JSON_HEADERS, body: JSON.stringify({ upstream: "a" }) } : {});
      expect(r.status, `${method} ${target}`).toBe(400);
      expect(r.json().message).toBe("the stored config is not a map of lists; replace it with PUT /config");
    }
    expect((await api("PUT", "/config", { headers: { "content-type": "application/yaml" }, body: INITIAL_TEXT })).status).toBe(200);
    expect(logs.filter(([level]) => level === "error")).toEqual([]);
  });

  it("takes a body exactly as deep as the limit past the depth check (the loader then judges the file it would make)", async () => {
    const api = await start();
    const r = await api("PUT", "/routes/x", { headers: JSON_HEADERS, body: `{"upstream": "a", "match": ${nest(MAX_NESTING_DEPTH - 1)}}` });
    expect(r.status).toBe(400);
    // In the file the route sits two levels down (the document, routes): too deep there, located in the file.
    expect(r.json()).toMatchObject({
      error: "invalid",
      errors: [{ path: "", message: expect.stringContaining("the document nests deeper") }],
    });
    expect(r.json().errors[0].line).toBeGreaterThan(1);
    const shallow = await api("PUT", "/routes/x", {
      headers: JSON_HEADERS,
      body: `{"upstream": "a", "match": {"path": {"prefix": "/x"}}}`,
    });
    expect(shallow.status).toBe(201);
  });
});

describe("admin API: the default body cap", () => {
  const MiB = 1024 * 1024;
  /** A YAML body of exactly `size` bytes: a valid config padded with a comment. */
  const yamlOfSize = (size: number) => {
    const config = "upstreams: [{name: a, endpoints: ['127.0.0.1:1']}]\n";
    return `#${"x".repeat(size - config.length - 2)}\n${config}`;
  };

  it("takes a 1 MiB body and answers 413 to one byte more, when no limit is configured", async () => {
    const api = await start(); // no maxBodyBytes: the server's default
    const YAML = { "content-type": "application/yaml" };
    const atLimit = yamlOfSize(MiB);
    expect(Buffer.byteLength(atLimit)).toBe(MiB);
    const ok = await api("POST", "/validate", { headers: YAML, body: atLimit });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ valid: true, errors: [] });
    const okChunked = await api("POST", "/validate", { headers: YAML, body: atLimit, chunked: true });
    expect(okChunked.status).toBe(200);
    const over = yamlOfSize(MiB + 1);
    const declared = await api("POST", "/validate", { headers: YAML, body: over });
    expect(declared.status).toBe(413);
    expect(declared.json().error).toBe("payload_too_large");
    const chunked = await api("POST", "/validate", { headers: YAML, body: over, chunked: true });
    expect(chunked.status).toBe(413);
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
    const api = await start({
      token: TOKEN,
      fallback: () => {
        fallbackCalls++;
        return false;
      },
    });
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
    expect(onDisk().routes).toHaveLength(1);
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
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "portico-admin-tls-"));
  });
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
    await expect(
      startAdminServer({
        store,
        host: "127.0.0.1",
        port: 0,
        log,
        tls: { certPath: join(dir, "none.pem"), keyPath: join(dir, "none.key") },
      }),
    ).rejects.toThrow(/ENOENT/);
  });
});

describe("admin API: the file is the store", () => {
  it("serialises concurrent writes: 50 PUTs at once all land, in the file and in the applied config", async () => {
    const api = await start();
    const names = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const replies = await Promise.all(
      names.map((n, i) =>
        api("PUT", `/upstreams/${n}`, { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: [`127.0.0.1:${10000 + i}`] }) }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(names.map(() => 201));
    const upstreams = onDisk().upstreams;
    for (const [i, n] of names.entries())
      expect(
        upstreams.find((u) => u.name === n),
        n,
      ).toEqual({ name: n, endpoints: [`127.0.0.1:${10000 + i}`] });
    expect(upstreams).toHaveLength(52);
    expect(gateway.model!.upstreams.map((u) => u.name).sort()).toEqual(["a", "b", ...names].sort());
  });

  it("picks up a hand edit made between API calls: the next write keeps it", async () => {
    const api = await start();
    expect(
      (await api("PUT", "/upstreams/c", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: ["127.0.0.1:9003"] }) })).status,
    ).toBe(201);
    const edited = `${readFileSync(path, "utf8").replace("127.0.0.1:9002", "127.0.0.1:9022")}# edited by hand\n`;
    writeFileSync(path, edited);
    expect((await api("GET", "/upstreams/b")).json().endpoints).toEqual(["127.0.0.1:9022"]);
    expect(
      (await api("PATCH", "/upstreams/a", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: ["127.0.0.1:9011"] }) })).status,
    ).toBe(200);
    const text = readFileSync(path, "utf8");
    expect(text).toContain("# edited by hand\n");
    expect(onDisk().upstreams.map((u) => [u.name, u.endpoints])).toEqual([
      ["a", ["127.0.0.1:9011"]],
      ["b", ["127.0.0.1:9022"]],
      ["c", ["127.0.0.1:9003"]],
    ]);
    expect(gateway.model!.upstreams.find((u) => u.name === "b")!.endpoints).toEqual([expect.objectContaining({ port: 9022 })]);
  });

  // Every byte outside the item a write concerns stays as it was: comments, blank lines, flow
  // collections as written (`[limit]`, not `[ limit ]`), quotes, anchors, line endings.
  const HAND_WRITTEN = `# The gateway, as an operator writes it.
listeners:
  - name: public
    address: 127.0.0.1
    port: 10000   # the public port

routes:
  - name: public
    match:
      path: { prefix: /public/ }
    upstream: web
    plugins: [limit]
  - name: api
    match: { path: { prefix: /api/ } }
    timeout: 10s
    retries: { attempts: 2, on: [connect-failure, reset] }
    upstreams:
      - { name: web, weight: 80 }
      - { name: 'web-v2', weight: 20 }
    plugins: [auth]
  - name: jwks
    # The identity provider's key set.
    match:
      path: { exact: /.well-known/jwks.json }
    upstream: web

upstreams:
  - name: web
    endpoints: ["127.0.0.1:8080"]
    connect_timeout: &timeout 1s
    health_check: {path: /__ready, interval: 5s, timeout: 1s}
  - name: web-v2
    endpoints: [ "127.0.0.1:8081" ]
    connect_timeout: *timeout

plugins:
  - name: auth
    filter: jwt-auth
    config:
      providers:
        - name: idp
          issuer: "https://idp.example.com"
          jwks: { keys: [{ kty: oct, kid: h, alg: HS256, k: ${SECRET} }] }
      rules:
        - { match: {}, requires: [idp] }
  - name: limit
    filter: rate-limit
    config:
      rules:
        - name: per_client
          match: { path: { prefix: / } }
          requests: 5
          period_s: 10
          key: [{ client_ip: true }]
`;

  /** The lines of `text` before the line starting with `first` and from the line starting with `next` on. */
  function outside(text: string, first: string, next: string | undefined): { head: string[]; tail: string[] } {
    const lines = text.split("\n");
    const from = lines.indexOf(first);
    const to = next === undefined ? lines.length : lines.indexOf(next, from + 1);
    expect(from, first).toBeGreaterThanOrEqual(0);
    expect(to, next).toBeGreaterThan(from);
    return { head: lines.slice(0, from), tail: lines.slice(to) };
  }

  /** Every line of `after` outside the item is the line of `before` at the same place. */
  function expectOnlyItemChanged(before: string, after: string, first: string, next: string | undefined): string[] {
    const { head, tail } = outside(before, first, next);
    const lines = after.split("\n");
    expect(lines.slice(0, head.length)).toEqual(head);
    expect(lines.slice(lines.length - tail.length)).toEqual(tail);
    return lines.slice(head.length, lines.length - tail.length);
  }

  it.each([
    ["LF", "\n"],
    ["CRLF", "\r\n"],
  ])("changes only the item's lines on PUT, PATCH and DELETE (%s)", async (_, eol) => {
    const api = await start();
    const cr = eol === "\r\n" ? "\r" : "";
    writeFileSync(path, HAND_WRITTEN.replace(/\n/g, eol));
    let before = readFileSync(path, "utf8");

    // PATCH an item in the middle of a list: from its first line to the next item's.
    const patched = await api("PATCH", "/routes/api", { headers: JSON_HEADERS, body: JSON.stringify({ timeout: "5s" }) });
    expect(patched.status).toBe(200);
    let after = readFileSync(path, "utf8");
    const item = expectOnlyItemChanged(before, after, `  - name: api${cr}`, `  - name: jwks${cr}`);
    expect(item[0]).toBe(`  - name: api${cr}`);
    expect(item).toContain(`    timeout: 5s${cr}`);
    expect(onDisk().routes[1]).toEqual({
      name: "api",
      match: { path: { prefix: "/api/" } },
      timeout: "5s",
      retries: { attempts: 2, on: ["connect-failure", "reset"] },
      upstreams: [
        { name: "web", weight: 80 },
        { name: "web-v2", weight: 20 },
      ],
      plugins: ["auth"],
    });

    // PUT a new item: appended after the list's last item, nothing else moves.
    before = after;
    const put = await api("PUT", "/upstreams/web-v3", { headers: JSON_HEADERS, body: JSON.stringify({ endpoints: ["127.0.0.1:8082"] }) });
    expect(put.status).toBe(201);
    after = readFileSync(path, "utf8");
    const last = `    connect_timeout: *timeout${cr}`;
    const appended = expectOnlyItemChanged(before.replace(`${last}\n`, `${last}\n<new>\n`), after, "<new>", `${cr}`);
    expect(appended).toEqual([`  - name: web-v3${cr}`, `    endpoints:${cr}`, `      - 127.0.0.1:8082${cr}`]);

    // PUT replacing the file's last item, then DELETE an item: the same.
    before = after;
    expect(
      (await api("PUT", "/plugins/limit", { headers: JSON_HEADERS, body: JSON.stringify({ filter: "rate-limit", config: { rules: [] } }) }))
        .status,
    ).toBe(200);
    after = readFileSync(path, "utf8");
    expect(expectOnlyItemChanged(before, after, `  - name: limit${cr}`, "")[0]).toBe(`  - name: limit${cr}`);
    before = after;
    expect((await api("DELETE", "/routes/jwks")).status).toBe(204);
    after = readFileSync(path, "utf8");
    expect(expectOnlyItemChanged(before, after, `  - name: jwks${cr}`, `${cr}`)).toEqual([]);
    expect(onDisk().routes.map((r) => r.name)).toEqual(["public", "api"]);
    expect(gateway.model!.routes.map((r) => r.name)).toEqual(["public", "api"]);
  });
});
