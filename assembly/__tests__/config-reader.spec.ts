// Located, bounded config errors (found by fuzzing the filters' config parsers,
// docs/fuzzing-filters.md): the configuration itself has a name, odd keys are quoted and cut,
// and a hostile config cannot make the error line unbounded.
import { ConfigErrors, childPath } from "../config/reader";

describe("childPath", () => {
  it("joins plain keys (header names included) with a dot", () => {
    expect(childPath("", "rules")).toBe("rules");
    expect(childPath("rules[0].request.set", "x-user")).toBe("rules[0].request.set.x-user");
    expect(childPath("rules[0].request.set", ":authority")).toBe("rules[0].request.set.:authority");
  });

  it("quotes keys a reader could misread: empty, spaces, dots, quotes, control characters", () => {
    expect(childPath("", " ")).toBe("configuration[\" \"]");
    expect(childPath("", "")).toBe("configuration[\"\"]");
    expect(childPath("providers[0]", "a.b")).toBe("providers[0][\"a.b\"]");
    expect(childPath("p", "say \"hi\"\n")).toBe("p[\"say \\\"hi\\\"\\n\"]");
  });

  it("cuts a long key to 64 characters", () => {
    expect(childPath("p", "k".repeat(100000))).toBe("p[\"" + "k".repeat(64) + "\"...]");
  });
});

describe("ConfigErrors", () => {
  it("names the configuration itself when the problem has no field", () => {
    const e = new ConfigErrors();
    e.add("", "must be an object, got an array");
    e.addDocument("is not valid JSON: unexpected end of input at byte 1");
    expect(e.format("f")).toBe("f: invalid configuration: configuration: must be an object, got an array; configuration is not valid JSON: unexpected end of input at byte 1");
  });

  it("keeps the first 20 errors, counts the rest, and cuts a long message", () => {
    const e = new ConfigErrors();
    for (let i = 0; i < 5000; i++) e.add("k" + i.toString(), "unknown field");
    e.add("x", "y");
    const line = e.format("f");
    expect(line.endsWith("k19: unknown field; and 4981 more")).toBe(true);
    expect(line.length).toBeLessThan(1000);
    expect(e.empty).toBe(false);
    const long = new ConfigErrors();
    long.add("p", "z".repeat(100000));
    expect(long.messages[0]).toBe("p: " + "z".repeat(509) + "...");
  });
});
