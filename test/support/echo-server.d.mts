import type { Server } from "node:http";

export interface EchoRecord {
  method: string;
  path: string;
  /** Request headers as received: raw order, duplicates kept, original case. */
  headers: [string, string][];
  body: string;
}

export interface EchoServerOptions {
  onRequest?: (record: EchoRecord) => void;
}

export interface RunningEchoServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function createEchoServer(options?: EchoServerOptions): Server;
export function startEchoServer(options?: EchoServerOptions & { host?: string; port?: number }): Promise<RunningEchoServer>;
