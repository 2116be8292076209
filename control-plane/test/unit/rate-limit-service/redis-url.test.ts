import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "../../../src/rate-limit-service/redis-url.js";

describe("--redis", () => {
  it("takes redis:// and rediss:// URLs with an optional password or ACL user", () => {
    expect(parseRedisUrl("redis://10.0.0.5:6380")).toEqual({ address: "10.0.0.5:6380", tls: false });
    expect(parseRedisUrl("redis://cache.internal")).toEqual({ address: "cache.internal:6379", tls: false });
    expect(parseRedisUrl("rediss://:s%40cret@cache:6379")).toEqual({ address: "cache:6379", auth: "s@cret", tls: true });
    expect(parseRedisUrl("redis://app:pw@cache:6379")).toEqual({ address: "cache:6379", auth: "app:pw", tls: false });
  });

  it("refuses what the service could not use, naming the flag", () => {
    expect(parseRedisUrl("cache:6379")).toMatch(/^--redis: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(parseRedisUrl("not a url")).toMatch(/^--redis: expected redis:\/\/host:port/);
    expect(parseRedisUrl("redis://cache:6379/2")).toMatch(/^--redis: a database number or options are not supported/);
    expect(parseRedisUrl("http://cache:6379")).toMatch(/^--redis: expected a redis:\/\/ or rediss:\/\/ URL/);
  });
});
