/**
 * Negative sampling for tuning and training on a long history: every fraud is kept, and a seeded share of the
 * legitimate rows, drawn within contiguous time strata so every period keeps its share. Each kept legitimate row
 * is weighted by how many it stands for (its stratum's legitimate rows over those kept), so weighted fits and
 * figures estimate the full traffic's without bias. Only kept rows are embedded, which is where the time goes.
 */
import { mulberry32 } from '../generator/synthetic/random';

export interface LegitSampleOptions {
  /** Share of legitimate rows kept, in (0, 1]. */
  share: number;
  /** @default 1 */
  seed?: number;
  /** Contiguous time strata the legitimate rows are split into (fewer when fewer rows are kept). @default 100 */
  strata?: number;
}

export interface SampledRows<T> {
  /** The kept rows, in their original (time) order. */
  rows: T[];
  /** How many transactions each kept row stands for: 1 for a fraud, ≥ 1 for a legitimate row. */
  weights: number[];
}

/** Keeps every fraud and `share` of the legitimate rows per time stratum (rows given oldest first). */
export function sampleLegitimate<T extends { isFraud: boolean }>(
  rows: readonly T[],
  opts: LegitSampleOptions,
): SampledRows<T> {
  if (!(opts.share > 0 && opts.share <= 1))
    throw new RangeError(`legit sample share must be in (0, 1], got ${opts.share}`);
  const weightOf = new Map<number, number>();
  rows.forEach((r, i) => r.isFraud && weightOf.set(i, 1));
  const legit = rows.flatMap((r, i) => (r.isFraud ? [] : [i]));
  const random = mulberry32(opts.seed ?? 1);
  // At most as many strata as rows to keep, so each stratum keeps at least one; each keeps its share, rounded so
  // that the kept rows add up to the share of all legitimate rows.
  const strata = strataOf(legit, Math.min(opts.strata ?? 100, Math.floor(opts.share * legit.length)));
  let before = 0;
  for (const stratum of strata) {
    const kept = Math.max(1, Math.round(opts.share * (before + stratum.length)) - Math.round(opts.share * before));
    before += stratum.length;
    for (const i of drawWithoutReplacement(stratum, kept, random)) weightOf.set(i, stratum.length / kept);
  }
  const keptIndices = [...weightOf.keys()].sort((a, b) => a - b);
  return { rows: keptIndices.map((i) => rows[i]!), weights: keptIndices.map((i) => weightOf.get(i)!) };
}

/** `items` cut into `count` contiguous parts of (nearly) equal size; fewer when there are fewer items. */
function strataOf<T>(items: readonly T[], count: number): T[][] {
  const parts = Math.max(1, Math.min(count, items.length));
  return Array.from({ length: parts }, (_, k) =>
    items.slice(Math.floor((k * items.length) / parts), Math.floor(((k + 1) * items.length) / parts)),
  ).filter((part) => part.length > 0);
}

/** `k` items drawn uniformly without replacement (a partial Fisher–Yates shuffle of a copy). */
function drawWithoutReplacement<T>(items: readonly T[], k: number, random: () => number): T[] {
  const pool = [...items];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}
