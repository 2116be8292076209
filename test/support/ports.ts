// Ports for things that must know their port before they start.
//
// Our own servers (control plane xDS/HTTP, upstreams) bind port 0 and report the port they got:
// no race. A port another process binds later (an Envoy listener pushed over LDS, Prometheus'
// web port) can only be picked in advance, and whatever picks it races with every other process
// on the machine until the bind. So such starts go through onFreshPort: pick a port, start, and
// if the start failed because the port was taken, stop what was started and start again on a
// fresh port, a bounded number of times. A retry on the real bind failure is robust where a
// "reserve, release, bind quickly" dance only narrows the window.
import { createServer } from "node:net";

/** A port that was free a moment ago. Racy by nature: use onFreshPort for the start that binds it. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not allocate a port"))));
    });
  });
}

/** Node's EADDRINUSE, Envoy's "cannot bind ...: Address already in use" NACK, Prometheus' "bind: address already in use". */
export function isPortTaken(err: unknown): boolean {
  const text = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}` : String(err);
  return /EADDRINUSE|address already in use|cannot bind/i.test(text);
}

export interface OnFreshPortOptions {
  /** Starts tried at most (default 5), each on a fresh port. */
  attempts?: number;
  host?: string;
  /** Whether a failed start is worth another port (default isPortTaken). */
  retryOn?: (err: unknown) => boolean;
  /** The port to use; default freePort(host). */
  pick?: (host: string) => Promise<number>;
}

/**
 * Runs `start(port)` on a free port; when it fails because the port was taken in the meantime,
 * runs it again on a fresh port (at most `attempts` times). `start` must clean up whatever it
 * started before it throws. Any other failure, or the last one, is thrown as is.
 */
export async function onFreshPort<T>(start: (port: number) => Promise<T>, o: OnFreshPortOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 5;
  const host = o.host ?? "127.0.0.1";
  const retryOn = o.retryOn ?? isPortTaken;
  const pick = o.pick ?? freePort;
  for (let i = 1; ; i++) {
    const port = await pick(host);
    try {
      return await start(port);
    } catch (err) {
      if (i >= attempts || !retryOn(err)) throw err;
    }
  }
}
