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
  /** Also serve a demo JWKS at /.well-known/jwks.json and fresh tokens at /demo-token (see DEMO_JWT). */
  demoJwt?: boolean;
}

export declare const DEMO_JWT: Readonly<{
  issuer: string;
  audience: string;
  subject: string;
  kid: string;
  lifetimeSeconds: number;
  jwksPath: string;
  tokenPath: string;
}>;

export interface DemoIssuer {
  jwks: { keys: Record<string, unknown>[] };
  mint(claims?: Record<string, unknown>): string;
}
export function createDemoIssuer(): DemoIssuer;

export interface RunningEchoServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function createEchoServer(options?: EchoServerOptions): Server;
export function startEchoServer(options?: EchoServerOptions & { host?: string; port?: number }): Promise<RunningEchoServer>;
