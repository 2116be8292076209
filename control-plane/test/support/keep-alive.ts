// One keep-alive HTTP/1.1 connection to a listener, for tests that must tell an update applied in
// place (the same socket keeps serving) from one that made Envoy drain the listener (the socket
// closes, or a request needs a new one).
import http from "node:http";
import type { Socket } from "node:net";

export interface KeepAliveResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The request went over the socket of an earlier one. */
  reused: boolean;
}

export interface KeepAliveConnection {
  /** GET over the one socket; rejects when the request needed a new connection. */
  get(path: string, headers?: Record<string, string>): Promise<KeepAliveResponse>;
  /** Has the socket been closed (by Envoy draining, or by close())? */
  closed(): boolean;
  close(): void;
}

export function openKeepAlive(port: number, host = "127.0.0.1"): KeepAliveConnection {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let socket: Socket | undefined;
  let isClosed = false;
  return {
    get: (path, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = http.get({ host, port, path, agent, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, reused: req.reusedSocket }));
        });
        req.on("socket", (s) => {
          if (socket === s) return;
          if (socket) reject(new Error("the request went over a new connection"));
          socket = s;
          s.on("close", () => {
            isClosed = true;
          });
        });
        req.on("error", reject);
      }),
    closed: () => isClosed,
    close: () => agent.destroy(),
  };
}
