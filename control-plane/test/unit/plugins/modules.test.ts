// The module store (content-addressed, keeps the previous config generation) and the HTTP
// handler Envoys fetch modules from, over a real node:http server.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { moduleRequestHandler, moduleUrlPath } from "../../../src/plugins/module-http.js";
import { ModuleStore } from "../../../src/plugins/modules.js";

const bytesOf = (text: string) => new TextEncoder().encode(text);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("ModuleStore", () => {
  it("names a module by its sha256 and returns the same bytes", () => {
    const store = new ModuleStore();
    const a = bytesOf("\0asm module a");
    expect(store.put(a)).toEqual({ sha256: sha(a), size: a.length });
    expect(store.get(sha(a))).toEqual(a);
    expect(store.get(sha(bytesOf("other")))).toBeUndefined();
  });

  it("keeps what was put even if the caller reuses its buffer", () => {
    const store = new ModuleStore();
    const buf = bytesOf("original");
    const { sha256 } = store.put(buf);
    buf.fill(0);
    expect(new TextDecoder().decode(store.get(sha256))).toBe("original");
  });

  it("keeps the modules of the current and the previous generation, and drops older ones", () => {
    const store = new ModuleStore();
    const [a, b, c] = ["a", "b", "c"].map((s) => store.put(bytesOf(s)).sha256) as [string, string, string];
    store.retain([a]);
    expect(store.list()).toEqual([a]); // b and c were never referenced
    const b2 = store.put(bytesOf("b")).sha256;
    expect(b2).toBe(b);
    store.retain([b]); // an Envoy on the previous config may still be fetching a
    expect(store.has(a) && store.has(b)).toBe(true);
    store.put(bytesOf("c"));
    store.retain([c]);
    expect(store.list()).toEqual([b, c].sort());
    expect(store.get(a)).toBeUndefined();
  });

  it("does not start a new generation when the same set is retained again", () => {
    const store = new ModuleStore();
    const a = store.put(bytesOf("a")).sha256;
    store.retain([a]);
    const b = store.put(bytesOf("b")).sha256;
    store.retain([b]);
    store.retain([b]); // an unchanged config pushed again
    store.retain(new Set([b]));
    expect(store.has(a)).toBe(true);
  });
});

describe("module HTTP handler", () => {
  const store = new ModuleStore();
  const wasm = bytesOf("\0asm\x01\0\0\0 pretend module");
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const modules = moduleRequestHandler(store);
    server = createServer((req, res) => {
      if (modules(req, res)) return;
      res.writeHead(418).end("not the module handler");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("serves a stored module with its type, length, etag and immutable caching", async () => {
    const { sha256 } = store.put(wasm);
    expect(moduleUrlPath(sha256)).toBe(`/modules/${sha256}.wasm`);
    const res = await fetch(base + moduleUrlPath(sha256));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/wasm");
    expect(res.headers.get("content-length")).toBe(String(wasm.length));
    expect(res.headers.get("etag")).toBe(`"${sha256}"`);
    expect(res.headers.get("cache-control")).toContain("immutable");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(wasm);
    expect(sha(new Uint8Array(await (await fetch(`${base}${moduleUrlPath(sha256)}?x=1`)).arrayBuffer()))).toBe(sha256);
  });

  it("answers HEAD with the headers only", async () => {
    const { sha256 } = store.put(wasm);
    const res = await fetch(base + moduleUrlPath(sha256), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(wasm.length));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers a revalidation with 304", async () => {
    const { sha256 } = store.put(wasm);
    const res = await fetch(base + moduleUrlPath(sha256), { headers: { "if-none-match": `"${sha256}"` } });
    expect(res.status).toBe(304);
  });

  it("answers 404 for an unknown module and for a malformed module path", async () => {
    const unknown = await fetch(base + moduleUrlPath("0".repeat(64)));
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("no module with sha256 0000");
    expect((await fetch(`${base}/modules/not-a-hash.wasm`)).status).toBe(404);
    expect((await fetch(`${base}/modules/${"A".repeat(64)}.wasm`)).status).toBe(404);
  });

  it("answers 405 to other methods, naming the allowed ones", async () => {
    const { sha256 } = store.put(wasm);
    const res = await fetch(base + moduleUrlPath(sha256), { method: "PUT", body: "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("leaves other paths to the rest of the server", async () => {
    expect((await fetch(`${base}/status`)).status).toBe(418);
    expect((await fetch(`${base}/modulesx`)).status).toBe(418);
  });

  it("stops serving a module once the store dropped it", async () => {
    const local = new ModuleStore();
    const handler = moduleRequestHandler(local);
    const s = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    try {
      const url = (h: string) => `http://127.0.0.1:${(s.address() as AddressInfo).port}${moduleUrlPath(h)}`;
      const old = local.put(bytesOf("old")).sha256;
      local.retain([old]);
      for (const gen of ["g1", "g2"]) local.retain([local.put(bytesOf(gen)).sha256]);
      expect((await fetch(url(old))).status).toBe(404);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
