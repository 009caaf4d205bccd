/**
 * Tuning from labelled history: split by time, fit the probe and the calibration, and pick the operating point
 * (review and decline thresholds, escalation band) that catches the most fraud within the team's limits.
 * Pure: `fraudflow tune` gathers the rows, embeddings and hosted samples and writes the policy file.
 */
import type { DecisionOutcome } from '../schemas/decision';
import type { OutcomeRates } from './outcome-tally';
import { addOutcome, emptyTally, outcomeRates } from './outcome-tally';
import type { LogisticModel } from './logistic';
import { fitLogistic, predictLogit, sigmoid } from './logistic';

/** The limits a fraud team sets; tuning maximises recall (review or decline) within them. */
export interface TuningLimits {
  /** Share of transactions sent to the hosted tier. @default 0.2 */
  maxEscalation: number;
  /** Legitimate transactions declined. @default 0.01 */
  maxFalsePositiveRate: number;
  /** Legitimate transactions sent to review or declined. @default 0.05 */
  maxReviewFalsePositiveRate: number;
  /** Declined transactions that are fraud. @default 0.5 */
  minDeclinePrecision: number;
}

export const defaultTuningLimits: TuningLimits = {
  maxEscalation: 0.2,
  maxFalsePositiveRate: 0.01,
  maxReviewFalsePositiveRate: 0.05,
  minDeclinePrecision: 0.5,
};

/** One labelled transaction as tuning sees it: the rules' verdict and the calibrated first-pass probability. */
export interface TuningRow {
  isFraud: boolean;
  probability: number;
  /** The outcome floor the rules set, and whether a rule declines or escalates on its own. */
  ruleFloor: DecisionOutcome;
  ruleEscalates: boolean;
}

/** How the hosted tier answers, per class, measured on a labelled sample of escalation candidates. */
export interface HostedRates {
  fraud: { decline: number; flag: number };
  legit: { decline: number; flag: number };
  sampled: { fraud: number; legit: number };
}

export interface OperatingPoint {
  reviewAt: number;
  declineAt: number;
  escalation: { low: number; high: number } | null;
  /** What a hosted answer may do (see PolicyThresholds.hosted.mode). @default 'decides' */
  hostedMode?: 'decides' | 'raises';
}

export type QualityFigures = OutcomeRates;

const severity: Record<DecisionOutcome, number> = { approve: 0, review: 1, decline: 2 };
const outcomeAt = (p: number, point: OperatingPoint): DecisionOutcome =>
  p >= point.declineAt ? 'decline' : p >= point.reviewAt ? 'review' : 'approve';

/** Expected figures of an operating point; escalated rows count by the hosted tier's measured rates. */
export function simulate(rows: readonly TuningRow[], point: OperatingPoint, hosted?: HostedRates): QualityFigures {
  const tally = emptyTally();
  for (const row of rows) addOutcome(tally, row.isFraud, simulatedOutcome(row, point, hosted));
  return outcomeRates(tally);
}

/** One row's expected outcome under an operating point. */
function simulatedOutcome(
  row: TuningRow,
  point: OperatingPoint,
  hosted: HostedRates | undefined,
): { decline: number; flag: number; escalated: boolean } {
  const inBand =
    point.escalation !== null && row.probability >= point.escalation.low && row.probability <= point.escalation.high;
  if (row.ruleFloor === 'decline') return { decline: 1, flag: 1, escalated: false };
  if ((inBand || row.ruleEscalates) && hosted) {
    const rates = row.isFraud ? hosted.fraud : hosted.legit;
    // `raises`: the first pass's own outcome stands and the hosted answer can only add to it.
    const local = point.hostedMode === 'raises' ? outcomeAt(row.probability, point) : 'approve';
    return {
      decline: local === 'decline' ? 1 : rates.decline,
      flag: row.ruleFloor === 'review' || local !== 'approve' ? 1 : rates.flag,
      escalated: true,
    };
  }
  // No hosted tier: the first pass decides, and an answer escalation would have judged is at least review.
  let outcome = outcomeAt(row.probability, point);
  if (severity[row.ruleFloor] > severity[outcome]) outcome = row.ruleFloor;
  if ((inBand || row.ruleEscalates) && outcome === 'approve') outcome = 'review';
  return { decline: outcome === 'decline' ? 1 : 0, flag: outcome === 'approve' ? 0 : 1, escalated: false };
}

export function withinLimits(f: QualityFigures, limits: TuningLimits): boolean {
  return (
    f.escalationShare <= limits.maxEscalation &&
    f.falsePositiveRate <= limits.maxFalsePositiveRate &&
    f.reviewOrDeclineFalsePositiveRate <= limits.maxReviewFalsePositiveRate &&
    f.declinePrecision >= limits.minDeclinePrecision
  );
}

/**
 * Probability cut points where thresholds make sense: between the legitimate rows' scores at false-positive
 * rates from 0.05% to 30% (log-spaced), and between the frauds' scores at evenly spaced recalls.
 */
function candidateCuts(rows: readonly TuningRow[], count: number, limitFprs: readonly number[] = []): number[] {
  const between = (sorted: number[], k: number) => {
    const i = Math.min(sorted.length - 1, Math.max(0, k));
    const next = sorted[i + 1] ?? 1;
    return (sorted[i]! + next) / 2;
  };
  const legit = rows
    .filter((r) => !r.isFraud)
    .map((r) => r.probability)
    .sort((a, b) => a - b);
  const fraud = rows
    .filter((r) => r.isFraud)
    .map((r) => r.probability)
    .sort((a, b) => a - b);
  const cuts = new Set<number>();
  // The limits themselves are cut points too: a threshold that spends exactly the allowed false positives.
  for (const fpr of limitFprs)
    if (legit.length) cuts.add(between(legit, legit.length - 1 - Math.floor(fpr * legit.length)));
  for (let i = 0; i < count; i++) {
    const fpr = 0.0005 * (0.3 / 0.0005) ** (i / Math.max(1, count - 1));
    if (legit.length) cuts.add(between(legit, legit.length - 1 - Math.floor(fpr * legit.length)));
    if (fraud.length) cuts.add(between(fraud, Math.floor((i / count) * fraud.length) - 1));
  }
  return [...cuts].map((c) => Math.round(c * 1e6) / 1e6).sort((a, b) => a - b);
}

export interface TunedOperatingPoint {
  point: OperatingPoint;
  figures: QualityFigures;
  /** Recall and false-positive rates along the decline threshold, with the chosen review threshold and band. */
  curve: Array<{ declineAt: number } & QualityFigures>;
  /** How many operating points met the limits. */
  feasible: number;
}

/** Recall given up per unit of escalated share: what makes a band worth its hosted cost. */
export const escalationPrice = 0.1;

/**
 * Best recall within the limits, less {@link escalationPrice} per escalated share; ties go to fewer escalations,
 * then fewer reviews of legitimate traffic.
 */
export function chooseOperatingPoint(
  rows: readonly TuningRow[],
  limits: TuningLimits,
  hosted?: HostedRates,
): TunedOperatingPoint {
  const cuts = candidateCuts(rows, 30, [limits.maxFalsePositiveRate, limits.maxReviewFalsePositiveRate]);
  const bandCuts = candidateCuts(rows, 8);
  const bands: Array<OperatingPoint['escalation']> = [null];
  if (hosted) for (const low of bandCuts) for (const high of bandCuts) if (high > low) bands.push({ low, high });
  const modes: Array<OperatingPoint['hostedMode']> = hosted ? ['decides', 'raises'] : ['decides'];
  let best: { point: OperatingPoint; figures: QualityFigures } | undefined;
  let feasible = 0;
  // Escalation is paid for: 10% of traffic sent out must catch at least one more fraud in a hundred.
  const value = (f: QualityFigures) => f.recall - escalationPrice * f.escalationShare;
  const better = (a: QualityFigures, b: QualityFigures) =>
    value(a) !== value(b)
      ? value(a) > value(b)
      : a.escalationShare !== b.escalationShare
        ? a.escalationShare < b.escalationShare
        : a.reviewOrDeclineFalsePositiveRate < b.reviewOrDeclineFalsePositiveRate;
  for (const [escalation, hostedMode] of bands.flatMap((b) => modes.map((m) => [b, m] as const))) {
    for (const declineAt of [...cuts, 1.01]) {
      for (const reviewAt of cuts) {
        if (reviewAt > declineAt) continue;
        const point = { reviewAt, declineAt: Math.min(declineAt, 1), escalation, hostedMode };
        const figures = simulate(rows, point, hosted);
        if (!withinLimits(figures, limits)) continue;
        feasible++;
        if (!best || better(figures, best.figures)) best = { point, figures };
      }
    }
  }
  const chosen = best ?? {
    // Nothing meets every limit: the strictest point (review and decline only at the very top).
    point: { reviewAt: cuts.at(-1) ?? 0.99, declineAt: 1, escalation: null },
    figures: simulate(rows, { reviewAt: cuts.at(-1) ?? 0.99, declineAt: 1, escalation: null }, hosted),
  };
  const curve = cuts.map((declineAt) => ({
    declineAt,
    ...simulate(rows, { ...chosen.point, declineAt: Math.max(declineAt, chosen.point.reviewAt) }, hosted),
  }));
  return { ...chosen, curve, feasible };
}

/** Splits rows by time: the earlier `share` to tune on, the rest to measure on. */
export function splitByTime<T extends { occurredAtMs: number }>(rows: readonly T[], share: number): [T[], T[]] {
  const sorted = [...rows].sort((a, b) => a.occurredAtMs - b.occurredAtMs);
  const cut = Math.round(sorted.length * share);
  return [sorted.slice(0, cut), sorted.slice(cut)];
}

/**
 * Out-of-fold predictions of a logistic model: each row scored by a model fitted without its fold, so the
 * calibration fitted on them sees the probe as it behaves on unseen transactions. Folds are contiguous in time.
 */
export function outOfFoldLogits(
  x: readonly number[][],
  y: readonly number[],
  folds: number,
  fit: (x: number[][], y: number[]) => LogisticModel,
): number[] {
  const out = new Array<number>(x.length).fill(0);
  const size = Math.ceil(x.length / folds);
  for (let f = 0; f < folds; f++) {
    const lo = f * size;
    const hi = Math.min(x.length, lo + size);
    const trainX = [...x.slice(0, lo), ...x.slice(hi)];
    const trainY = [...y.slice(0, lo), ...y.slice(hi)];
    const model = fit(trainX, trainY);
    for (let i = lo; i < hi; i++) out[i] = predictLogit(model, x[i]!);
  }
  return out;
}

/** Area under the ROC curve (probability a random fraud outscores a random legitimate transaction). */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const order = scores.map((s, i) => ({ s, y: labels[i]! })).sort((a, b) => a.s - b.s);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j]!.s === order[i]!.s) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) {
      if (!order[k]!.y) continue;
      rankSum += rank;
      positives++;
    }
    i = j;
  }
  const negatives = order.length - positives;
  return positives && negatives ? (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives) : 0.5;
}

/** Share of frauds scored above the score that flags `fpr` of legitimate transactions. */
export function recallAtFalsePositiveRate(scores: readonly number[], labels: readonly boolean[], fpr: number): number {
  const legit = scores.filter((_, i) => !labels[i]).sort((a, b) => b - a);
  const cut = legit[Math.floor(fpr * legit.length)] ?? Infinity;
  const frauds = scores.filter((_, i) => labels[i]);
  return frauds.length ? frauds.filter((s) => s > cut).length / frauds.length : 0;
}

export function logLoss(probabilities: readonly number[], labels: readonly boolean[]): number {
  const eps = 1e-9;
  const total = probabilities.reduce(
    (s, p, i) => s - (labels[i] ? Math.log(Math.max(p, eps)) : Math.log(Math.max(1 - p, eps))),
    0,
  );
  return probabilities.length ? total / probabilities.length : 0;
}

export { fitLogistic, sigmoid };
