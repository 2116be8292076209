// Polling for tests whose subject changes asynchronously (Envoy stats, config pushes, JWKS refresh).
/** Polls `fn` until it returns a value `accept` likes, or throws with the last value on timeout. */
export async function pollUntil<T>(
  fn: () => Promise<T>,
  accept: (v: T) => boolean,
  o: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  for (;;) {
    const v = await fn();
    if (accept(v)) return v;
    if (Date.now() > deadline) {
      throw new Error(`${o.what ?? "condition"} not reached within ${o.timeoutMs ?? 15_000} ms; last value: ${JSON.stringify(v)}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}
