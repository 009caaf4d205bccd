/**
 * Whether one model beats another on held-out rows, or only seems to: the paired bootstrap. Both models score the
 * same rows; each resample draws rows with replacement (frauds and legitimate rows apart, so every resample has as
 * many frauds as the held-out slice) and takes the difference of the figure on those rows. The interval is the
 * middle `level` of those differences. With a few dozen held-out frauds a difference of one or two caught frauds
 * is noise, and an interval that contains 0 says so.
 */
import { z } from 'zod';
import { mulberry32 } from '../generator/synthetic';

export const DifferenceInterval = z.object({
  /** The figure of `challenger` minus that of `champion`, on every held-out row. */
  estimate: z.number(),
  low: z.number(),
  high: z.number(),
  level: z.number().gt(0).lt(1),
  resamples: z.number().int().min(1),
});
export type DifferenceInterval = z.infer<typeof DifferenceInterval>;

export type HeldOutFigure = (scores: readonly number[], labels: readonly boolean[]) => number;

export interface BootstrapOptions {
  resamples: number;
  level: number;
  seed: number;
}

export const defaultBootstrap: BootstrapOptions = { resamples: 1000, level: 0.95, seed: 1 };

/** The paired-bootstrap interval of `figure(challenger) - figure(champion)` over the same labelled rows. */
export function pairedDifference(
  labels: readonly boolean[],
  scores: { champion: readonly number[]; challenger: readonly number[] },
  figure: HeldOutFigure,
  opts: BootstrapOptions = defaultBootstrap,
): DifferenceInterval {
  const { champion, challenger } = scores;
  if (champion.length !== labels.length || challenger.length !== labels.length)
    throw new Error('both models must score every labelled row');
  const differenceOn = (rows: readonly number[]) => {
    const y = rows.map((i) => labels[i]!);
    return (
      figure(
        rows.map((i) => challenger[i]!),
        y,
      ) -
      figure(
        rows.map((i) => champion[i]!),
        y,
      )
    );
  };
  const draw = stratifiedResampler(labels, opts.seed);
  const differences = Array.from({ length: opts.resamples }, () => differenceOn(draw())).sort((a, b) => a - b);
  const tail = (1 - opts.level) / 2;
  return {
    estimate: differenceOn(labels.map((_, i) => i)),
    low: quantile(differences, tail),
    high: quantile(differences, 1 - tail),
    level: opts.level,
    resamples: opts.resamples,
  };
}

/** Row indices drawn with replacement, as many frauds and as many legitimate rows as `labels` has. */
function stratifiedResampler(labels: readonly boolean[], seed: number): () => number[] {
  const random = mulberry32(seed);
  const frauds = labels.flatMap((y, i) => (y ? [i] : []));
  const legit = labels.flatMap((y, i) => (y ? [] : [i]));
  const pick = (group: number[]) => group.map(() => group[Math.floor(random() * group.length)]!);
  return () => [...pick(frauds), ...pick(legit)];
}

/** The q-quantile of sorted values, interpolated between neighbours. */
function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below);
}

/** A gain or a loss only when the whole interval is on one side of 0. */
export function differenceVerdict(d: DifferenceInterval): 'a clear gain' | 'a clear loss' | 'within noise' {
  if (d.low > 0) return 'a clear gain';
  if (d.high < 0) return 'a clear loss';
  return 'within noise';
}

/** A difference as reported: its sign always shown, four decimals ("+0.0130", "-0.0129"). */
export const signedDifference = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
