// /consumers over HTTP with the real admin server, store and loader: the same verbs, ETags, dry
// runs and refusals as every collection, with credentials write-only in every answer and no
// key or hash in any answer or log line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startAdminServer, type AdminServer } from "../../../src/admin/server.js";
import { loadGatewayConfig } from "../../../src/config/index.js";
import { keyDigest } from "../../../src/config/schema-consumers.js";
import { ConfigSource, gatewayTarget } from "../../../src/gateway/config-source.js";
import { Gateway } from "../../../src/gateway/gateway.js";
import type { LogFn } from "../../../src/log.js";
import { ConfigStore } from "../../../src/store/config-store.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { fakeFiltersDir } from "../../support/golden.js";

const KEY = "bob-api-key-0001";
const HASH = "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const INITIAL = `# the gateway
consumers:
  - { name: guest }
plugins:
  - { name: keys, filter: key-auth, config: { anonymous: guest } }
`;

let dir: string;
let filtersDir: string;
let path: string;
let server: AdminServer;
let logs: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "portico-consumers-api-"));
  filtersDir = fakeFiltersDir();
  path = join(dir, "gateway.yaml");
  writeFileSync(path, INITIAL);
  logs = [];
  const log: LogFn = (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields)}`);
  const source = new ConfigSource({
    path,
    load: (text) => loadGatewayConfig(text, { source: "gateway.yaml", baseDir: dir, filtersDir }),
    ...gatewayTarget(new Gateway({ cache: new SnapshotCache(), log })),
    log,
  });
  expect((await source.reload()).ok).toBe(true);
  server = await startAdminServer({ store: new ConfigStore({ source, log }), host: "127.0.0.1", port: 0, log });
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(filtersDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(new URL(path, server.url), {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, etag: r.headers.get("etag"), text, json: () => JSON.parse(text) };
}

describe("admin API /consumers", () => {
  it("PUT creates with a plain key, answered and stored without it; GET → PUT round-trips; If-Match guards", async () => {
    const created = await api("PUT", "/consumers/bob", {
      groups: ["free"],
      credentials: { keys: [{ id: "bob-1", key: KEY }], basic: [{ username: "bob", password_hash: HASH }] },
    });
    expect(created.status).toBe(201);
    expect(created.json()).toEqual({
      name: "bob",
      groups: ["free"],
      credentials: { keys: [{ id: "bob-1" }], basic: [{ username: "bob" }] },
    });
    const file = readFileSync(path, "utf8");
    expect(file).not.toContain(KEY);
    expect(file).toContain(keyDigest(KEY));

    const got = await api("GET", "/consumers/bob");
    expect(got.status).toBe(200);
    for (const secret of [KEY, keyDigest(KEY), HASH]) expect(got.text).not.toContain(secret);
    const same = await api("PUT", "/consumers/bob", got.json(), { "if-match": got.etag! });
    expect(same.status).toBe(200);
    expect(same.etag).toBe(got.etag);
    expect(readFileSync(path, "utf8")).toBe(file);

    const stale = await api("PATCH", "/consumers/bob", { groups: ["gold"] }, { "if-match": '"stale"' });
    expect(stale.status).toBe(412);
    const patched = await api("PATCH", "/consumers/bob", { groups: ["gold"] }, { "if-match": got.etag! });
    expect(patched.status).toBe(200);
    expect(patched.json().groups).toEqual(["gold"]);
    expect(readFileSync(path, "utf8")).toContain(keyDigest(KEY));
    for (const line of logs) for (const secret of [KEY, keyDigest(KEY), HASH]) expect(line).not.toContain(secret);
  });

  it("a dry run validates without writing; a refused hash is named by its format, not quoted", async () => {
    const dry = await api("POST", "/consumers?dry_run=true", { name: "carol", credentials: { keys: [{ id: "c", key: "carol-key-01" }] } });
    expect(dry.status).toBe(200);
    expect(dry.json()).toMatchObject({ dry_run: true, valid: true });
    expect(readFileSync(path, "utf8")).toBe(INITIAL);

    const apr1 = "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/";
    const bad = await api("POST", "/consumers", { name: "carol", credentials: { basic: [{ username: "carol", password_hash: apr1 }] } });
    expect(bad.status).toBe(400);
    expect(bad.json().errors).toMatchObject([
      {
        path: "consumers[1].credentials.basic[0].password_hash",
        message: "MD5 (apr1) hashes are not supported; use bcrypt (htpasswd -B)",
      },
    ]);
    expect(bad.text).not.toContain(apr1);
    for (const line of logs) expect(line).not.toContain(apr1);
  });

  it("DELETE is refused (409) while an auth filter's anonymous names the consumer", async () => {
    const r = await api("DELETE", "/consumers/guest");
    expect(r.status).toBe(409);
    expect(r.json().message).toBe('consumer "guest" is still used by plugins[0] (keys)');
    expect((await api("GET", "/consumers/guest")).status).toBe(200);
  });

  it("is in the OpenAPI document, with the write-only members marked", async () => {
    const doc = (await api("GET", "/openapi.json")).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/consumers", "/consumers/{name}"]));
    const basic = doc.components.schemas.Consumer.properties.credentials.properties.basic.items;
    expect(basic.properties.password_hash.writeOnly).toBe(true);
  });
});
