// The HTTP handler that serves the modules in force at /modules/<sha256>.wasm, over a real
// node:http server. Its source is any sha256 -> bytes lookup (the control plane passes the applied
// config's module map).
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { moduleRequestHandler, moduleUrlPath } from "../../../src/plugins/module-http.js";

/** A module source as the control plane has it: the applied config's modules by sha256. */
class Modules extends Map<string, Uint8Array> {
  put(bytes: Uint8Array): { sha256: string } {
    const sha256 = sha(bytes);
    this.set(sha256, bytes);
    return { sha256 };
  }
}

const bytesOf = (text: string) => new TextEncoder().encode(text);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("module HTTP handler", () => {
  const store = new Modules();
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

  it("stops serving a module once the config in force no longer has it", async () => {
    const local = new Modules();
    const handler = moduleRequestHandler(local);
    const s = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    try {
      const url = (h: string) => `http://127.0.0.1:${(s.address() as AddressInfo).port}${moduleUrlPath(h)}`;
      const old = local.put(bytesOf("old")).sha256;
      expect((await fetch(url(old))).status).toBe(200);
      local.delete(old);
      expect((await fetch(url(old))).status).toBe(404);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
