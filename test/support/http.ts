// Minimal HTTP/1.1 client for assertions on headers exactly as they travel:
// node:http exposes rawHeaders (order and duplicates kept), whereas fetch/undici
// merges duplicate headers into one comma-joined value.
import { request as httpRequest, type OutgoingHttpHeaders } from "node:http";

export type HeaderPairs = [string, string][];

export interface RequestOptions {
  method?: string;
  /** An object, or [name, value] pairs to send duplicates / control order. */
  headers?: Record<string, string | string[]> | HeaderPairs;
  body?: string | Buffer;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  /** Response headers as received: original order, duplicates kept, names as sent. */
  headers: HeaderPairs;
  body: string;
  /** First value of a header (case-insensitive), or undefined. */
  header(name: string): string | undefined;
  /** Every value of a header (case-insensitive), in order. */
  headerAll(name: string): string[];
  json<T = unknown>(): T;
  /** The client's local port on the connection, i.e. the port Envoy sees as the peer's. */
  localPort: number;
}

export function pairsFromRaw(raw: string[]): HeaderPairs {
  const out: HeaderPairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

export function headerAll(pairs: HeaderPairs, name: string): string[] {
  const n = name.toLowerCase();
  return pairs.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

export function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  // node:http accepts a flat [name, value, name, value] array (rawHeaders
  // format), which is the only way to send a header twice in a chosen order.
  const headers: OutgoingHttpHeaders | string[] = Array.isArray(opts.headers) ? opts.headers.flat() : { ...opts.headers };
  // With array headers node:http adds neither Host nor a framing header, and
  // servers (Node, Envoy) answer 400. Add them unless the caller set them.
  if (Array.isArray(headers)) {
    const has = (re: RegExp) => headers.some((h, i) => i % 2 === 0 && re.test(h));
    if (!has(/^host$/i)) headers.unshift("host", new URL(url).host);
    if (opts.body !== undefined && !has(/^(content-length|transfer-encoding)$/i)) {
      headers.push("content-length", String(Buffer.byteLength(opts.body)));
    }
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: opts.method ?? "GET",
      headers: headers as OutgoingHttpHeaders,
      agent: false, // a fresh connection per request: no stale keep-alive sockets between Envoys
      timeout: opts.timeoutMs ?? 10_000,
    });
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const localPort = res.socket?.localPort ?? 0;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const pairs = pairsFromRaw(res.rawHeaders);
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          headers: pairs,
          body,
          header: (name) => headerAll(pairs, name)[0],
          headerAll: (name) => headerAll(pairs, name),
          json: <T>() => JSON.parse(body) as T,
          localPort,
        });
      });
    });
    req.end(opts.body);
  });
}
