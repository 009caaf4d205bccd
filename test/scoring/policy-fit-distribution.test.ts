/**
 * The tuning score distribution a fitted policy records for score drift: the deciles of its out-of-fold
 * probabilities, on rows from the synthetic generator with stand-in embeddings (no model needed).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import type { LabelledTransaction } from '../../src/models/training-set';
import { fitScoringPolicy } from '../../src/scoring/policy-fit';
import { tuningDistributionOf } from '../../src/scoring/score-distribution';
import { defaultTuningLimits } from '../../src/scoring/tuning';

describe('a fitted policy', () => {
  it("records its out-of-fold probabilities' deciles in provenance.scoreDistribution", async () => {
    const generator = createTransactionGenerator({ seed: 5, fraudShare: 0.2, idPrefix: 'fit-distribution' });
    const history = new ReplayCardHistory();
    const rows: LabelledTransaction[] = Array.from({ length: 400 }, () => {
      const { label, ...event } = generator.next();
      return {
        event,
        features: history.featuresFor(event),
        isFraud: label?.isFraud === true,
        at: Date.parse(event.occurredAt),
      };
    });
    // A stand-in embedding that carries some of the label, deterministically.
    const embeddings = rows.map((r, i) => [(r.isFraud ? 1 : 0) + Math.sin(i) * 0.8, Math.cos(i * 1.7), (i % 7) / 7]);
    const policy = await fitScoringPolicy(
      {
        embedder: { model: 'stand-in' },
        rows,
        embeddings,
        rules: loadConfig().policy.rules,
        hostedThresholds: { reviewAt: 0.5, declineAt: 0.8 },
        measureHosted: () => Promise.resolve(undefined),
      },
      { name: 't', limits: defaultTuningLimits, probeL2: 1, folds: 3, command: 'test', provenance: {}, log: () => {} },
    );
    const distribution = tuningDistributionOf(policy.provenance);
    expect(distribution?.edges.length).toBeGreaterThanOrEqual(5);
    expect(distribution?.shares.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
    // Deciles: no bin holds much more than a tenth of the rows unless ties put them there.
    expect(Math.max(...(distribution?.shares ?? [1]))).toBeLessThan(0.3);
  });
});
