import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generator/synthetic';
import { hostedLift, rateDifference, wilsonInterval } from '../../src/scoring/hosted-lift';
import {
  OperatingPointEvaluator,
  bootstrapIntervals,
  candidateCuts,
  chooseOperatingPoint,
} from '../../src/scoring/operating-point';
import type { HostedRates, OperatingPoint, TuningRow } from '../../src/scoring/tuning';
import { defaultTuningLimits, simulate } from '../../src/scoring/tuning';
import { tuningRow } from '../support/tuning-rows';

const row = tuningRow;

/** A noisy slice: legitimate scores low, frauds higher, some rules, some weights. */
function noisySlice(seed: number, legit = 2000, frauds = 60): TuningRow[] {
  const random = mulberry32(seed);
  const rules = () => {
    const r = random();
    return {
      ruleFloor: r < 0.003 ? 'decline' : r < 0.02 ? 'review' : 'approve',
      ruleEscalates: random() < 0.03,
    } as const;
  };
  return [
    ...Array.from({ length: legit }, () =>
      row(false, random() ** 3, { ...rules(), weight: 1 + Math.floor(random() * 3) }),
    ),
    ...Array.from({ length: frauds }, () => row(true, 1 - random() ** 2 * 0.9, rules())),
  ];
}

const measured = (fraudFlags: number, fraudN: number, legitFlags: number, legitN: number): HostedRates => ({
  fraud: { flag: fraudFlags / fraudN, decline: fraudFlags / fraudN },
  legit: { flag: legitFlags / legitN, decline: legitFlags / legitN },
  sampled: { fraud: fraudN, legit: legitN },
});

describe('the operating point evaluator', () => {
  it('gives the same figures as simulating row by row, with weights, rules, bands and a hosted tier', () => {
    const rows = noisySlice(3);
    const hosted = measured(18, 24, 3, 36);
    const random = mulberry32(9);
    const cuts = candidateCuts(rows, 12);
    const evaluator = new OperatingPointEvaluator(rows, hosted);
    for (let k = 0; k < 200; k++) {
      const pick = () => cuts[Math.floor(random() * cuts.length)]!;
      const [a, b, c] = [pick(), pick(), pick()].sort((x, y) => x - y) as [number, number, number];
      const point: OperatingPoint = {
        reviewAt: b,
        declineAt: random() < 0.2 ? 1 : c,
        escalation: random() < 0.3 ? null : { low: a, high: b },
        hostedMode: random() < 0.5 ? 'raises' : 'decides',
      };
      const fast = evaluator.figures(point);
      const slow = simulate(rows, point, hosted);
      for (const key of Object.keys(slow) as Array<keyof typeof slow>) expect(fast[key]).toBeCloseTo(slow[key], 9);
    }
  });
});

describe('choosing an operating point', () => {
  it('is monotone: approve < review < decline, one band next to a threshold, hosted answers only raise', () => {
    const bands: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      // Frauds the first pass scores in the middle of the legitimate traffic: where a good hosted tier pays.
      const hidden = Array.from({ length: 30 }, (_, i) => row(true, 0.55 + (seed * i) / 1000));
      const rows = [...noisySlice(seed), ...hidden];
      const { point } = chooseOperatingPoint(
        rows,
        { ...defaultTuningLimits, maxEscalation: 0.3 },
        measured(20, 24, 2, 36),
      );
      expect(point.reviewAt).toBeLessThanOrEqual(point.declineAt);
      expect(point.hostedMode).toBe('raises');
      if (point.escalation) {
        expect(point.escalation.low).toBeLessThan(point.escalation.high);
        expect([point.reviewAt, point.declineAt]).toContain(point.escalation.high);
        bands.push(seed);
      }
    }
    // A tier this good is worth a band on these slices: the check above is not vacuous.
    expect(bands.length).toBeGreaterThan(0);
  });

  it('never escalates to a tier with no measured lift, and says so', () => {
    const rows = noisySlice(7);
    const flagsNothing = chooseOperatingPoint(rows, defaultTuningLimits, measured(0, 24, 0, 36));
    expect(flagsNothing.point.escalation).toBeNull();
    expect(flagsNothing.warnings.join(' ')).toMatch(/no measured lift/);
    // 3 of 24 frauds against 2 of 36 legitimate: the interval of the difference includes 0.
    const noise = chooseOperatingPoint(rows, defaultTuningLimits, measured(3, 24, 2, 36));
    expect(noise.hostedLift?.flag.low).toBeLessThan(0);
    expect(noise.point.escalation).toBeNull();
  });

  it('does not set a decline threshold fewer than the minimum of frauds lie above, and says when it cannot tell', () => {
    const rows: TuningRow[] = [
      ...Array.from({ length: 1000 }, (_, i) => row(false, i / 1000)),
      ...[0.999, 0.9991, 0.9992].map((p) => row(true, p)),
      ...Array.from({ length: 20 }, (_, i) => row(true, 0.5 + i / 100)),
    ];
    const tuned = chooseOperatingPoint(rows, { ...defaultTuningLimits, minFraudsPerThreshold: 5 });
    const above = (p: number) => rows.filter((r) => r.isFraud && r.probability >= p).length;
    if (tuned.point.declineAt < 1) expect(above(tuned.point.declineAt)).toBeGreaterThanOrEqual(5);
    const strict = chooseOperatingPoint(rows, { ...defaultTuningLimits, minFraudsPerThreshold: 500 });
    expect(strict.feasible).toBe(0);
    expect(strict.warnings.join(' ')).toMatch(/cannot tell/);
  });

  it('warns when the slice has fewer than 50 frauds and gives intervals around the expected figures', () => {
    const few = chooseOperatingPoint(noisySlice(11, 2000, 30), defaultTuningLimits);
    expect(few.warnings.join(' ')).toMatch(/only 30 frauds/);
    expect(few.intervals.recall.low).toBeLessThanOrEqual(few.figures.recall);
    expect(few.intervals.recall.high).toBeGreaterThanOrEqual(few.figures.recall);
    expect(few.intervals.recall.high - few.intervals.recall.low).toBeGreaterThan(0.05);
    const many = chooseOperatingPoint(noisySlice(11, 2000, 120), defaultTuningLimits);
    expect(many.warnings.join(' ')).not.toMatch(/frauds in the tuning slice/);
  });

  it('bootstrap intervals are seeded: the same rows give the same intervals', () => {
    const rows = noisySlice(5);
    const point: OperatingPoint = { reviewAt: 0.5, declineAt: 0.9, escalation: null };
    expect(bootstrapIntervals(rows, point)).toEqual(bootstrapIntervals(rows, point));
  });
});

describe("the hosted tier's lift", () => {
  it('Wilson and Newcombe intervals match their published values', () => {
    // Newcombe (1998), example (a): 56/70 − 48/80 = 0.2, hybrid score interval 0.0524 to 0.3339.
    const d = rateDifference(56, 70, 48, 80);
    expect(d.estimate).toBeCloseTo(0.2, 6);
    expect(d.low).toBeCloseTo(0.0524, 3);
    expect(d.high).toBeCloseTo(0.3339, 3);
    expect(d.positive).toBe(true);
    const w = wilsonInterval(0, 24);
    expect(w.low).toBe(0);
    expect(w.high).toBeCloseTo(0.138, 3);
  });

  it('a tier that flags nothing has no lift', () => {
    const lift = hostedLift(measured(0, 24, 0, 36));
    expect(lift.flag.estimate).toBe(0);
    expect(lift.flag.positive).toBe(false);
  });
});
