// How often the minimal runtime's collector runs: the interval grows with the heap, within bounds.
import { MAX_STREAMS_PER_COLLECTION, STREAMS_PER_COLLECTION, intervalForPages } from "../runtime/collector";

describe("intervalForPages", () => {
  it("keeps the shortest interval for a small heap (up to two 64 KiB pages)", () => {
    expect(intervalForPages(0)).toBe(STREAMS_PER_COLLECTION);
    expect(intervalForPages(1)).toBe(STREAMS_PER_COLLECTION);
    expect(intervalForPages(2)).toBe(STREAMS_PER_COLLECTION);
  });
  it("grows with the heap: 8 streams per page (key-auth with 1,000 consumers, 48 pages: 384)", () => {
    expect(intervalForPages(3)).toBe(24);
    expect(intervalForPages(48)).toBe(384);
  });
  it("never exceeds the bound on the heap's slack", () => {
    expect(intervalForPages(128)).toBe(MAX_STREAMS_PER_COLLECTION);
    expect(intervalForPages(65536)).toBe(MAX_STREAMS_PER_COLLECTION);
    expect(MAX_STREAMS_PER_COLLECTION).toBe(1024);
  });
});
