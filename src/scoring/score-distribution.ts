/**
 * The distribution of fraud probabilities a policy was tuned on, kept in its provenance as bin edges (deciles of
 * the weighted out-of-fold probabilities) and the share of tuning transactions in each bin; and the population
 * stability index (PSI) of live probabilities against it: score drift. PSI above 0.2 is the conventional sign that
 * the population has shifted enough for the policy's thresholds and expected figures to no longer hold.
 */
import { z } from 'zod';

export const ScoreDistribution = z
  .object({
    /** Ascending inner edges: bin i holds probabilities in [edges[i-1], edges[i]), the last bin [edges.at(-1), 1]. */
    edges: z.array(z.number().min(0).max(1)).min(1),
    /** Share of the tuning transactions in each bin (edges.length + 1 of them, summing to 1). */
    shares: z.array(z.number().min(0).max(1)),
  })
  .refine((d) => d.shares.length === d.edges.length + 1, 'shares must have one more entry than edges')
  .refine((d) => d.edges.every((e, i) => i === 0 || e > (d.edges[i - 1] ?? -1)), 'edges must ascend strictly')
  .refine((d) => Math.abs(d.shares.reduce((s, v) => s + v, 0) - 1) < 1e-3, 'shares must sum to 1');
export type ScoreDistribution = z.infer<typeof ScoreDistribution>;

/** The PSI past which drift is reported: 0.1–0.2 is a moderate shift, above 0.2 a significant one. @default 0.2 */
export const conventionalPsiWarning = 0.2;

/** The bin of probability `p`: how many edges are at or below it. */
export function binOf(edges: readonly number[], p: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] ?? Infinity) <= p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * The tuning distribution of `probabilities` (optionally weighted: a kept legitimate row stands for those sampled
 * out with it): edges at the weighted quantiles 1/bins … (bins-1)/bins, equal edges merged, and each bin's share.
 * @param bins @default 10
 */
export function scoreDistributionOf(
  probabilities: readonly number[],
  weights?: readonly number[],
  bins = 10,
): ScoreDistribution | undefined {
  if (probabilities.length === 0) return undefined;
  const rows = probabilities.map((p, i) => ({ p, w: weights?.[i] ?? 1 })).sort((a, b) => a.p - b.p);
  const total = rows.reduce((s, r) => s + r.w, 0);
  const edges: number[] = [];
  let cumulative = 0;
  let next = 1;
  for (const row of rows) {
    cumulative += row.w;
    while (next < bins && cumulative >= (next * total) / bins) {
      const edge = round(row.p);
      if (edge > (edges.at(-1) ?? 0)) edges.push(edge);
      next++;
    }
  }
  if (edges.length === 0) edges.push(round(rows[0]?.p ?? 0.5) || 1e-6);
  const mass = new Array<number>(edges.length + 1).fill(0);
  for (const row of rows) mass[binOf(edges, row.p)]! += row.w;
  return { edges, shares: mass.map((m) => round(m / total)) };
}

/** Live probabilities counted into the reference's bins. */
export function binCounts(edges: readonly number[], probabilities: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const p of probabilities) counts[binOf(edges, p)]! += 1;
  return counts;
}

/**
 * PSI = Σ (actual − expected) · ln(actual / expected) over the bins, with empty bins floored at `floor` so one
 * empty bin does not make it infinite. Undefined without live counts.
 * @param floor @default 1e-4
 */
export function populationStabilityIndex(
  expectedShares: readonly number[],
  actualCounts: readonly number[],
  floor = 1e-4,
): number | undefined {
  const n = actualCounts.reduce((s, c) => s + c, 0);
  if (n === 0 || expectedShares.length !== actualCounts.length) return undefined;
  let psi = 0;
  expectedShares.forEach((share, i) => {
    const expected = Math.max(share, floor);
    const actual = Math.max((actualCounts[i] ?? 0) / n, floor);
    psi += (actual - expected) * Math.log(actual / expected);
  });
  return psi;
}

/**
 * The tuning distribution a policy file's provenance holds (`scoreDistribution`), or undefined for a policy tuned
 * before it was recorded, or one whose record does not parse: drift is then not measured, nothing else changes.
 */
export function tuningDistributionOf(provenance: Record<string, unknown>): ScoreDistribution | undefined {
  const parsed = ScoreDistribution.safeParse(provenance.scoreDistribution);
  return parsed.success ? parsed.data : undefined;
}
