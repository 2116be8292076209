// Error messages quote what the user wrote; what a user wrote can be a 300 KB string, or a list
// of 50,000 wrong values. Found by the loader fuzz (control-plane/test/unit/fuzz/loader.test.ts):
// a huge access-log path came back whole in its error message, and such a list made 50,000
// errors (5 MB of JSON from the admin API, one 5 MB log line).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundMessage, MAX_ERRORS, MAX_MESSAGE, MAX_QUOTED } from "../../../src/config/errors.js";
import { type GatewayDir, makeGatewayDir } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

describe("error messages are bounded", () => {
  it("a 300 KB value is quoted by its start and its length only", async () => {
    const huge = "x".repeat(300_000);
    const errors = await gw.errors(
      `listeners: [{ name: main, port: 8080, access_log: { path: "${huge}" } }]\nupstreams: [{ name: u, endpoints: ["${huge}:80"] }]\n`,
    );
    expect(errors.length).toBe(2);
    for (const e of errors) {
      expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE + 1);
      expect(e.message).toContain(`"${"x".repeat(MAX_QUOTED)}…" (`);
    }
    expect(errors[0]!.message).toBe(
      `the access log path is opened by Envoy and must be absolute (got "${"x".repeat(MAX_QUOTED)}…" (300000 characters))`,
    );
  });

  it("leaves short quotes alone, shortens long ones (escapes included), and cuts a message that is long anyway", () => {
    expect(boundMessage('unknown key "prot" (did you mean "port"?)')).toBe('unknown key "prot" (did you mean "port"?)');
    const long = `a\\"${"y".repeat(200)}`;
    expect(boundMessage(`bad "${long}" here`)).toBe(`bad "${long.slice(0, MAX_QUOTED)}…" (${long.length} characters) here`);
    const plain = "z ".repeat(400);
    expect(boundMessage(plain)).toBe(`${plain.slice(0, MAX_MESSAGE)}…`);
  });

  it("lists the first 100 errors of a list of 50,000 wrong values, then how many more there are", async () => {
    const text = `routes: [${Array.from({ length: 50_000 }, (_, i) => i).join(",")}]\n`;
    const errors = await gw.errors(text);
    expect(errors.length).toBe(MAX_ERRORS + 1);
    expect(errors[0]).toMatchObject({ path: "routes[0]", line: 1, column: 10, message: "expected a map, got 0" });
    expect(errors[MAX_ERRORS - 1]!.path).toBe(`routes[${MAX_ERRORS - 1}]`);
    expect(errors[MAX_ERRORS]).toMatchObject({
      path: "",
      line: 1,
      column: text.indexOf(`,${MAX_ERRORS},`) + 2,
      message: `${50_000 - MAX_ERRORS} more errors from here on (only the first ${MAX_ERRORS} are listed)`,
    });
  });
});

// Not a message bound, the same kind of bound: a module path that names a device would be read
// for ever (or into gigabytes of memory) by the loader.
describe("module files are bounded", () => {
  it("refuses a module path that is not a regular file, such as /dev/zero, without reading it", async () => {
    const started = performance.now();
    const errors = await gw.errors(`plugins: [{ name: p, module: /dev/zero }]\n`);
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual(["plugins[0].module: cannot read module /dev/zero: not a regular file"]);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
