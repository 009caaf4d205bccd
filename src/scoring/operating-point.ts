/**
 * Choosing the operating point a fraud team can trust: the review and decline thresholds and the escalation band
 * that catch the most fraud within the team's limits, on out-of-fold probabilities of a labelled tuning slice.
 *
 * - Decisions are monotone in the fraud probability: approve < review < decline, and one contiguous escalation
 *   band that sits where an answer is in doubt, just below the review threshold (the hosted tier may flag an
 *   approval) or just below the decline threshold (it may decline a review). A hosted answer only ever raises
 *   the first pass's outcome (`raises`), so a band never approves what the thresholds would have reviewed.
 * - A band is paid for only when the hosted tier's measured lift, with its interval, lies above nil.
 * - The decline threshold, the point as a whole and the band are each backed by at least `minFraudsPerThreshold`
 *   frauds of the tuning slice; the tuner says when it cannot tell. Expected figures carry bootstrap intervals; a slice with few frauds is warned about.
 */
import { mulberry32 } from '../generator/synthetic/random';
import { hostedLift } from './hosted-lift';
import type { HostedLift } from './hosted-lift';
import { addOutcome, emptyTally, outcomeRates } from './outcome-tally';
import type { HostedRates, OperatingPoint, QualityFigures, TuningLimits, TuningRow } from './tuning';
import { defaultTuningLimits, minTrustedFrauds, simulate, simulatedOutcome, withinLimits } from './tuning';

/** A figure's bootstrap interval (the middle 95% of resamples). */
export interface FigureInterval {
  low: number;
  high: number;
}

export interface TunedOperatingPoint {
  point: OperatingPoint;
  figures: QualityFigures;
  /** Bootstrap intervals of the expected figures, resampling the tuning rows (frauds and legitimate apart). */
  intervals: Record<
    | 'recall'
    | 'declineRecall'
    | 'falsePositiveRate'
    | 'reviewOrDeclineFalsePositiveRate'
    | 'declinePrecision'
    | 'escalationShare',
    FigureInterval
  >;
  /** Recall and false-positive rates along the decline threshold, with the chosen review threshold and band. */
  curve: Array<{ declineAt: number } & QualityFigures>;
  /** How many operating points met the limits and were backed by enough frauds. */
  feasible: number;
  /** The hosted tier's measured lift, when it was measured. */
  hostedLift?: { flag: HostedLift; decline: HostedLift };
  /** What a reader of the policy must know: few frauds, a tier not worth escalating to, a point it cannot tell. */
  warnings: string[];
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
  const warnings: string[] = [];
  const frauds = rows.filter((r) => r.isFraud).length;
  if (frauds < minTrustedFrauds)
    warnings.push(
      `only ${frauds} frauds in the tuning slice (fewer than ${minTrustedFrauds}): the thresholds and figures are uncertain; read the intervals, and tune on a longer history`,
    );
  const lift = hosted && hostedLift(hosted);
  if (hosted && lift) warnings.push(...liftWarnings(lift));
  const evaluator = new OperatingPointEvaluator(rows, hosted);
  const minFrauds = limits.minFraudsPerThreshold ?? defaultTuningLimits.minFraudsPerThreshold ?? 5;
  const cuts = candidateCuts(rows, 30, [limits.maxFalsePositiveRate, limits.maxReviewFalsePositiveRate]);
  const bandCuts = candidateCuts(rows, 8);
  let best: { point: OperatingPoint; figures: QualityFigures } | undefined;
  let feasible = 0;
  for (const point of monotonePoints(cuts, bandCuts, lift)) {
    if (!evaluator.backedByFrauds(point, minFrauds)) continue;
    const figures = evaluator.figures(point);
    if (!withinLimits(figures, limits)) continue;
    feasible++;
    if (!best || better(figures, best.figures)) best = { point, figures };
  }
  if (!best)
    warnings.push(
      `cannot tell: no operating point meets the limits with at least ${minFrauds} frauds behind each threshold; reviewing and declining only at the very top`,
    );
  const chosen = best ?? strictestPoint(cuts, evaluator);
  const curve = cuts.map((declineAt) => ({
    declineAt,
    ...evaluator.figures({ ...chosen.point, declineAt: Math.max(declineAt, chosen.point.reviewAt) }),
  }));
  return {
    ...chosen,
    intervals: bootstrapIntervals(rows, chosen.point, hosted),
    curve,
    feasible,
    ...(lift ? { hostedLift: lift } : {}),
    warnings,
  };
}

const value = (f: QualityFigures) => f.recall - escalationPrice * f.escalationShare;
function better(a: QualityFigures, b: QualityFigures): boolean {
  if (value(a) !== value(b)) return value(a) > value(b);
  if (a.escalationShare !== b.escalationShare) return a.escalationShare < b.escalationShare;
  return a.reviewOrDeclineFalsePositiveRate < b.reviewOrDeclineFalsePositiveRate;
}

function liftWarnings(lift: { flag: HostedLift; decline: HostedLift }): string[] {
  const show = (l: HostedLift) => `${l.estimate.toFixed(3)} [${l.low.toFixed(3)}, ${l.high.toFixed(3)}]`;
  if (lift.flag.positive || lift.decline.positive) return [];
  return [
    `the hosted tier shows no measured lift (flag rate on frauds minus legitimate ${show(lift.flag)}, decline ${show(lift.decline)}): no escalation band; rules that escalate still reach it`,
  ];
}

/** Review and decline only at the very top: the point taken when nothing meets the limits. */
function strictestPoint(cuts: number[], evaluator: OperatingPointEvaluator) {
  const point: OperatingPoint = { reviewAt: cuts.at(-1) ?? 0.99, declineAt: 1, escalation: null, hostedMode: 'raises' };
  return { point, figures: evaluator.figures(point) };
}

/**
 * Every monotone operating point over the cut points: review ≤ decline (decline 1.01 means never), and no band,
 * a band just below the review threshold (when the hosted tier's flags show lift), or one just below the decline
 * threshold (when its declines do).
 */
function* monotonePoints(
  cuts: number[],
  bandCuts: number[],
  lift: { flag: HostedLift; decline: HostedLift } | undefined,
): Generator<OperatingPoint> {
  for (const declineAt of [...cuts, 1.01]) {
    for (const reviewAt of cuts) {
      if (reviewAt > declineAt) continue;
      const base = { reviewAt, declineAt: Math.min(declineAt, 1), hostedMode: 'raises' as const };
      yield { ...base, escalation: null };
      if (lift?.flag.positive)
        for (const low of bandCuts) if (low < reviewAt) yield { ...base, escalation: { low, high: reviewAt } };
      if (lift?.decline.positive && declineAt <= 1)
        for (const low of bandCuts)
          if (low >= reviewAt && low < declineAt) yield { ...base, escalation: { low, high: declineAt } };
    }
  }
}

/**
 * Probability cut points where thresholds make sense: between the legitimate rows' scores at (weighted)
 * false-positive rates from 0.05% to 30% (log-spaced), and between the frauds' scores at evenly spaced recalls.
 */
export function candidateCuts(rows: readonly TuningRow[], count: number, limitFprs: readonly number[] = []): number[] {
  const legit = rows.filter((r) => !r.isFraud).sort((a, b) => b.probability - a.probability);
  const fraud = rows
    .filter((r) => r.isFraud)
    .map((r) => r.probability)
    .sort((a, b) => a - b);
  const legitTotal = legit.reduce((s, r) => s + (r.weight ?? 1), 0);
  // The cut just below the legitimate rows whose weight makes up `fpr` of all legitimate weight (highest first).
  const atFpr = (fpr: number): number | undefined => {
    let spent = 0;
    for (const [i, r] of legit.entries()) {
      spent += r.weight ?? 1;
      if (spent > fpr * legitTotal + 1e-9) return (r.probability + (legit[i - 1]?.probability ?? 1)) / 2;
    }
    return undefined;
  };
  const cuts = new Set<number>();
  const add = (c: number | undefined) => c !== undefined && cuts.add(Math.round(c * 1e6) / 1e6);
  // The limits themselves are cut points too: a threshold that spends exactly the allowed false positives.
  for (const fpr of limitFprs) add(atFpr(fpr));
  for (let i = 0; i < count; i++) {
    add(atFpr(0.0005 * (0.3 / 0.0005) ** (i / Math.max(1, count - 1))));
    if (fraud.length) {
      const k = Math.min(fraud.length - 1, Math.max(0, Math.floor((i / count) * fraud.length) - 1));
      add((fraud[k]! + (fraud[k + 1] ?? 1)) / 2);
    }
  }
  return [...cuts].sort((a, b) => a - b);
}

/** The row types whose outcome under a point depends only on the zone their probability falls in. */
interface RowType {
  row: Omit<TuningRow, 'probability' | 'weight'>;
  /** Probabilities of the rows of this type, ascending, and the running sum of their weights. */
  sorted: number[];
  cumulativeWeight: number[];
}

/**
 * Evaluates operating points in time independent of the row count: rows are grouped by type (fraud or not, the
 * rules' floor, whether a rule escalates) and sorted by probability, and a point's figures are summed segment by
 * segment between its cut points, each segment's outcome taken from {@link simulatedOutcome}. Equal to
 * {@link simulate} on the same rows (a unit test holds them together).
 */
export class OperatingPointEvaluator {
  private readonly types: RowType[];
  private readonly frauds: number[];

  constructor(
    rows: readonly TuningRow[],
    private readonly hosted?: HostedRates,
  ) {
    const groups = new Map<string, TuningRow[]>();
    for (const r of rows) {
      const key = `${r.isFraud}|${r.ruleFloor}|${r.ruleEscalates}`;
      const group = groups.get(key);
      if (group) group.push(r);
      else groups.set(key, [r]);
    }
    this.types = [...groups.values()].map((group) => {
      const sorted = [...group].sort((a, b) => a.probability - b.probability);
      let running = 0;
      return {
        row: { isFraud: group[0]!.isFraud, ruleFloor: group[0]!.ruleFloor, ruleEscalates: group[0]!.ruleEscalates },
        sorted: sorted.map((r) => r.probability),
        cumulativeWeight: [0, ...sorted.map((r) => (running += r.weight ?? 1))],
      };
    });
    this.frauds = rows
      .filter((r) => r.isFraud)
      .map((r) => r.probability)
      .sort((a, b) => a - b);
  }

  figures(point: OperatingPoint): QualityFigures {
    const tally = emptyTally();
    const boundaries = [...new Set([point.reviewAt, point.declineAt, point.escalation?.low, point.escalation?.high])]
      .filter((b): b is number => b !== undefined)
      .sort((a, b) => a - b);
    for (const segment of segmentsOf(boundaries)) {
      for (const type of this.types) {
        const weight = weightBetween(type, segment);
        if (weight <= 0) continue;
        const outcome = simulatedOutcome({ ...type.row, probability: segment.representative }, point, this.hosted);
        addOutcome(tally, type.row.isFraud, outcome, weight);
      }
    }
    return outcomeRates(tally);
  }

  /**
   * True when the point is backed by at least `min` frauds: at or above the decline threshold (when it declines
   * at all), at or above the lowest probability it acts on, and inside the band.
   */
  backedByFrauds(point: OperatingPoint, min: number): boolean {
    const atOrAbove = (p: number) => this.frauds.length - lowerBound(this.frauds, p);
    if (point.declineAt < 1 && atOrAbove(point.declineAt) < min) return false;
    const band = point.escalation;
    if (atOrAbove(Math.min(point.reviewAt, band?.low ?? Infinity)) < min) return false;
    return !band || atOrAbove(band.low) - (this.frauds.length - upperBound(this.frauds, band.high)) >= min;
  }
}

/** Open intervals between boundaries and the boundaries themselves, each with a probability inside it. */
interface Segment {
  /** Rows with from < p < to (or p = at, for a boundary). */
  from: number;
  to: number;
  at?: number;
  representative: number;
}

function segmentsOf(boundaries: number[]): Segment[] {
  const segments: Segment[] = [];
  let previous = -Infinity;
  for (const b of boundaries) {
    segments.push({ from: previous, to: b, representative: previous === -Infinity ? b - 1 : (previous + b) / 2 });
    segments.push({ from: b, to: b, at: b, representative: b });
    previous = b;
  }
  segments.push({ from: previous, to: Infinity, representative: previous === -Infinity ? 0.5 : previous + 1 });
  return segments;
}

function weightBetween(type: RowType, s: Segment): number {
  const [lo, hi] =
    s.at !== undefined
      ? [lowerBound(type.sorted, s.at), upperBound(type.sorted, s.at)]
      : [
          s.from === -Infinity ? 0 : upperBound(type.sorted, s.from),
          s.to === Infinity ? type.sorted.length : lowerBound(type.sorted, s.to),
        ];
  return hi > lo ? type.cumulativeWeight[hi]! - type.cumulativeWeight[lo]! : 0;
}

/** First index with sorted[i] ≥ v. */
function lowerBound(sorted: readonly number[], v: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with sorted[i] > v. */
function upperBound(sorted: readonly number[], v: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const intervalFigures = [
  'recall',
  'declineRecall',
  'falsePositiveRate',
  'reviewOrDeclineFalsePositiveRate',
  'declinePrecision',
  'escalationShare',
] as const;

/**
 * Bootstrap intervals of a point's expected figures: 200 resamples of the tuning rows with replacement, frauds
 * and legitimate rows apart (each resample keeps the slice's fraud count), seeded.
 */
export function bootstrapIntervals(
  rows: readonly TuningRow[],
  point: OperatingPoint,
  hosted?: HostedRates,
  resamples = 200,
): TunedOperatingPoint['intervals'] {
  const random = mulberry32(20261206);
  const frauds = rows.filter((r) => r.isFraud);
  const legit = rows.filter((r) => !r.isFraud);
  const draw = (from: readonly TuningRow[]) => from.map(() => from[Math.floor(random() * from.length)]!);
  const samples = Array.from({ length: resamples }, () => simulate([...draw(frauds), ...draw(legit)], point, hosted));
  const interval = (key: (typeof intervalFigures)[number]): FigureInterval => {
    const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
    return {
      low: sorted[Math.floor(0.025 * (sorted.length - 1))]!,
      high: sorted[Math.ceil(0.975 * (sorted.length - 1))]!,
    };
  };
  return Object.fromEntries(intervalFigures.map((k) => [k, interval(k)])) as TunedOperatingPoint['intervals'];
}
