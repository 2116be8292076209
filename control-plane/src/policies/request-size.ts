// `filter: request-size` → Envoy's buffer filter (envoy.filters.http.buffer) with a
// BufferPerRoute. Native because the buffer filter holds the request until its whole body is in
// (the upstream sees nothing before), and answers 413 once the body is over the limit, whether
// it came with a Content-Length or chunked. The cost: Envoy buffers up to the limit per request,
// so memory is the limit × concurrent requests, which is why the limit is bounded.
import { z } from "zod";
import type { NativePolicy } from "./policy.js";
import { SIZE_PATTERN, formatSize, parseSize } from "./sizes.js";

export interface RequestSizeModel {
  maxBodyBytes: number;
}

/** The largest limit accepted: 64 MiB buffered per request already adds up fast. */
export const MAX_BODY_LIMIT = 64 * 1024 * 1024;

export const requestSizeConfigSchema = z
  .strictObject({
    max_body_bytes: z
      .union([z.number(), z.string().meta({ pattern: SIZE_PATTERN })])
      .meta({ description: 'Largest request body accepted: bytes, or a size such as "64KiB", "1MiB"; 1 byte to 64MiB.' })
      .transform((value, ctx) => {
        const size = parseSize(value);
        if (!size.ok) {
          ctx.issues.push({ code: "custom", message: size.message, input: value });
          return z.NEVER;
        }
        if (size.bytes < 1 || size.bytes > MAX_BODY_LIMIT) {
          ctx.issues.push({
            code: "custom",
            message: `must be 1 byte to ${formatSize(MAX_BODY_LIMIT)} (got ${formatSize(size.bytes)})`,
            input: value,
          });
          return z.NEVER;
        }
        return size.bytes;
      }),
  })
  .transform((c): RequestSizeModel => ({ maxBodyBytes: c.max_body_bytes }))
  .meta({ description: "A request body limit: larger bodies get 413 before the upstream sees them." });

const BUFFER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer";
const BUFFER_PER_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute";

export const requestSizePolicy: NativePolicy<RequestSizeModel> = {
  envoyFilter: "envoy.filters.http.buffer",
  description: "A request body limit (413), enforced before the upstream sees the body.",
  schema: requestSizeConfigSchema,
  // Envoy requires a limit here; every route that enables the slot replaces it with its own.
  slotConfig: { "@type": BUFFER_TYPE, max_request_bytes: MAX_BODY_LIMIT },
  perRoute: (c) => ({ "@type": BUFFER_PER_ROUTE_TYPE, buffer: { max_request_bytes: c.maxBodyBytes } }),
};
