import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generator/synthetic';
import { sampleLegitimate } from '../../src/scoring/legit-sampling';
import { fitLogistic, predictLogit } from '../../src/scoring/logistic';
import { recallAtFalsePositiveRate, rocAuc } from '../../src/scoring/score-figures';
import type { TuningRow } from '../../src/scoring/tuning';
import { simulate } from '../../src/scoring/tuning';

/** 20,000 rows over time, 1% fraud; legitimate scores drift upwards over time so strata matter. */
function history(seed: number): Array<TuningRow & { at: number }> {
  const random = mulberry32(seed);
  return Array.from({ length: 20_000 }, (_, at) => {
    const isFraud = random() < 0.01;
    const drift = at / 40_000;
    const probability = isFraud ? 0.4 + 0.6 * random() : Math.min(1, drift + 0.5 * random() ** 2);
    return { at, isFraud, probability, ruleFloor: 'approve' as const, ruleEscalates: false };
  });
}

describe('negative sampling', () => {
  it('keeps every fraud and the asked share of legitimate rows, in time order, weighted back to the full count', () => {
    const rows = history(1);
    const { rows: kept, weights } = sampleLegitimate(rows, { share: 0.1, seed: 3 });
    const frauds = rows.filter((r) => r.isFraud).length;
    const legit = rows.length - frauds;
    expect(kept.filter((r) => r.isFraud)).toHaveLength(frauds);
    expect(kept.length - frauds).toBe(Math.round(legit * 0.1));
    expect(kept.map((r) => r.at)).toEqual([...kept.map((r) => r.at)].sort((a, b) => a - b));
    expect(kept.every((r, i) => (r.isFraud ? weights[i] === 1 : weights[i]! > 1))).toBe(true);
    const legitWeight = weights.filter((_, i) => !kept[i]!.isFraud).reduce((s, w) => s + w, 0);
    expect(legitWeight).toBeCloseTo(legit, 6);
  });

  it('keeps each time stratum its share', () => {
    const rows = history(2);
    const { rows: kept } = sampleLegitimate(rows, { share: 0.05, seed: 1, strata: 10 });
    const legitIn = (lo: number, hi: number, from: typeof rows) =>
      from.filter((r) => !r.isFraud && r.at >= lo && r.at < hi).length;
    const first = legitIn(0, 2000, kept) / legitIn(0, 2000, rows);
    const last = legitIn(18_000, 20_000, kept) / legitIn(18_000, 20_000, rows);
    expect(first).toBeCloseTo(0.05, 2);
    expect(last).toBeCloseTo(0.05, 2);
  });

  it('is seeded: the same seed keeps the same rows, another seed others', () => {
    const rows = history(3);
    const a = sampleLegitimate(rows, { share: 0.1, seed: 5 }).rows.map((r) => r.at);
    expect(sampleLegitimate(rows, { share: 0.1, seed: 5 }).rows.map((r) => r.at)).toEqual(a);
    expect(sampleLegitimate(rows, { share: 0.1, seed: 6 }).rows.map((r) => r.at)).not.toEqual(a);
  });

  it('weighted figures on the sample estimate those of the full history without bias', () => {
    const rows = history(4);
    const point = { reviewAt: 0.6, declineAt: 0.8, escalation: null };
    const full = simulate(rows, point);
    const seeds = Array.from({ length: 20 }, (_, k) => k + 1);
    const samples = seeds.map((seed) => sampleLegitimate(rows, { share: 0.1, seed }));
    const figures = samples.map(({ rows: kept, weights }) =>
      simulate(
        kept.map((r, i) => ({ ...r, weight: weights[i]! })),
        point,
      ),
    );
    const mean = (key: 'recall' | 'falsePositiveRate' | 'reviewOrDeclineFalsePositiveRate' | 'declinePrecision') =>
      figures.reduce((s, f) => s + f[key], 0) / figures.length;
    expect(mean('recall')).toBeCloseTo(full.recall, 9);
    for (const key of ['falsePositiveRate', 'reviewOrDeclineFalsePositiveRate', 'declinePrecision'] as const)
      expect(Math.abs(mean(key) - full[key]) / full[key]).toBeLessThan(0.03);
    const { rows: kept, weights } = samples[0]!;
    const scores = (r: readonly TuningRow[]) => r.map((x) => x.probability);
    const labels = (r: readonly TuningRow[]) => r.map((x) => x.isFraud);
    expect(rocAuc(scores(kept), labels(kept), weights)).toBeCloseTo(rocAuc(scores(rows), labels(rows)), 2);
    expect(recallAtFalsePositiveRate(scores(kept), labels(kept), 0.05, weights)).toBeCloseTo(
      recallAtFalsePositiveRate(scores(rows), labels(rows), 0.05),
      1,
    );
    // Unweighted, the sample would overstate how many declines are fraud: the weights matter.
    expect(simulate(kept, point).declinePrecision).toBeGreaterThan(full.declinePrecision * 1.5);
  });

  it('refuses a share outside (0, 1]', () => {
    expect(() => sampleLegitimate(history(5), { share: 0 })).toThrow(/share/);
    expect(() => sampleLegitimate(history(5), { share: 1.5 })).toThrow(/share/);
  });
});

describe('weighted fits and figures', () => {
  it('a row of weight 3 counts as three copies of it', () => {
    const random = mulberry32(8);
    const x = Array.from({ length: 300 }, () => [random(), random() * 2 - 1]);
    const y = x.map(([a, b]) => (random() < 1 / (1 + Math.exp(-(3 * a! - 2 * b! - 1))) ? 1 : 0));
    const w = x.map((_, i) => (i % 4 === 0 ? 3 : 1));
    const copies = x.flatMap((r, i) => Array.from({ length: w[i]! }, () => r));
    const copyLabels = y.flatMap((v, i) => Array.from({ length: w[i]! }, () => v));
    const weighted = fitLogistic(x, y, { l2: 1, rowWeights: w });
    const copied = fitLogistic(copies, copyLabels, { l2: 1 });
    for (const probe of [
      [0.2, 0.5],
      [0.9, -0.3],
    ])
      expect(predictLogit(weighted, probe)).toBeCloseTo(predictLogit(copied, probe), 4);
    const scores = x.map((r) => predictLogit(weighted, r));
    const labels = y.map((v) => v === 1);
    const copyScores = copies.map((r) => predictLogit(weighted, r));
    expect(rocAuc(scores, labels, w)).toBeCloseTo(
      rocAuc(
        copyScores,
        copyLabels.map((v) => v === 1),
      ),
      10,
    );
  });
});
