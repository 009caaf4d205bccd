/**
 * Whether the hosted tier tells fraud from legitimate traffic at all, measured on the labelled sample `tune` sends
 * it: its flag (or decline) rate on frauds minus that on legitimate transactions, with a 95% interval (Newcombe's
 * hybrid score interval for a difference of two proportions, from Wilson intervals). A tier whose interval
 * includes 0 has no measured lift, and the tuner never pays it to decide a band.
 */
import type { HostedRates } from './tuning';

export interface HostedLift {
  /** fraud rate − legitimate rate. */
  estimate: number;
  low: number;
  high: number;
  /** True when the whole interval lies above 0. */
  positive: boolean;
}

const z = 1.959964;

/** Wilson score interval of k successes in n trials. */
export function wilsonInterval(k: number, n: number): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = k / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The difference of two measured rates (k1/n1 − k2/n2) with its Newcombe interval. */
export function rateDifference(k1: number, n1: number, k2: number, n2: number): HostedLift {
  const p1 = n1 > 0 ? k1 / n1 : 0;
  const p2 = n2 > 0 ? k2 / n2 : 0;
  const a = wilsonInterval(k1, n1);
  const b = wilsonInterval(k2, n2);
  const estimate = p1 - p2;
  const low = estimate - Math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2);
  const high = estimate + Math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2);
  return { estimate, low, high, positive: n1 > 0 && n2 > 0 && low > 0 };
}

/** The lift of the hosted tier's flags (review or decline) and of its declines. */
export function hostedLift(rates: HostedRates): { flag: HostedLift; decline: HostedLift } {
  const { fraud, legit, sampled } = rates;
  const count = (rate: number, n: number) => Math.round(rate * n);
  return {
    flag: rateDifference(
      count(fraud.flag, sampled.fraud),
      sampled.fraud,
      count(legit.flag, sampled.legit),
      sampled.legit,
    ),
    decline: rateDifference(
      count(fraud.decline, sampled.fraud),
      sampled.fraud,
      count(legit.decline, sampled.legit),
      sampled.legit,
    ),
  };
}
