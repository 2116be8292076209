// Vitest glue for the global rate limit stack: a Redis and an envoyproxy/ratelimit service backed
// by it, started once for a test file and stopped after it (kept apart from ratelimit-service.ts
// so that module stays usable outside vitest, as lifecycle.ts is for envoy.ts).
import { afterAll, afterEach, beforeAll } from "vitest";
import { startRateLimitService, type RateLimitService, type StartRateLimitServiceOptions } from "./ratelimit-service.js";
import { startRedis, type Redis } from "./redis.js";

export interface RateLimitStack {
  /** Throw before the stack's beforeAll has run (read them in tests and later hooks only). */
  readonly redis: Redis;
  readonly service: RateLimitService;
}

/**
 * Registers the file's hooks: beforeAll starts Redis, then the service against it with `options`;
 * afterAll stops both. Hooks run in the order they are registered, so a beforeAll the file
 * registers after this call (starting Envoys pointed at `service.grpcPort`) sees both running.
 * When a test failed, the service's and Redis's output is printed (Envoy's log tail is printed by
 * useEnvoy; these only here).
 */
export function useRateLimitStack(options: Omit<StartRateLimitServiceOptions, "redis">): RateLimitStack {
  let redis: Redis | undefined;
  let service: RateLimitService | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    service = await startRateLimitService({ ...options, redis: redis.address });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") {
      console.error(
        `--- rate limit service output ---\n${service?.logs().slice(-4_000)}\n--- redis output ---\n${redis?.logs().slice(-2_000)}`,
      );
    }
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
  });
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`useRateLimitStack: ${what} is not started yet (read it in a test or a later hook)`);
    return value;
  };
  return {
    get redis() {
      return started("Redis", redis);
    },
    get service() {
      return started("the rate limit service", service);
    },
  };
}
