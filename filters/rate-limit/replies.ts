// What the filter sends: the 429 of a refused request, and the RateLimit-* headers on an admitted
// request's response.
import { HeaderEntry, HeaderMap, addHeader, sendLocalResponse } from "../../assembly/runtime";

/** Whole seconds, rounded up, at least 1: a client told 0 would retry at once. */
export function seconds(ms: i64): string {
  const s = (ms + 999) / 1000;
  return (s < 1 ? 1 : s).toString();
}

function json429(error: string, rule: string): string {
  return "{\"error\":\"" + error + "\",\"rule\":\"" + rule + "\"}";
}

/** The 429 of a rule over its limit, with its RateLimit-* headers. */
export function sendRateLimited(error: string, rule: string, retryAfter: string, limit: i64, reset: string): void {
  sendLocalResponse(429, error, json429(error, rule), [
    new HeaderEntry("content-type", "application/json"),
    new HeaderEntry("retry-after", retryAfter),
    new HeaderEntry("ratelimit-limit", limit.toString()),
    new HeaderEntry("ratelimit-remaining", "0"),
    new HeaderEntry("ratelimit-reset", reset),
  ]);
}

/** The 429 of a rule with on_failure: deny when the rate limit service's decision is missing. */
export function sendUnavailable(rule: string): void {
  sendLocalResponse(429, "rate_limit_unavailable", json429("rate_limit_unavailable", rule), [
    new HeaderEntry("content-type", "application/json"),
    new HeaderEntry("retry-after", "1"),
  ]);
}

/** The RateLimit-* headers of the most restrictive rule that allowed the request. */
export function addRateLimitHeaders(limit: i64, remaining: i64, resetMs: i64): void {
  addHeader(HeaderMap.ResponseHeaders, "ratelimit-limit", limit.toString());
  addHeader(HeaderMap.ResponseHeaders, "ratelimit-remaining", remaining.toString());
  addHeader(HeaderMap.ResponseHeaders, "ratelimit-reset", seconds(resetMs));
}
