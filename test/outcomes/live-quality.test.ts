import { describe, expect, it } from 'vitest';
import type { HourlyTally } from '../../src/outcomes/live-quality';
import {
  confusionAt,
  emptyCells,
  hourMs,
  hourOf,
  policyQuality,
  qualityRates,
  windowTally,
} from '../../src/outcomes/live-quality';
import { qualityTable } from '../../src/outcomes/quality-table';
import { outcomeCountNames } from '../../src/outcomes/store';
import type { OutcomeCounts } from '../../src/outcomes/store';

const now = Date.parse('2026-12-07T12:30:00Z');
const day = 24 * hourMs;

const tally = (ageMs: number, cells: HourlyTally['cells'], delay = 0): HourlyTally => ({
  hourMs: hourOf(now - ageMs),
  cells,
  labelDelaySeconds: delay,
});

describe('rolling windows', () => {
  const buckets = [
    tally(1 * hourMs, { 'decline|fraud': 2, 'approve|legitimate': 10 }, 600),
    tally(3 * day, { 'review|fraud': 1, 'review|legitimate': 4 }, 500),
    tally(20 * day, { 'approve|fraud': 3 }, 900),
    tally(40 * day, { 'decline|legitimate': 100 }),
  ];

  it('each window sums the hourly buckets it covers, and none older than 30 days', () => {
    expect(windowTally(buckets, now, day).labelled).toBe(12);
    expect(windowTally(buckets, now, 7 * day).labelled).toBe(17);
    const month = windowTally(buckets, now, 30 * day);
    expect(month.labelled).toBe(20);
    expect(month.cells['decline|legitimate']).toBe(0);
    expect(month.labelDelaySeconds).toBe(2000);
  });
});

describe('rates at decline and at review-or-decline', () => {
  const cells = {
    ...emptyCells(),
    'approve|fraud': 1,
    'approve|legitimate': 90,
    'review|fraud': 2,
    'review|legitimate': 5,
    'decline|fraud': 3,
    'decline|legitimate': 1,
  };

  it('decline: only declines are flagged', () => {
    const m = confusionAt(cells, 'decline');
    expect(m).toEqual({ truePositives: 3, falsePositives: 1, falseNegatives: 3, trueNegatives: 95 });
    expect(qualityRates(m)).toEqual({ precision: 0.75, recall: 0.5, falsePositiveRate: 1 / 96 });
  });

  it('review or decline: reviews are flagged too', () => {
    const m = confusionAt(cells, 'review_or_decline');
    expect(m).toEqual({ truePositives: 5, falsePositives: 6, falseNegatives: 1, trueNegatives: 90 });
    expect(qualityRates(m)).toEqual({ precision: 5 / 11, recall: 5 / 6, falsePositiveRate: 6 / 96 });
  });

  it('a rate without a denominator is undefined, never 0', () => {
    expect(qualityRates(confusionAt({ ...emptyCells(), 'approve|legitimate': 4 }, 'decline'))).toEqual({
      precision: undefined,
      recall: undefined,
      falsePositiveRate: 0,
    });
  });
});

describe('policy quality', () => {
  const reference = { edges: [0.1, 0.5], shares: [0.5, 0.3, 0.2] };
  const counts = Object.fromEntries(outcomeCountNames.map((n) => [n, 0])) as OutcomeCounts;

  it('gives every window, a mean label delay, and a drift warning past the threshold', () => {
    const windows = policyQuality(
      'p1',
      [tally(hourMs, { 'decline|fraud': 1, 'approve|legitimate': 1 }, 7200)],
      [{ hourMs: hourOf(now), counts: [10, 30, 160] }],
      reference,
      { nowMs: now, psiWarning: 0.2 },
    );
    expect(windows.map((w) => w.window)).toEqual(['1d', '7d', '30d']);
    const [oneDay] = windows;
    expect(oneDay?.meanLabelDelaySeconds).toBe(3600);
    expect(oneDay?.rates.decline).toEqual({ precision: 1, recall: 1, falsePositiveRate: 0 });
    const shares = [0.05, 0.15, 0.8];
    const psi = shares.reduce((s, a, i) => s + (a - reference.shares[i]!) * Math.log(a / reference.shares[i]!), 0);
    expect(oneDay?.drift.psi).toBeCloseTo(psi, 10);
    expect(oneDay?.drift).toMatchObject({ scored: 200, warning: true });

    const table = qualityTable({ windows, counts, awaitingDecision: 0, driftMeasured: ['p1'] }, 0.2);
    expect(table).toMatch(/^p1\s+1d\s+2\s+1\s+100\.0%/m);
    expect(table).toContain(`WARNING: score drift on p1 over 1d: PSI ${psi.toFixed(3)} > 0.2`);
  });

  it('no PSI without a reference or below the minimum sample', () => {
    const bins = [{ hourMs: hourOf(now), counts: [5, 3, 2] }];
    expect(policyQuality('p', [], bins, undefined, { nowMs: now, psiWarning: 0.2 })[0]?.drift.psi).toBeUndefined();
    const few = policyQuality('p', [], bins, reference, { nowMs: now, psiWarning: 0.2 })[0]?.drift;
    expect(few).toEqual({ scored: 10, psi: undefined, warning: false });
  });
});
