// The `rate_limit_service:` block: where global rate limits (rate-limit rules with
// `scope: global`) are counted. Absent: `portico run` starts and supervises envoyproxy/ratelimit
// itself (docs/rate-limit-service.md); with an address: the user runs the service, with the
// config `portico ratelimit-config` prints.
import { z } from "zod";
import type { RateLimitServiceModel } from "../model/types.js";
import { parseHostPort } from "./syntax.js";

/** The top-level key, as written in gateway.yaml. */
export const RATE_LIMIT_SERVICE_KEY = "rate_limit_service" as const;

export const rateLimitServiceSchema = z
  .strictObject({
    address: z
      .string()
      .transform((text, ctx) => {
        const parsed = parseHostPort(text);
        if (typeof parsed !== "string") return parsed;
        ctx.issues.push({ code: "custom", message: parsed.replace(/^invalid endpoint/, "invalid address"), input: text });
        return z.NEVER;
      })
      .meta({
        description:
          'host:port of an external envoyproxy/ratelimit gRPC endpoint (plaintext HTTP/2), e.g. "ratelimit.internal:8081". The gateway then starts none.',
      }),
  })
  .transform((s): RateLimitServiceModel => ({ address: s.address }))
  .meta({
    description:
      "Where rate-limit rules with scope: global are counted. Absent: `portico run` starts and supervises the rate limit service (and, without --redis, a development Redis) itself.",
  });
