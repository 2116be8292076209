// Benchmarks run their scenarios in a new random order each round, so drift on the machine
// shows as spread between rounds instead of favouring whichever scenario ran in a quiet moment.

/** A shuffled copy of `xs` (Fisher–Yates). */
export function shuffle<T>(xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
