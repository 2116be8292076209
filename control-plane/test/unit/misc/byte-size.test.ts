// Sizes on the command line (--max-heap).
import { describe, expect, it } from "vitest";
import { parseByteSize } from "../../../src/cli/byte-size.js";

describe("parseByteSize", () => {
  it("reads bytes, binary units (Ki, MiB, GiB) and decimal ones (K, MB, 1.5G)", () => {
    expect(parseByteSize("536870912")).toBe(536870912);
    expect(parseByteSize("512Mi")).toBe(512 * 2 ** 20);
    expect(parseByteSize("512MiB")).toBe(512 * 2 ** 20);
    expect(parseByteSize("2gib")).toBe(2 * 2 ** 30);
    expect(parseByteSize("64KiB")).toBe(65536);
    expect(parseByteSize("800MB")).toBe(800_000_000);
    expect(parseByteSize("1.5G")).toBe(1_500_000_000);
    expect(parseByteSize("100B")).toBe(100);
  });

  it("refuses anything else", () => {
    for (const bad of ["", "abc", "-1", "1x", "1 GiBs", "1e9", "0x10", "1.5.2G"]) expect(parseByteSize(bad), bad).toBeNull();
    expect(parseByteSize("99999999999999T")).toBeNull(); // past 2^53 bytes
  });
});
