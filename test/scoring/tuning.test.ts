import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generator/synthetic';
import { fitLogistic, predictProbability, sigmoid } from '../../src/scoring/logistic';
import type { HostedRates, TuningRow } from '../../src/scoring/tuning';
import { chooseOperatingPoint } from '../../src/scoring/operating-point';
import {
  defaultTuningLimits,
  outOfFoldLogits,
  recallAtFalsePositiveRate,
  rocAuc,
  simulate,
  splitByTime,
  withinLimits,
} from '../../src/scoring/tuning';
import { bestF1 } from '../../src/scoring/score-figures';
import { tuningRow } from '../support/tuning-rows';

describe('logistic regression', () => {
  it('recovers the weights of a known logistic model', () => {
    const rng = mulberry32(7);
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const a = rng() * 4 - 2;
      const b = rng() * 4 - 2;
      x.push([a, b, rng()]);
      y.push(rng() < sigmoid(-1 + 2 * a - 1.5 * b) ? 1 : 0);
    }
    const model = fitLogistic(x, y, { l2: 0.01 });
    const raw = model.weights.map((w, j) => w / model.scale[j]!);
    expect(raw[0]).toBeCloseTo(2, 0);
    expect(raw[1]).toBeCloseTo(-1.5, 0);
    expect(Math.abs(raw[2]!)).toBeLessThan(0.3);
    expect(predictProbability(model, [0, 0, 0.5])).toBeCloseTo(sigmoid(-1), 1);
  });

  it('shrinks weights towards zero as the penalty grows, and ignores a constant column', () => {
    const x = [
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 1],
    ];
    const y = [0, 0, 1, 1];
    const loose = fitLogistic(x, y, { l2: 0.1 });
    const tight = fitLogistic(x, y, { l2: 100 });
    expect(Math.abs(tight.weights[0]!)).toBeLessThan(Math.abs(loose.weights[0]!));
    expect(loose.weights[1]).toBe(0);
  });
});

describe('ranking measures', () => {
  it('AUC is 1 for a perfect ranking, 0.5 for ties, 0 for a reversed one', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
  });

  it('recall at a false-positive rate counts frauds above the legitimate quantile', () => {
    const legit = Array.from({ length: 100 }, (_, i) => i / 100);
    const scores = [...legit, 0.995, 0.985, 0.5];
    const labels = [...legit.map(() => false), true, true, true];
    expect(recallAtFalsePositiveRate(scores, labels, 0.01)).toBeCloseTo(2 / 3, 5);
  });

  it('best F1 is the F1 of the best single threshold, never one that splits tied scores', () => {
    // Cut after 0.9: 1 caught of 2, 1 flagged → F1 2/3; after 0.7: 2 of 2 caught, 3 flagged → 0.8.
    expect(bestF1([0.9, 0.8, 0.7, 0.1], [true, false, true, false])).toBeCloseTo(0.8, 10);
    // The fraud is tied with three legitimate rows: the only cuts flag all four (F1 0.4) or none.
    expect(bestF1([0.5, 0.5, 0.5, 0.5, 0.1], [true, false, false, false, false])).toBeCloseTo(0.4, 10);
    expect(bestF1([0.2, 0.1], [false, false])).toBe(0);
  });

  it('out-of-fold predictions come from models that never saw the row', () => {
    const x = [[0], [0], [0], [0]];
    const y = [1, 1, 0, 0];
    const seen: number[][] = [];
    outOfFoldLogits(x, y, 2, (fx, fy) => {
      seen.push(fy);
      return { intercept: 0, weights: [0], mean: [0], scale: [1] };
    });
    expect(seen).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('splits by time, earlier rows to tune on', () => {
    const rows = [{ occurredAtMs: 3 }, { occurredAtMs: 1 }, { occurredAtMs: 4 }, { occurredAtMs: 2 }];
    const [tune, measure] = splitByTime(rows, 0.5);
    expect(tune.map((r) => r.occurredAtMs)).toEqual([1, 2]);
    expect(measure.map((r) => r.occurredAtMs)).toEqual([3, 4]);
  });
});

const row = tuningRow;

describe('operating point', () => {
  it("simulates declines, reviews, rule floors and escalations by the hosted tier's measured rates", () => {
    const rows = [
      row(true, 0.9),
      row(true, 0.5),
      row(false, 0.5),
      row(false, 0.1),
      row(false, 0.1, { ruleFloor: 'review' }),
    ];
    const point = { reviewAt: 0.4, declineAt: 0.8, escalation: null };
    expect(simulate(rows, point)).toMatchObject({
      recall: 1,
      falsePositiveRate: 0,
      reviewOrDeclineFalsePositiveRate: 2 / 3,
      declinePrecision: 1,
      escalationShare: 0,
    });
    const hosted: HostedRates = {
      fraud: { decline: 1, flag: 1 },
      legit: { decline: 0, flag: 0 },
      sampled: { fraud: 10, legit: 10 },
    };
    const band = { reviewAt: 0.8, declineAt: 0.8, escalation: { low: 0.4, high: 0.6 } };
    expect(simulate(rows, band, hosted)).toMatchObject({
      recall: 1,
      reviewOrDeclineFalsePositiveRate: 1 / 3,
      escalationShare: 0.4,
    });
  });

  it('picks the point with the best recall that meets every limit', () => {
    const rows: TuningRow[] = [];
    for (let i = 0; i < 1000; i++) rows.push(row(false, i / 1000));
    for (let i = 0; i < 50; i++) rows.push(row(true, 0.95 + i / 1000));
    for (let i = 0; i < 10; i++) rows.push(row(true, 0.3));
    const tuned = chooseOperatingPoint(rows, defaultTuningLimits);
    expect(withinLimits(tuned.figures, defaultTuningLimits)).toBe(true);
    expect(tuned.figures.recall).toBeGreaterThanOrEqual(50 / 60);
    expect(tuned.figures.falsePositiveRate).toBeLessThanOrEqual(0.01);
    expect(tuned.figures.reviewOrDeclineFalsePositiveRate).toBeLessThanOrEqual(0.05);
    expect(tuned.point.escalation).toBeNull();
    expect(tuned.curve.length).toBeGreaterThan(5);
  });

  it('escalates only when the hosted tier is measured to help, within the escalation limit', () => {
    const rows: TuningRow[] = [];
    for (let i = 0; i < 1000; i++) rows.push(row(false, i / 1000));
    for (let i = 0; i < 40; i++) rows.push(row(true, 0.85 + i / 1000));
    const good: HostedRates = {
      fraud: { decline: 0.9, flag: 1 },
      legit: { decline: 0, flag: 0.01 },
      sampled: { fraud: 20, legit: 20 },
    };
    const useless: HostedRates = {
      fraud: { decline: 0.5, flag: 0.5 },
      legit: { decline: 0.5, flag: 0.5 },
      sampled: { fraud: 20, legit: 20 },
    };
    const helped = chooseOperatingPoint(rows, defaultTuningLimits, good);
    const alone = chooseOperatingPoint(rows, defaultTuningLimits, useless);
    expect(helped.point.escalation).not.toBeNull();
    expect(helped.figures.escalationShare).toBeLessThanOrEqual(0.2);
    expect(helped.figures.recall).toBeGreaterThan(alone.figures.recall);
    expect(alone.figures.falsePositiveRate).toBeLessThanOrEqual(0.01);
  });
});
