// Polls `fn` until it stops throwing: config reaches Envoy asynchronously, so assertions about
// what Envoy serves are retried for a bounded time instead of slept on.
export async function eventually<T>(fn: () => Promise<T>, ms = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
