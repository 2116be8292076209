// The echo upstream for tests: see echo-server.mjs for the wire contract.
import { startEchoServer, type EchoRecord } from "./echo-server.mjs";
import { headerAll, type HeaderPairs } from "./http.js";

export type { EchoRecord };

export interface EchoUpstream {
  port: number;
  url: string;
  /** Requests received so far, oldest first (empty when started with record: false). */
  requests: EchoRecord[];
  close(): Promise<void>;
}

export interface EchoUpstreamOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Keep every request in `requests` (default true). Turn off under load. */
  record?: boolean;
}

export async function startEchoUpstream(opts: EchoUpstreamOptions = {}): Promise<EchoUpstream> {
  const requests: EchoRecord[] = [];
  const record = opts.record ?? true;
  const srv = await startEchoServer({
    host: opts.host,
    port: opts.port,
    onRequest: record ? (r) => requests.push(r) : undefined,
  });
  return { port: srv.port, url: srv.url, requests, close: srv.close };
}

/** Parses an echo response body (what the upstream saw). */
export function parseEcho(body: string): EchoRecord {
  return JSON.parse(body) as EchoRecord;
}

/** Values of a header in an echo record (case-insensitive, in order). */
export function echoedHeader(rec: { headers: HeaderPairs }, name: string): string[] {
  return headerAll(rec.headers, name);
}

/** Builds the x-echo-set-response-headers request header. */
export function echoResponseHeaders(pairs: HeaderPairs): [string, string] {
  return ["x-echo-set-response-headers", JSON.stringify(pairs)];
}
