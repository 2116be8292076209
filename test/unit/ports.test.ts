// onFreshPort: a start that loses its port to another process is tried again on a fresh one.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, isPortTaken, onFreshPort } from "../support/ports.js";

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

const open: Server[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map(close));
});

describe("onFreshPort", () => {
  it("starts again on a fresh port when the picked one was taken before the bind", async () => {
    const thief = await listen(0); // another process got there first
    open.push(thief);
    const taken = (thief.address() as { port: number }).port;
    const tried: number[] = [];
    const picks = [async () => taken, freePort];
    const server = await onFreshPort(
      async (port) => {
        tried.push(port);
        const s = await listen(port);
        open.push(s);
        return s;
      },
      { pick: () => (picks.length > 1 ? picks.shift()! : picks[0]!)() },
    );
    expect(tried[0]).toBe(taken);
    expect(tried).toHaveLength(2);
    expect((server.address() as { port: number }).port).toBe(tried[1]);
  });

  it("gives up after the bounded number of attempts, with the last error", async () => {
    let n = 0;
    await expect(
      onFreshPort(
        async (port) => {
          n++;
          throw new Error(`cannot bind '127.0.0.1:${port}': Address already in use`);
        },
        { attempts: 3 },
      ),
    ).rejects.toThrow(/Address already in use/);
    expect(n).toBe(3);
  });

  it("does not retry failures that are not about the port", async () => {
    let n = 0;
    await expect(
      onFreshPort(async () => {
        n++;
        throw new Error("bad config");
      }),
    ).rejects.toThrow("bad config");
    expect(n).toBe(1);
  });

  it("recognises the bind failures of Node, Envoy and Prometheus", () => {
    expect(isPortTaken(Object.assign(new Error("listen EADDRINUSE: address already in use 127.0.0.1:1"), { code: "EADDRINUSE" }))).toBe(
      true,
    );
    expect(
      isPortTaken(
        new Error("Envoy n NACKed: Listener: Error adding/updating listener(s) public: cannot bind '127.0.0.1:1': Address already in use"),
      ),
    ).toBe(true);
    expect(isPortTaken(new Error('err="listen tcp 127.0.0.1:1: bind: address already in use"'))).toBe(true);
    expect(isPortTaken(new Error("timeout"))).toBe(false);
  });
});
