/**
 * Live quality: how the policy in force is doing on the transactions whose outcomes came back. Labelled outcomes
 * are tallied per policy hash in hourly buckets of their decision time; a rolling window is the sum of the buckets
 * it covers (to the hour). Pure: the outcome store supplies the buckets, the metrics and `fraudflow quality` show
 * what these functions compute.
 */
import type { DecisionOutcome } from '../schemas/decision';
import type { LabelOutcome } from '../schemas/label';
import { populationStabilityIndex } from '../scoring/score-distribution';

export const hourMs = 60 * 60_000;
const dayMs = 24 * hourMs;

/** The rolling windows live quality is reported over. */
export const qualityWindows = [
  { name: '1d', ms: dayMs },
  { name: '7d', ms: 7 * dayMs },
  { name: '30d', ms: 30 * dayMs },
] as const;
export type QualityWindowName = (typeof qualityWindows)[number]['name'];

/** The longest window: buckets older than this are no longer read. */
export const longestWindowMs = 30 * dayMs;

/** `decline`: a decline counts as flagged; `review_or_decline`: a review or a decline does. */
export const flagLevels = ['decline', 'review_or_decline'] as const;
export type FlagLevel = (typeof flagLevels)[number];

export type ConfusionCell = `${DecisionOutcome}|${LabelOutcome}`;
export const confusionCells: readonly ConfusionCell[] = [
  'approve|fraud',
  'approve|legitimate',
  'review|fraud',
  'review|legitimate',
  'decline|fraud',
  'decline|legitimate',
];

/** Labelled outcomes of one policy hash decided in one hour: counts per cell and their label delays. */
export interface HourlyTally {
  hourMs: number;
  cells: Partial<Record<ConfusionCell, number>>;
  /** Sum of the label delays (reportedAt − decidedAt) of the counted outcomes, seconds. */
  labelDelaySeconds: number;
}

export interface WindowTally {
  cells: Record<ConfusionCell, number>;
  labelled: number;
  labelDelaySeconds: number;
}

/** The start of the hour `ms` falls in. */
export function hourOf(ms: number): number {
  return Math.floor(ms / hourMs) * hourMs;
}

/** Whether an hourly bucket counts in a window ending now: it starts at or after the hour the window starts in. */
export function inWindow(bucketHourMs: number, nowMs: number, windowMs: number): boolean {
  return bucketHourMs >= hourOf(nowMs - windowMs) && bucketHourMs <= nowMs;
}

export function emptyCells(): Record<ConfusionCell, number> {
  return Object.fromEntries(confusionCells.map((c) => [c, 0])) as Record<ConfusionCell, number>;
}

/** The buckets of a window summed. */
export function windowTally(buckets: readonly HourlyTally[], nowMs: number, windowMs: number): WindowTally {
  const cells = emptyCells();
  let labelDelaySeconds = 0;
  for (const bucket of buckets) {
    if (!inWindow(bucket.hourMs, nowMs, windowMs)) continue;
    for (const cell of confusionCells) cells[cell] += bucket.cells[cell] ?? 0;
    labelDelaySeconds += bucket.labelDelaySeconds;
  }
  const labelled = confusionCells.reduce((s, c) => s + cells[c], 0);
  return { cells, labelled, labelDelaySeconds };
}

export interface ConfusionMatrix {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
}

/** The confusion matrix at one flag level: fraud is the positive class. */
export function confusionAt(cells: Record<ConfusionCell, number>, level: FlagLevel): ConfusionMatrix {
  const flagged = (d: DecisionOutcome) => d === 'decline' || (level === 'review_or_decline' && d === 'review');
  const m = { truePositives: 0, falsePositives: 0, falseNegatives: 0, trueNegatives: 0 };
  for (const cell of confusionCells) {
    const [decision, outcome] = cell.split('|') as [DecisionOutcome, LabelOutcome];
    const n = cells[cell];
    if (outcome === 'fraud') {
      if (flagged(decision)) m.truePositives += n;
      else m.falseNegatives += n;
    } else if (flagged(decision)) m.falsePositives += n;
    else m.trueNegatives += n;
  }
  return m;
}

export interface QualityRates {
  /** Flagged transactions that were fraud; undefined when nothing was flagged. */
  precision: number | undefined;
  /** Frauds flagged; undefined without a labelled fraud. */
  recall: number | undefined;
  /** Legitimate transactions flagged; undefined without a labelled legitimate transaction. */
  falsePositiveRate: number | undefined;
}

const ratio = (n: number, d: number) => (d > 0 ? n / d : undefined);

export function qualityRates(m: ConfusionMatrix): QualityRates {
  return {
    precision: ratio(m.truePositives, m.truePositives + m.falsePositives),
    recall: ratio(m.truePositives, m.truePositives + m.falseNegatives),
    falsePositiveRate: ratio(m.falsePositives, m.falsePositives + m.trueNegatives),
  };
}

/** Score drift of one policy over one window. */
export interface ScoreDrift {
  /** Live first-pass probabilities in the window. */
  scored: number;
  /** Undefined with no reference distribution or fewer than the minimum sample. */
  psi: number | undefined;
  warning: boolean;
}

/**
 * PSI of the window's live bin counts against the tuning shares; below `minSample` live probabilities it is not
 * computed (a handful of scores give a PSI that means nothing).
 * @param minSample @default 100
 */
export function scoreDrift(
  expectedShares: readonly number[] | undefined,
  liveCounts: readonly number[],
  warnAbove: number,
  minSample = 100,
): ScoreDrift {
  const scored = liveCounts.reduce((s, c) => s + c, 0);
  const psi = expectedShares && scored >= minSample ? populationStabilityIndex(expectedShares, liveCounts) : undefined;
  return { scored, psi, warning: psi !== undefined && psi > warnAbove };
}

/** One policy's live quality over one window: what the metrics and the `fraudflow quality` table show. */
export interface WindowQuality {
  policyHash: string;
  window: QualityWindowName;
  tally: WindowTally;
  rates: Record<FlagLevel, QualityRates>;
  /** Mean label delay of the window's labelled outcomes, seconds; undefined when none. */
  meanLabelDelaySeconds: number | undefined;
  drift: ScoreDrift;
}

/** Live quality of one policy over every window, from its hourly tallies and live score bins. */
export function policyQuality(
  policyHash: string,
  tallies: readonly HourlyTally[],
  scoreBins: ReadonlyArray<{ hourMs: number; counts: readonly number[] }>,
  reference: { shares: readonly number[] } | undefined,
  opts: { nowMs: number; psiWarning: number; minDriftSample?: number },
): WindowQuality[] {
  return qualityWindows.map(({ name, ms }) => {
    const tally = windowTally(tallies, opts.nowMs, ms);
    const live = new Array<number>(reference?.shares.length ?? 0).fill(0);
    for (const bucket of scoreBins) {
      if (!inWindow(bucket.hourMs, opts.nowMs, ms)) continue;
      bucket.counts.forEach((c, i) => {
        if (i < live.length) live[i]! += c;
      });
    }
    return {
      policyHash,
      window: name,
      tally,
      rates: {
        decline: qualityRates(confusionAt(tally.cells, 'decline')),
        review_or_decline: qualityRates(confusionAt(tally.cells, 'review_or_decline')),
      },
      meanLabelDelaySeconds: ratio(tally.labelDelaySeconds, tally.labelled),
      drift: scoreDrift(reference?.shares, live, opts.psiWarning, opts.minDriftSample),
    };
  });
}
