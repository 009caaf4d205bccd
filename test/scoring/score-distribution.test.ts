import { describe, expect, it } from 'vitest';
import {
  binCounts,
  binOf,
  populationStabilityIndex,
  scoreDistributionOf,
  tuningDistributionOf,
} from '../../src/scoring/score-distribution';
import { loadPolicyFile } from '../../src/scoring/policy-file';

describe('the tuning score distribution', () => {
  it('puts edges at the deciles and a tenth of the rows in each bin', () => {
    const probabilities = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    const d = scoreDistributionOf(probabilities);
    expect(d?.edges).toHaveLength(9);
    expect(d?.edges[0]).toBeCloseTo(0.1, 2);
    for (const share of d?.shares ?? []) expect(share).toBeCloseTo(0.1, 2);
  });

  it('weights rows, and merges edges that ties make equal', () => {
    const d = scoreDistributionOf([0.01, 0.01, 0.01, 0.9], [1, 1, 1, 7]);
    expect(d).toEqual({ edges: [0.01, 0.9], shares: [0, 0.3, 0.7] });
  });

  it('bins a probability by how many edges are at or below it', () => {
    expect([0, 0.1, 0.2, 0.5, 1].map((p) => binOf([0.1, 0.5], p))).toEqual([0, 1, 1, 2, 2]);
    expect(binCounts([0.1, 0.5], [0.05, 0.3, 0.7, 0.8])).toEqual([1, 1, 2]);
  });
});

describe('population stability index', () => {
  it('is 0 for the same distribution and grows with the shift', () => {
    expect(populationStabilityIndex([0.5, 0.5], [50, 50])).toBe(0);
    const small = populationStabilityIndex([0.5, 0.5], [55, 45]) ?? 0;
    const large = populationStabilityIndex([0.5, 0.5], [90, 10]) ?? 0;
    // (0.55 − 0.5)·ln(0.55/0.5) + (0.45 − 0.5)·ln(0.45/0.5) = 0.05·ln(0.55/0.45)
    expect(small).toBeCloseTo(0.05 * Math.log(0.55 / 0.45), 10);
    expect(large).toBeGreaterThan(0.2);
    expect(small).toBeLessThan(large);
  });

  it('floors empty bins instead of going infinite, and is undefined without live scores', () => {
    expect(Number.isFinite(populationStabilityIndex([0.5, 0.5], [100, 0]))).toBe(true);
    expect(populationStabilityIndex([0.5, 0.5], [0, 0])).toBeUndefined();
  });
});

describe('reading it from a policy file', () => {
  it('falls back to none for a policy tuned before it was recorded, or an invalid record', () => {
    expect(tuningDistributionOf(loadPolicyFile().policy.provenance)).toBeUndefined();
    expect(tuningDistributionOf({ scoreDistribution: { edges: [0.5, 0.2], shares: [0.3, 0.3, 0.4] } })).toBeUndefined();
    expect(tuningDistributionOf({ scoreDistribution: { edges: [0.2], shares: [0.6, 0.4] } })).toEqual({
      edges: [0.2],
      shares: [0.6, 0.4],
    });
  });
});
