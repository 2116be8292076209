// Fuzzing every admin API endpoint, over a real HTTP server and the real ConfigStore on a temp
// gateway file (the real loader with stand-in filter modules, the real ConfigSource and Gateway):
// the endpoints are read from the OpenAPI document (so a new endpoint is fuzzed without a change
// here), then called with random methods, paths and names, wrong content types, valid bodies
// mutated at random (wrong types, keys dropped or renamed, unicode), random JSON, bad JSON,
// invalid UTF-8, bodies over the size limit and nesting far past the depth limit.
// Every answer must be 2xx, 3xx or 4xx, and a 4xx must be the API's JSON error; no answer may be
// a 5xx or take longer than the bound below. After a refused or dry-run write the file must be
// byte for byte what it was, and after every case it must still load: the last good config stays.
//
// Bounds (docs/fuzzing.md): 1000 cases, each at most 5 s; about 5–10 s on a 2-core machine.
// FUZZ_RUNS / FUZZ_SEED change the size / replay a run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildOpenApiDocument } from "../../../src/admin/openapi.js";
import { startAdminServer, type AdminServer } from "../../../src/admin/server.js";
import { MAX_MESSAGE } from "../../../src/config/errors.js";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { ConfigSource, gatewayTarget } from "../../../src/gateway/config-source.js";
import { Gateway } from "../../../src/gateway/gateway.js";
import { silentLog } from "../../../src/log.js";
import { ConfigStore } from "../../../src/store/config-store.js";
import { REDACTED } from "../../../src/store/types.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { fakeFiltersDir } from "../../support/golden.js";
import { bulkyTextArb, fuzz, pathsIn, valueArb, withValueAt } from "./run.js";

const INITIAL = {
  listeners: [{ name: "public", port: 8080 }],
  routes: [
    { name: "api", match: { path: { prefix: "/api" } }, upstream: "a", plugins: ["auth"], retries: { attempts: 2 } },
    { name: "web", hosts: ["*.example.com"], upstreams: [{ name: "a", weight: 3 }, { name: "b" }], timeout: "5s" },
  ],
  upstreams: [
    { name: "a", endpoints: ["127.0.0.1:9001"], health_check: { path: "/healthz" } },
    { name: "b", endpoints: ["127.0.0.1:9002", { host: "10.0.0.1", port: 80, weight: 2 }], circuit_breakers: { max_requests: 10 } },
  ],
  plugins: [
    {
      name: "auth",
      filter: "jwt-auth",
      config: {
        providers: [
          {
            name: "idp",
            issuer: "https://idp",
            jwks: { keys: [{ kty: "oct", kid: "h", alg: "HS256", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg" }] },
          },
        ],
        rules: [{ match: {}, requires: ["idp"] }],
      },
    },
    { name: "stamp", filter: "header-rewrite", global: true, config: { rules: [{ name: "s", response: { set: { "x-s": "1" } } }] } },
  ],
};
type Kind = keyof typeof INITIAL;

/** Smaller than the default 1 MiB so that "over the limit" bodies stay cheap to make. */
const MAX_BODY = 64 * 1024;

// ---- the endpoints, from the OpenAPI document -----------------------------------------------

const OPENAPI = buildOpenApiDocument({ bearer: false }) as { paths: Record<string, Record<string, unknown>> };
const ENDPOINTS = Object.entries(OPENAPI.paths).flatMap(([template, ops]) =>
  Object.keys(ops)
    .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
    .map((m) => ({ method: m.toUpperCase(), template })),
);
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"];
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "application/merge-patch+json",
  "application/yaml",
  "text/yaml",
  "text/html",
  "multipart/form-data; boundary=x",
  "application/JSON",
  ";;;",
];

// ---- the cases ------------------------------------------------------------------------------

/** A list item of the seed config (or the whole config) with a few random mutations; of `kind` when given. */
const mutatedArb = (kind?: Kind | "config") =>
  fc
    .tuple(
      kind ? fc.constant(kind) : fc.constantFrom<Kind | "config">("listeners", "routes", "upstreams", "plugins", "config"),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.oneof(valueArb(), fc.constant(undefined), fc.constant(REDACTED))), { maxLength: 3 }),
    )
    .map(([kind, i, ops]) => {
      let value: unknown = kind === "config" ? INITIAL : INITIAL[kind][i % INITIAL[kind].length];
      for (const [at, v] of ops) {
        const paths = pathsIn(value);
        value = withValueAt(value, paths[at % paths.length]!, v);
      }
      return value;
    });

/** A body for an endpoint: mostly a mutated item of the endpoint's own kind (the whole config for /config and /validate). */
const bodyArb = (template: string): fc.Arbitrary<{ how: string; body: string | Buffer | undefined }> => {
  const kind = /^\/(\w+)/.exec(template)?.[1];
  const own = kind === "config" || kind === "validate" ? "config" : kind && kind in INITIAL ? (kind as Kind) : undefined;
  return fc.oneof(
    { weight: 6, arbitrary: mutatedArb(own).map((v) => ({ how: "mutated JSON", body: JSON.stringify(v ?? null) })) },
    { weight: 2, arbitrary: mutatedArb().map((v) => ({ how: "mutated JSON of another kind", body: JSON.stringify(v ?? null) })) },
    { weight: 2, arbitrary: mutatedArb(own).map((v) => ({ how: "mutated YAML", body: stringify(v ?? null) })) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map((body) => ({ how: "random JSON", body })) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }).map((body) => ({ how: "random text", body })) },
    { weight: 1, arbitrary: bulkyTextArb().map((body) => ({ how: `bulky (${body.length} bytes)`, body })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ how: "random bytes", body: Buffer.from(b) })) },
    { weight: 1, arbitrary: fc.constant({ how: "no body", body: undefined }) },
  );
};

/** A {name} for a path: an existing one, a new valid one, or anything at all, percent-encoded or raw-ish. */
const nameArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("api", "web", "a", "b", "auth", "stamp", "public", "new-one", "x") },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom("%zz", "..", ".", "%2F", "a%00b", "%E9", "x".repeat(5000)) },
);

/** null 7 times in 8. */
function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

const requestArb = fc
  .oneof(
    { weight: 9, arbitrary: fc.constantFrom(...ENDPOINTS) },
    { weight: 1, arbitrary: fc.record({ method: fc.constantFrom(...METHODS), template: fc.webPath() }) },
  )
  .chain((endpoint) =>
    fc.record({
      endpoint: fc.constant(endpoint),
      // Mostly the endpoint's own method, content type and no If-Match, so that writes get through
      // often enough to change the config between cases.
      otherMethod: rarely(fc.constantFrom(...METHODS)),
      name: nameArb,
      suffix: fc.constantFrom("", "", "", "/", "?dry_run=true", "?dry_run=maybe", "?dry_run=0", "?x=%zz", "//", "/extra"),
      contentType: fc.oneof(
        { weight: 2, arbitrary: fc.constant(null) },
        { weight: 6, arbitrary: fc.constantFrom("application/json", "application/merge-patch+json", "application/yaml") },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      ifMatch: rarely(fc.constantFrom("*", '"nope"', 'W/"x", *', "")),
      body: bodyArb(endpoint.template),
    }),
  );

interface Reply {
  status: number;
  contentType: string | undefined;
  text: string;
}

function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, contentType: res.headers["content-type"], text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body !== undefined) req.setHeader("content-length", Buffer.byteLength(body));
    req.end(body);
  });
}

// ---- a real store on a temp file ------------------------------------------------------------

let dir: string;
let filtersDir: string;
let path: string;
let server: AdminServer;
const SEED_TEXT = `# fuzzed\n${stringify(INITIAL)}`;
const load = (text: string) => loadGatewayConfig(text, { source: "gateway.yaml", baseDir: dir, filtersDir });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "portico-fuzz-admin-"));
  filtersDir = fakeFiltersDir();
  path = join(dir, "gateway.yaml");
  writeFileSync(path, SEED_TEXT);
  const gateway = new Gateway({ cache: new SnapshotCache(), log: silentLog });
  const source = new ConfigSource({ path, load, ...gatewayTarget(gateway), log: silentLog });
  const first = await source.reload();
  expect(first.ok, first.error).toBe(true);
  const errors: unknown[] = [];
  server = await startAdminServer({
    store: new ConfigStore({ source, log: silentLog }),
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: MAX_BODY,
    log: (level, msg, fields) => {
      if (level === "error") errors.push([msg, fields]);
    },
  });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});

describe("fuzz: the admin API", () => {
  it(`lists endpoints from the OpenAPI document (${ENDPOINTS.length} of them)`, () => {
    expect(ENDPOINTS).toContainEqual({ method: "PUT", template: "/routes/{name}" });
    expect(ENDPOINTS).toContainEqual({ method: "POST", template: "/validate" });
  });

  it("answers every random request with 2xx, 3xx or a 4xx JSON error, and keeps the last good config", async () => {
    const statuses = new Map<number, number>();
    await fuzz(
      "admin API",
      { numRuns: 1000, caseTimeoutMs: 5000 },
      fc.asyncProperty(requestArb, async (r) => {
        const method = r.otherMethod ?? r.endpoint.method;
        const target = r.endpoint.template.replace(/\{\w+\}/g, r.name) + r.suffix;
        const headers: Record<string, string> = {};
        if (r.contentType !== null) headers["content-type"] = r.contentType;
        if (r.ifMatch !== null) headers["if-match"] = r.ifMatch;
        const how = `${method} ${target.slice(0, 200)} ${JSON.stringify(headers)} body: ${r.body.how} ${String(r.body.body).slice(0, 300)}`;
        const before = readFileSync(path, "utf8");
        let reply: Reply;
        try {
          reply = await send(server.url, method, target, headers, r.body.body);
        } catch (e) {
          throw new Error(`case: ${how}\nno answer: ${String(e)}`);
        }
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const after = readFileSync(path, "utf8");
        const problem = await judge(reply, method, before, after, target.includes("dry_run=true"));
        if (problem) throw new Error(`case: ${how}\n${problem}\nanswer: ${reply.status} ${reply.text.slice(0, 500)}`);
      }),
    );
    console.log(`  admin API statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    // Not degenerate: writes got through and were refused.
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
  }, 120_000);
});

describe("fuzz: the admin API over a hand-edited file", () => {
  /** What an operator's editor may leave in the file: the seed's text edited at random, or text that is barely YAML. */
  const handEditArb = fc.oneof(
    fc
      .tuple(
        fc.nat(),
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 8 }),
          fc.constantFrom("\n", "  ", "- ", ": ", "[", "{", "&a ", "*a", "<<: *a", "\t", "---\n"),
          bulkyTextArb(),
        ),
        fc.integer({ min: 0, max: 30 }),
      )
      .map(([at, insert, cut]) => {
        const i = at % (SEED_TEXT.length + 1);
        return SEED_TEXT.slice(0, i) + insert + SEED_TEXT.slice(i + cut);
      }),
    fc.string({ unit: "binary", maxLength: 100 }),
  );

  it("answers every request with 2xx, 3xx or a 4xx JSON error whatever the file holds, and PUT /config always replaces it", async () => {
    const statuses = new Map<number, number>();
    try {
      await fuzz(
        "admin API over a hand-edited file",
        { numRuns: 200, caseTimeoutMs: 5000 },
        fc.asyncProperty(handEditArb, requestArb, async (edit, r) => {
          writeFileSync(path, edit);
          const method = r.otherMethod ?? r.endpoint.method;
          const target = r.endpoint.template.replace(/\{\w+\}/g, r.name) + r.suffix;
          const headers: Record<string, string> = r.contentType === null ? {} : { "content-type": r.contentType };
          const reply = await send(server.url, method, target, headers, r.body.body);
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          const how = `file ${JSON.stringify(edit.slice(0, 200))}; ${method} ${target.slice(0, 100)} body: ${r.body.how}`;
          if (reply.status >= 500) throw new Error(`case: ${how}\na ${reply.status}: ${reply.text.slice(0, 300)}`);
          const fixed = await send(server.url, "PUT", "/config", { "content-type": "application/yaml" }, SEED_TEXT);
          if (fixed.status !== 200)
            throw new Error(`case: ${how}\nPUT /config did not replace the file: ${fixed.status} ${fixed.text.slice(0, 300)}`);
        }),
      );
    } finally {
      writeFileSync(path, SEED_TEXT);
    }
    console.log(
      `  admin API over a hand-edited file, statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
    );
  }, 120_000);
});

describe("fuzz: the admin API's bearer token check", () => {
  const TOKEN = "s3cret-token_value";
  let guarded: AdminServer;
  beforeAll(async () => {
    const gateway = new Gateway({ cache: new SnapshotCache(), log: silentLog });
    const source = new ConfigSource({ path, load, ...gatewayTarget(gateway), log: silentLog });
    await source.reload();
    guarded = await startAdminServer({
      store: new ConfigStore({ source, log: silentLog }),
      host: "127.0.0.1",
      port: 0,
      token: TOKEN,
      log: silentLog,
    });
  });
  afterAll(() => guarded?.close());

  it("lets a request through only with exactly the token, and answers every other Authorization with a JSON 401", async () => {
    // Near misses of the right header, and anything at all (node refuses to send control characters).
    const authorization = fc.oneof(
      fc.constantFrom(
        `Bearer ${TOKEN}`,
        `bearer ${TOKEN}`,
        `Bearer   ${TOKEN}  `,
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(1)}`,
        `Basic ${TOKEN}`,
        `Bearer`,
        `Bearer `,
        TOKEN,
        `Bearer ${TOKEN} ${TOKEN}`,
      ),
      fc.string({ maxLength: 200 }).filter((v) => /^[\x20-\x7e]*$/.test(v)),
      fc
        .string({ maxLength: 40 })
        .filter((v) => /^[\x21-\x7e]*$/.test(v))
        .map((v) => `Bearer ${v}`),
    );
    let allowed = 0;
    await fuzz(
      "admin API bearer token",
      { numRuns: 300, caseTimeoutMs: 5000 },
      fc.asyncProperty(fc.option(authorization, { nil: undefined }), async (auth) => {
        const r = await send(guarded.url, "GET", "/routes", auth === undefined ? {} : { authorization: auth }, undefined);
        const right = auth !== undefined && /^bearer +s3cret-token_value *$/i.test(auth);
        if (right) allowed++;
        const case_ = `Authorization: ${JSON.stringify(auth)}`;
        if (right && r.status !== 200) throw new Error(`${case_}: the right token refused with ${r.status}`);
        if (!right && r.status !== 401) throw new Error(`${case_}: let through with ${r.status}`);
        if (!right && (JSON.parse(r.text) as { error?: unknown }).error !== "unauthorized")
          throw new Error(`${case_}: a 401 without the error shape`);
      }),
    );
    expect(allowed).toBeGreaterThan(0);
  });
});

/** What is wrong with an answer, or undefined. */
async function judge(reply: Reply, method: string, before: string, after: string, dryRun: boolean): Promise<string | undefined> {
  if (reply.status >= 500) return `a ${reply.status}`;
  if (reply.status >= 400 && method !== "HEAD") {
    if (!reply.contentType?.startsWith("application/json")) return `a ${reply.status} that is not JSON`;
    let body: { error?: unknown; message?: unknown; errors?: unknown };
    try {
      body = JSON.parse(reply.text) as typeof body;
    } catch {
      return `a ${reply.status} whose body does not parse`;
    }
    if (typeof body.error !== "string" || typeof body.message !== "string" || !Array.isArray(body.errors))
      return `a ${reply.status} without the error shape`;
    // Messages never quote a body back whole (docs/admin-api.md): they are short whatever was sent.
    const messages = [body.message, ...(body.errors as { message?: unknown }[]).map((e) => e.message)];
    if (messages.some((m) => typeof m !== "string" || m.length > MAX_MESSAGE + 1))
      return `a ${reply.status} with a message that is not short`;
  }
  const refused = reply.status >= 300 || dryRun;
  if (refused && after !== before) return "the file changed on a refused (or dry-run) write";
  const loaded = await load(after);
  if (!loaded.ok) return `the file no longer loads: ${JSON.stringify(loaded.errors).slice(0, 500)}`;
  return undefined;
}
