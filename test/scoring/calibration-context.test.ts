import { describe, expect, it } from 'vitest';
import { computeCardFeatures } from '../../src/features/card-history';
import { mulberry32 } from '../../src/generator/synthetic';
import type { LabelledTransaction } from '../../src/models/training-set';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { calibrationInputNames, calibrationVector } from '../../src/scoring/calibration';
import {
  cardholderAge,
  contextInputs,
  fitCalibrationContext,
  weightedQuantile,
} from '../../src/scoring/calibration-context';
import { collapseStack, fitCalibrations } from '../../src/scoring/calibration-fit';
import { predictLogit } from '../../src/scoring/logistic';
import { sampleTransaction } from '../support/pipeline';

const at = (occurredAt: string, extra: Record<string, unknown> = {}) =>
  TransactionEvent.parse(sampleTransaction({ occurredAt, ...extra }));

function purchase(category: string, usd: number, occurredAt = '2026-03-01T12:00:00Z') {
  return at(occurredAt, {
    amount: { minor: Math.round(usd * 100), currency: 'USD' },
    merchant: { id: `m-${category}`, name: category, mcc: '5999', country: 'US', category },
  });
}

describe('calibration context', () => {
  it('reads the cardholder age in whole years on the day of the transaction, unknown without a birth date', () => {
    const withBirth = (dateOfBirth: string) => at('2026-03-01T12:00:00Z', { customer: { dateOfBirth } });
    expect(cardholderAge(withBirth('1980-03-01'))).toBe(46);
    expect(cardholderAge(withBirth('1980-03-02'))).toBe(45);
    expect(cardholderAge(withBirth('2030-01-01'))).toBeUndefined();
    expect(cardholderAge(at('2026-03-01T12:00:00Z'))).toBeUndefined();
  });

  it('takes weighted quantiles: a row standing for many moves the median', () => {
    expect(weightedQuantile([1, 2, 3], [1, 1, 1], 0.5)).toBe(2);
    expect(weightedQuantile([1, 2, 3], [10, 1, 1], 0.5)).toBe(1);
  });

  it('compares an amount with its category, and a category never seen with all traffic', () => {
    const events = [5, 6, 7]
      .map((usd) => purchase('grocery', usd))
      .concat([500, 600, 700].map((usd) => purchase('travel', usd)));
    const context = fitCalibrationContext(events);
    expect(context.categoryLogAmount.grocery).toBeCloseTo(Math.log1p(6), 10);
    expect(context.categoryLogAmount.travel).toBeCloseTo(Math.log1p(600), 10);
    const relative = (e: TransactionEvent) =>
      calibrationVector(e, computeCardFeatures([], e), context)[20 + contextInputs.indexOf('amount vs category')];
    // $600 is ordinary in travel and a hundred times the usual grocery purchase.
    expect(relative(purchase('travel', 600))).toBeCloseTo(0, 10);
    expect(relative(purchase('grocery', 600))).toBeCloseTo(Math.log1p(600) - Math.log1p(6), 10);
    expect(relative(purchase('jewelry', 600))).toBeCloseTo(Math.log1p(600) - context.overallLogAmount, 10);
  });

  it('puts the hour on a cycle, so 23:00 sits next to 01:00', () => {
    const context = fitCalibrationContext([purchase('grocery', 5)]);
    const hourInputs = (hour: string) => {
      const e = purchase('grocery', 5, `2026-03-01T${hour}:30:00Z`);
      return calibrationVector(e, computeCardFeatures([], e), context).slice(20, 22);
    };
    const distance = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
    expect(distance(hourInputs('23'), hourInputs('01'))).toBeLessThan(
      distance(hourInputs('23'), hourInputs('21')) + 1e-9,
    );
  });

  it('names every input of a calibration in the order of its weights', () => {
    const context = fitCalibrationContext([purchase('grocery', 5)]);
    const e = purchase('grocery', 5);
    const width = calibrationVector(e, computeCardFeatures([], e), context).length;
    expect(calibrationInputNames({ withModel: true, context })).toHaveLength(width + 1);
    expect(calibrationInputNames({ withModel: false })).toHaveLength(20);
  });
});

describe('fitting the calibration', () => {
  it('collapses the stack into one model that scores exactly as the two stages do', () => {
    const features = { intercept: -2, weights: [0.5, -1.5], mean: [1, 2], scale: [2, 0.5] };
    const stack = { intercept: 0.3, weights: [1.2, 0.7], mean: [-3, 1], scale: [1.5, 2] };
    const collapsed = collapseStack(features, stack);
    for (const [x, model] of [
      [[0.2, 3], -1],
      [[5, -1], 4],
    ] as [number[], number][]) {
      const twoStages = predictLogit(stack, [predictLogit(features, x), model]);
      expect(predictLogit(collapsed, [...x, model])).toBeCloseTo(twoStages, 10);
    }
  });

  it('ships the features alone when the model carries nothing, and reads the model when it does', () => {
    const random = mulberry32(7);
    const rows: LabelledTransaction[] = Array.from({ length: 1500 }, (_, i) => {
      const isFraud = random() < 0.08;
      const usd = isFraud ? 50 + random() * 250 : 5 + random() * 195;
      const event = purchase('shop', usd, new Date(Date.UTC(2026, 2, 1) + i * 60_000).toISOString());
      return { event, features: computeCardFeatures([], event), isFraud, at: i };
    });
    const labels = rows.map((r) => r.isFraud);
    const fit = (probeOof: number[]) => fitCalibrations({ rows, labels, probeOof, folds: 5, log: () => undefined });
    const noise = fit(rows.map(() => random() * 2 - 1));
    expect(noise.modelAdds).toBe(false);
    expect(noise.ablation.featuresOnly.auc).toBeGreaterThan(0.7);
    // A model that knows the label (beside a feature that only mostly does) earns its place.
    const knowing = fit(labels.map((f) => (f ? 4 : -4) + random()));
    expect(knowing.modelAdds).toBe(true);
    expect(knowing.ablation.featuresPlusModel.logLoss).toBeLessThan(knowing.ablation.featuresOnly.logLoss);
  });
});
