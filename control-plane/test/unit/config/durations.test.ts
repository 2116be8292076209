// Durations as users write them → whole milliseconds.
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../src/config/index.js";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["15s", 15_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h2m3s4ms", 3_723_004],
    ["1.5s", 1500],
    ["0.1s", 100],
    ["0s", 0],
    [" 5s ", 5000],
    [15, 15_000],
    [0.25, 250],
    [0, 0],
  ] as const)("%j is %d ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(["5", "5 s", "5sec", "s", "", "-1s", "1d", "1.5.2s", "5S"])("refuses %j, saying how to write one", (text) => {
    const result = parseDuration(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/^invalid duration .*"250ms"/);
  });

  it("refuses negative numbers and fractions of a millisecond", () => {
    expect(parseDuration(-1)).toEqual({ ok: false, message: "a duration must not be negative (got -1)" });
    expect(parseDuration("0.5ms")).toEqual({ ok: false, message: "a duration must be a whole number of milliseconds (got 0.5ms)" });
    expect(parseDuration(0.0001)).toEqual({ ok: false, message: "a duration must be a whole number of milliseconds (got 0.0001)" });
  });

  // Found by the loader fuzz: `timeout: 9007199254740992` loaded, then failed to encode for Envoy
  // (an unlocated refusal of the whole apply instead of an error at the field).
  it("refuses what protobuf's Duration cannot carry (more than 10,000 years), and takes its limit", () => {
    expect(parseDuration(9007199254740992)).toEqual({
      ok: false,
      message: "a duration must be at most 315576000000s, about 10,000 years (got 9007199254740992)",
    });
    expect(parseDuration("315576000001s").ok).toBe(false);
    expect(parseDuration("315576000000s")).toEqual({ ok: true, ms: 315_576_000_000_000 });
  });
});
