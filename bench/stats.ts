/** Small statistics helpers shared by the drivers and the rows. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The p-th percentile (0–100) of an ascending list, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50, p99 and p99.9 of latencies in ms (the list is sorted in place). */
export function latencyPercentiles(latenciesMs: number[] | Float64Array): { p50ms: number; p99ms: number; p999ms: number } {
  latenciesMs.sort((a, b) => a - b);
  return { p50ms: percentile(latenciesMs, 50), p99ms: percentile(latenciesMs, 99), p999ms: percentile(latenciesMs, 99.9) };
}
