import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generator/synthetic';
import { differenceVerdict, pairedDifference } from '../../src/scoring/paired-bootstrap';
import { rocAuc } from '../../src/scoring/tuning';
import { differenceLine } from '../../src/models/held-out-comparison';

/** 400 rows, 40 frauds; `informative` ranks frauds above legitimate rows with some overlap, `noise` not at all. */
function heldOut() {
  const random = mulberry32(7);
  const labels = Array.from({ length: 400 }, (_, i) => i % 10 === 0);
  const informative = labels.map((y) => (y ? 0.6 : 0.4) + random() * 0.4 - 0.2);
  const noise = labels.map(() => random());
  return { labels, informative, noise };
}

describe('pairedDifference', () => {
  it('finds no difference between a model and itself', () => {
    const { labels, informative } = heldOut();
    const d = pairedDifference(labels, { champion: informative, challenger: informative }, rocAuc);
    expect(d).toEqual({ estimate: 0, low: 0, high: 0, level: 0.95, resamples: 1000 });
    expect(differenceVerdict(d)).toBe('within noise');
  });

  it('calls a clearly better challenger a gain and a clearly worse one a loss', () => {
    const { labels, informative, noise } = heldOut();
    const gain = pairedDifference(labels, { champion: noise, challenger: informative }, rocAuc);
    expect(gain.estimate).toBeCloseTo(rocAuc(informative, labels) - rocAuc(noise, labels), 10);
    expect(gain.low).toBeGreaterThan(0);
    expect(gain.low).toBeLessThan(gain.estimate);
    expect(gain.high).toBeGreaterThan(gain.estimate);
    expect(differenceVerdict(gain)).toBe('a clear gain');
    const loss = pairedDifference(labels, { champion: informative, challenger: noise }, rocAuc);
    expect(loss.high).toBeLessThan(0);
    expect(differenceVerdict(loss)).toBe('a clear loss');
  });

  it('calls a difference of one fraud among few within noise', () => {
    const { labels, informative } = heldOut();
    // The challenger ranks one fraud at the bottom: a small loss an interval over 40 frauds cannot rule out.
    const firstFraud = labels.indexOf(true);
    const challenger = informative.map((v, i) => (i === firstFraud ? -1 : v));
    const d = pairedDifference(labels, { champion: informative, challenger }, rocAuc);
    expect(d.estimate).toBeLessThan(0);
    expect(d.low).toBeLessThan(d.estimate);
    expect(d.high).toBeGreaterThanOrEqual(0);
    expect(differenceVerdict(d)).toBe('within noise');
  });

  it('is reproducible by its seed, keeps every resample’s fraud count, and takes its options', () => {
    const { labels, informative, noise } = heldOut();
    const scores = { champion: noise, challenger: informative };
    const opts = { resamples: 200, level: 0.9, seed: 3 };
    expect(pairedDifference(labels, scores, rocAuc, opts)).toEqual(pairedDifference(labels, scores, rocAuc, opts));
    expect(pairedDifference(labels, scores, rocAuc, opts)).not.toEqual(
      pairedDifference(labels, scores, rocAuc, { ...opts, seed: 4 }),
    );
    const fraudCounts = new Set<number>();
    const rowCounts = new Set<number>();
    const d = pairedDifference(
      labels,
      scores,
      (s, y) => {
        fraudCounts.add(y.filter(Boolean).length);
        rowCounts.add(s.length);
        return 0;
      },
      opts,
    );
    expect([...fraudCounts]).toEqual([40]);
    expect([...rowCounts]).toEqual([400]);
    expect(d).toMatchObject({ level: 0.9, resamples: 200 });
  });

  it('refuses scores that do not cover every labelled row', () => {
    const { labels, informative } = heldOut();
    expect(() => pairedDifference(labels, { champion: informative, challenger: informative.slice(1) }, rocAuc)).toThrow(
      /every labelled row/,
    );
  });
});

describe('differenceLine', () => {
  it('prints the estimate, the interval and the verdict', () => {
    const line = differenceLine('AUC', { estimate: 0.0028, low: -0.0101, high: 0.016, level: 0.95, resamples: 1000 });
    expect(line).toBe(
      'fine-tuned - base, AUC: +0.0028, 95% interval [-0.0101, +0.0160] (1000 paired resamples): within noise',
    );
  });
});
