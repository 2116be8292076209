// The fuzz harness itself (test/support/filter-fuzz.ts) must fail on what it claims to catch:
// a trap and a request left paused, shown with the emulator probe's /crash and /stop paths.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { FuzzTarget, type FuzzRequest } from "../support/filter-fuzz.js";
import { fixtureWasm } from "../support/wasm-fixtures.js";

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(readFileSync(fixtureWasm("emu-probe")));
}, 180_000);

const request = (path: string): FuzzRequest => ({
  headers: [
    [":method", "GET"],
    [":path", path],
    [":authority", "a"],
  ],
  body: undefined,
  trailers: undefined,
  response: [[":status", "200"]],
  responseBody: undefined,
  sourceAddress: undefined,
  routeName: undefined,
  advanceMs: 0,
});

describe("the filter fuzz harness", () => {
  it("passes a request the filter sends on, fails a trap and a paused request, and recovers after the trap", () => {
    const target = new FuzzTarget(module, "emu-probe", {});
    expect(target.run(request("/"))).toBe("upstream");
    expect(() => target.run(request("/crash"))).toThrow(/emu-probe trapped on a request/);
    expect(target.run(request("/")), "a fresh VM after the crash").toBe("upstream");
    expect(() => target.run(request("/stop"))).toThrow("emu-probe left the request paused");
  });
});
