// The windows envoyproxy/ratelimit counts in: fixed, aligned to the limit's unit on the service's
// wall clock (window = floor(now / unit)), which on this machine is the clock Date.now() reads. A
// test that counts up to a limit needs its requests to fall into one window.
import type { RateLimitUnit } from "./ratelimit-service.js";

const UNIT_MS: Record<RateLimitUnit, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** What is left of the service's current `unit` window, in ms. */
export function msLeftInWindow(unit: RateLimitUnit): number {
  const unitMs = UNIT_MS[unit];
  return unitMs - (Date.now() % unitMs);
}

/** Waits for the next `unit` window when fewer than `needMs` are left of this one (with hours, rare). */
export async function waitForFreshWindow(unit: RateLimitUnit, needMs = 30_000): Promise<void> {
  const left = msLeftInWindow(unit);
  // Time has to pass here: the window is the service's wall clock, there is nothing to poll.
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 1_000));
}
