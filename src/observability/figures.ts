/**
 * Figures shared by the live progress line, the backtest reports and the benchmarks: one percentile definition and
 * one way to print a duration, so the numbers they show can be compared.
 */

/** Nearest-rank percentile `p` (0..100) of values sorted ascending; 0 when there are none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? 0;
}

/** Milliseconds below a second (`850ms`), seconds with two decimals above (`1.25s`). */
export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms)}ms`;
}
