/**
 * `fraudflow tune` end to end on the real stack: a labelled replay prepared through Temporal, the kept rows
 * embedded by the local model on Ollama (several to a request), the hosted stand-in measured, and a policy written
 * whose operating point is monotone, whose figures are weighted back when legitimate rows are sampled, and which
 * buys no band from a hosted tier without measured lift.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplayCommand } from '../../src/cli/replay';
import { runTuneCommand } from '../../src/cli/tune';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { loadPolicyFile } from '../../src/scoring/policy-file';
import { tuningDistributionOf } from '../../src/scoring/score-distribution';
import { defaultTuningLimits } from '../../src/scoring/tuning';

describe('fraudflow tune', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-tune-'));
  let config: Config;

  beforeAll(() => {
    config = loadConfig({
      ...process.env,
      REPLAY_DIR: path.join(tmp, 'replays'),
      TASK_QUEUE_PREFIX: `test-tune-${randomUUID().slice(0, 8)}`,
      METRICS_PORT: '0',
      SDK_METRICS_PORT: '0',
    });
  });

  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('fits a monotone policy on every fraud and a weighted share of legitimate rows, and says what it measured', async () => {
    const generator = createTransactionGenerator({ seed: 23, fraudShare: 0.1, idPrefix: `tune-${randomUUID()}` });
    const file = path.join(tmp, 'history.jsonl');
    fs.writeFileSync(file, Array.from({ length: 600 }, () => JSON.stringify(generator.next())).join('\n') + '\n');
    const replay = await runReplayCommand(config, {
      source: file,
      chunkSize: 300,
      chunkParallelism: 1,
      prepareOnly: true,
      workers: true,
      log: () => undefined,
    });
    const lines: string[] = [];
    const out = path.join(tmp, 'policy.json');
    const policy = await runTuneCommand(config, {
      replayId: replay.replayId,
      out,
      limits: defaultTuningLimits,
      hostedSample: 8,
      probeL2: 30,
      folds: 3,
      legitSample: 0.25,
      log: (l) => lines.push(l),
    });

    const p = policy.provenance;
    const frauds = Number(p.frauds);
    // Every fraud kept, a quarter of the legitimate rows, and the kept rows stand for all 600.
    expect(frauds).toBeGreaterThanOrEqual(40);
    expect(Number(p.rows) - frauds).toBe(Math.round((600 - frauds) * 0.25));
    expect(p.standsFor).toBe(600);
    expect(p.legitSample).toBe(0.25);
    expect(policy.timings.rowsEmbedded).toBe(Number(p.rows));
    expect(lines.some((l) => /^embedding: \d+\/\d+ \(100\.0%\)/.test(l))).toBe(true);
    expect(lines.some((l) => /^fitting the probe: 4\/4/.test(l))).toBe(true);

    // A monotone point; a band, if any, sits next to a threshold and may only raise the first pass's outcome.
    const t = policy.thresholds;
    expect(t.reviewAt).toBeLessThanOrEqual(t.declineAt);
    expect(t.hosted.mode).toBe('raises');
    if (t.escalation) expect([t.reviewAt, t.declineAt]).toContain(t.escalation.high);
    // The stand-in (the same 135M model generating JSON) is measured; with 4 + 4 answers its lift interval is wide,
    // and no band is bought unless the interval lies above nil.
    const lift = p.hostedLift as { flag: { low: number; positive: boolean } } | null;
    expect(lift).not.toBeNull();
    if (!lift!.flag.positive) expect(t.escalation).toBeNull();
    // Expected figures come with bootstrap intervals around them, and few frauds are warned about.
    const expected = p.expected as { recall: number };
    const intervals = p.expectedIntervals as { recall: { low: number; high: number } };
    expect(intervals.recall.low).toBeLessThanOrEqual(expected.recall);
    expect(intervals.recall.high).toBeGreaterThanOrEqual(expected.recall);
    expect((p.warnings as string[]).some((w) => /frauds in the tuning slice/.test(w))).toBe(frauds < 50);
    // The calibration reads the model only where it lowers the out-of-fold log loss over the features alone, and
    // reads the transaction's context (its reference fitted on the tuning rows) either way.
    const ablation = p.ablation as Record<'featuresOnly' | 'featuresPlusModel', { logLoss: number }>;
    expect(policy.calibration.withModel).toBe(ablation.featuresPlusModel.logLoss < ablation.featuresOnly.logLoss);
    expect(p.modelAdds).toBe(policy.calibration.withModel);
    expect(Object.keys(policy.calibration.context?.categoryLogAmount ?? {}).length).toBeGreaterThan(3);
    // The tuning distribution of the out-of-fold probabilities is recorded for score drift (deciles, weighted).
    const distribution = tuningDistributionOf(p);
    expect(distribution?.edges.length).toBeGreaterThanOrEqual(3);
    expect(distribution?.shares.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 3);
    // The written file is the policy returned, and loads as a scoring policy.
    expect(loadPolicyFile(out).policy.thresholds).toEqual(t);
  });
});
