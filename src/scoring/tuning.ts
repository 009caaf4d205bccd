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
  /**
   * Frauds of the tuning slice that must lie at or above each threshold in use and inside an escalation band: a
   * cut point backed by fewer is noise, and the tuner says it cannot tell. @default 5
   */
  minFraudsPerThreshold?: number;
}

export const defaultTuningLimits: TuningLimits = {
  maxEscalation: 0.2,
  maxFalsePositiveRate: 0.01,
  maxReviewFalsePositiveRate: 0.05,
  minDeclinePrecision: 0.5,
  minFraudsPerThreshold: 5,
};

/** One labelled transaction as tuning sees it: the rules' verdict and the calibrated first-pass probability. */
export interface TuningRow {
  isFraud: boolean;
  probability: number;
  /** The outcome floor the rules set, and whether a rule declines or escalates on its own. */
  ruleFloor: DecisionOutcome;
  ruleEscalates: boolean;
  /** Transactions the row stands for (a legitimate row kept by sampling stands for those left out). @default 1 */
  weight?: number;
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

/** The tuning slice's fraud count under which its figures cannot be trusted, and the tuner says so. */
export const minTrustedFrauds = 50;

const severity: Record<DecisionOutcome, number> = { approve: 0, review: 1, decline: 2 };
const outcomeAt = (p: number, point: OperatingPoint): DecisionOutcome =>
  p >= point.declineAt ? 'decline' : p >= point.reviewAt ? 'review' : 'approve';

/** Expected figures of an operating point; escalated rows count by the hosted tier's measured rates. */
export function simulate(rows: readonly TuningRow[], point: OperatingPoint, hosted?: HostedRates): QualityFigures {
  const tally = emptyTally();
  for (const row of rows) addOutcome(tally, row.isFraud, simulatedOutcome(row, point, hosted), row.weight ?? 1);
  return outcomeRates(tally);
}

/** One row's expected outcome under an operating point. */
export function simulatedOutcome(
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
  fit: (x: number[][], y: number[], rowWeights?: number[]) => LogisticModel,
  rowWeights?: readonly number[],
): number[] {
  const out = new Array<number>(x.length).fill(0);
  const size = Math.ceil(x.length / folds);
  for (let f = 0; f < folds; f++) {
    const lo = f * size;
    const hi = Math.min(x.length, lo + size);
    const trainX = [...x.slice(0, lo), ...x.slice(hi)];
    const trainY = [...y.slice(0, lo), ...y.slice(hi)];
    const trainWeights = rowWeights && [...rowWeights.slice(0, lo), ...rowWeights.slice(hi)];
    const model = fit(trainX, trainY, trainWeights);
    for (let i = lo; i < hi; i++) out[i] = predictLogit(model, x[i]!);
  }
  return out;
}

export { fitLogistic, sigmoid };
export { logLoss, recallAtFalsePositiveRate, rocAuc } from './score-figures';
