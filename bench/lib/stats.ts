/** Median of a list (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Smallest and largest finite values, for a spread column. */
export function range(values: readonly number[]): [number, number] {
  const finite = values.filter((value) => Number.isFinite(value));
  return finite.length === 0 ? [Number.NaN, Number.NaN] : [Math.min(...finite), Math.max(...finite)];
}

/** Nanoseconds with a unit that reads well (`2.4 ns`, `1.05 µs`, `2.31 ms`). */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns < 1_000) return `${ns.toFixed(ns < 10 ? 2 : 1)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`;
  return `${(ns / 1_000_000).toFixed(2)} ms`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  if (Math.abs(bytes) < 10_000) return `${bytes.toFixed(0)} B`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} ×` : 'n/a';
}

/** Two-sided 97.5 % quantiles of Student's t for 1…30 degrees of freedom (beyond: the normal's 1.96). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** A ratio with its 95 % confidence interval. */
export interface RatioInterval {
  /** Geometric mean of the per-round ratios. */
  estimate: number;
  low: number;
  high: number;
  /** Rounds the interval is made of. */
  n: number;
}

/**
 * 95 % confidence interval of a ratio measured once per round: a t-interval on the logarithms of the per-round ratios
 * (ratios are multiplicative, so their logs are what is roughly symmetric), turned back into a ratio. Each round's
 * ratio is of two variants measured next to each other in time, so drift of the machine between rounds cancels; what
 * is left is the spread the interval shows.
 */
export function ratioInterval(ratios: readonly number[]): RatioInterval {
  const logs = ratios.filter((value) => Number.isFinite(value) && value > 0).map(Math.log);
  const n = logs.length;
  if (n < 2) {
    const only = n === 1 ? Math.exp(logs[0] ?? Number.NaN) : Number.NaN;
    return { estimate: only, low: Number.NaN, high: Number.NaN, n };
  }
  const mean = logs.reduce((sum, value) => sum + value, 0) / n;
  const variance = logs.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
  const half = (T975[n - 2] ?? 1.96) * Math.sqrt(variance / n);
  return { estimate: Math.exp(mean), low: Math.exp(mean - half), high: Math.exp(mean + half), n };
}

/** PASS when the whole interval meets the budget, FAIL when none of it does, INCONCLUSIVE when it straddles it. */
export function verdict(interval: RatioInterval, atLeast: number): 'PASS' | 'FAIL' | 'INCONCLUSIVE' {
  if (!Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return 'INCONCLUSIVE';
  if (interval.low >= atLeast) return 'PASS';
  if (interval.high < atLeast) return 'FAIL';
  return 'INCONCLUSIVE';
}

/** `0.97 × (0.94 – 1.00)`. */
export function formatInterval(interval: RatioInterval): string {
  if (!Number.isFinite(interval.estimate)) return 'n/a';
  if (!Number.isFinite(interval.low)) return ratio(interval.estimate);
  return `${interval.estimate.toFixed(2)} × (${interval.low.toFixed(2)} – ${interval.high.toFixed(2)})`;
}
