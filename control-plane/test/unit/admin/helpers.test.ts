// The small pure pieces of the admin API: which hosts count as loopback, the token check,
// Accept negotiation, and locating JSON syntax errors.
import { describe, expect, it } from "vitest";
import { bearerTokenChecker, isLoopbackHost } from "../../../src/admin/auth.js";
import { preferredType } from "../../../src/admin/http.js";
import { jsonErrorOffset } from "../../../src/admin/json-error.js";
import { itemSchema } from "../../../src/admin/schema.js";

describe("isLoopbackHost", () => {
  it.each(["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST"])(
    "%s is loopback",
    (h) => {
      expect(isLoopbackHost(h)).toBe(true);
    },
  );
  it.each(["0.0.0.0", "::", "", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "localhost.example.com", "example.com"])(
    "%s is not",
    (h) => {
      expect(isLoopbackHost(h)).toBe(false);
    },
  );
});

describe("bearerTokenChecker", () => {
  const check = bearerTokenChecker("t0ken");
  it("accepts exactly the token, with the scheme in any case", () => {
    expect(check("Bearer t0ken")).toBe(true);
    expect(check("bearer t0ken")).toBe(true);
    for (const bad of [undefined, "", "Bearer", "Bearer ", "Bearer t0ke", "Bearer t0ken2", "Basic t0ken", "t0ken", "Bearer t0ken extra"]) {
      expect(check(bad), String(bad)).toBe(false);
    }
  });
  it("never accepts an empty presented token, even against an empty configured one", () => {
    expect(bearerTokenChecker("")("Bearer ")).toBe(false);
  });
});

describe("preferredType", () => {
  const offers = ["application/yaml", "text/yaml", "application/json"];
  it.each([
    [undefined, "application/yaml"],
    ["*/*", "application/yaml"],
    ["application/json", "application/json"],
    ["application/json, application/yaml", "application/yaml"],
    ["application/yaml;q=0.5, application/json", "application/json"],
    ["application/*;q=0.9, application/json", "application/json"],
    ["text/*", "text/yaml"],
    ["text/html", "application/yaml"],
  ])("Accept %s → %s", (accept, expected) => {
    expect(preferredType(accept, offers)).toBe(expected);
  });
});

describe("jsonErrorOffset", () => {
  it.each([
    ['{"a": 1}', undefined],
    ['  [1, "x", true, null, {"b": -1.5e3}]  ', undefined],
    ['{"a": 1,}', 8],
    ["{", 1],
    ["", 0],
    ['{"a" 1}', 5],
    ["[1 2]", 3],
    ['{\n  "routes": [\n    oops\n  ]\n}', 20],
    ['"\\x"', 2],
    ["[1] 2", 4],
    ["nul", 3],
    ["[01]", 2],
  ])("%j → %s", (text, offset) => {
    expect(jsonErrorOffset(text)).toBe(offset);
    if (offset === undefined) expect(() => JSON.parse(text)).not.toThrow();
    else expect(() => JSON.parse(text)).toThrow();
  });
});

describe("itemSchema", () => {
  it("takes the array branch of a nullable list, and nothing for a list the schema lacks", () => {
    const schema = { properties: { routes: { anyOf: [{ type: "array", items: { type: "object", title: "r" } }, { type: "null" }] } } };
    expect(itemSchema("routes", schema)).toMatchObject({ type: "object", title: "r", $schema: expect.stringContaining("draft-07") });
    expect(itemSchema("upstreams", schema)).toBeUndefined();
    expect(itemSchema("listeners")).toMatchObject({ type: "object", properties: { port: expect.any(Object) } });
  });
});
