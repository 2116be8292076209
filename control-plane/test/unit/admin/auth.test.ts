// The bearer token check compares fixed-length SHA-256 digests with timingSafeEqual (what
// docs/admin-api.md#security calls "constant time"): whatever the presented token's length or
// shape, exactly one timingSafeEqual over two 32-byte digests, never the tokens themselves. The
// timing itself is not measured here.
import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { bearerTokenChecker } from "../../../src/admin/auth.js";

const compared = vi.hoisted(() => [] as [Buffer, Buffer][]);
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.push([Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest();

describe("bearerTokenChecker compares digests in constant time", () => {
  const TOKEN = "correct-horse-battery-staple";
  const check = bearerTokenChecker(TOKEN);
  beforeEach(() => void compared.splice(0));

  it.each([
    ["the token", `Bearer ${TOKEN}`, TOKEN, true],
    ["a one-character token", "Bearer x", "x", false],
    ["a token one character short", `Bearer ${TOKEN.slice(0, -1)}`, TOKEN.slice(0, -1), false],
    ["a 10,000-character token", `Bearer ${"y".repeat(10_000)}`, "y".repeat(10_000), false],
    ["no header", undefined, "", false],
    ["a Basic header", `Basic ${TOKEN}`, "", false],
  ] as const)("%s: one timingSafeEqual of two 32-byte SHA-256 digests", (_, header, presented, accepted) => {
    expect(check(header)).toBe(accepted);
    expect(compared).toHaveLength(1);
    const [a, b] = compared[0]!;
    expect([a.length, b.length]).toEqual([32, 32]);
    expect([a, b]).toContainEqual(sha256(TOKEN));
    expect([a, b]).toContainEqual(sha256(presented));
  });
});
