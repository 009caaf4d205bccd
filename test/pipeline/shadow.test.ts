/**
 * A challenger scored in shadow on live traffic (real stack): its answers are recorded on the workflow's decision
 * and in metrics, and neither a working nor a failing challenger changes or holds back a published decision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shadow } from '../../src/models/assignment';
import { metrics } from '../../src/observability/metrics';
import type { Decision } from '../../src/schemas/decision';
import { loadPolicyFile } from '../../src/scoring/policy-file';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

describe('shadow scoring', () => {
  let pipeline: TestPipeline;
  let challengerHash: string;

  beforeAll(async () => {
    pipeline = await startTestPipeline({ name: 'shadow', ingest: true, env: { HOSTED_ESCALATION_ENABLED: 'false' } });
    // The challenger: the shipped policy with stricter thresholds, on the same model.
    const shipped = loadPolicyFile(pipeline.config.scoringPolicy.file).policy;
    const thresholds = { ...shipped.thresholds, reviewAt: shipped.thresholds.reviewAt / 2 };
    const challenger = { ...shipped, name: 'shadow-challenger', thresholds };
    challengerHash = await pipeline.assignments.storePolicy(`${JSON.stringify(challenger, null, 1)}\n`);
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  async function decide(count: number, already: number): Promise<Array<{ published: Decision; result: Decision }>> {
    const events = Array.from({ length: count }, () => sampleTransaction());
    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));
    const published = (await pipeline.waitForDecisions(already + count, 120_000)).slice(already);
    return Promise.all(
      published.map(async (d) => ({
        published: d,
        result: (await pipeline.client.workflow.getHandle(d.workflowId).result()) as Decision,
      })),
    );
  }

  it('records the challenger beside every decision, and the published decision is the champion alone', async () => {
    const model = pipeline.config.localModel.model;
    await pipeline.assignments.update((a) => shadow(a, { model, policyHash: challengerHash }));
    const agreedBefore = (await metrics.shadowScores.get()).values.reduce((s, v) => s + v.value, 0);
    const decided = await decide(6, 0);
    for (const { published, result } of decided) {
      expect(published.shadow).toBeUndefined();
      expect(published.policyHash).toBe(pipeline.settings.policyHash);
      expect(result.shadow).toMatchObject({ model, policyHash: challengerHash, outcome: 'ok' });
      expect(result.shadow!.riskScore).toBeGreaterThanOrEqual(0);
      // Same model, same calibration: the same probability, judged by the challenger's own thresholds.
      expect(Math.abs(result.shadow!.riskScore! - published.riskScore)).toBeLessThan(0.05);
      expect({ ...result, shadow: undefined }).toEqual({ ...published, shadow: undefined });
    }
    const agreedAfter = (await metrics.shadowScores.get()).values.reduce((s, v) => s + v.value, 0);
    expect(agreedAfter - agreedBefore).toBe(6);
  }, 300_000);

  it('a failing challenger is recorded as failed and costs the champion nothing', async () => {
    await pipeline.assignments.update((a) =>
      shadow(a, { model: 'fraudflow-no-such-model:latest', policyHash: challengerHash }),
    );
    const decided = await decide(4, 6);
    for (const { published, result } of decided) {
      expect(published.path).toBe('local');
      expect(published.modelCalls[0]).toMatchObject({ model: pipeline.config.localModel.model, outcome: 'ok' });
      expect(result.shadow).toMatchObject({ model: 'fraudflow-no-such-model:latest', outcome: 'error' });
      expect(result.shadow!.error).toMatch(/no-such-model|not found/i);
    }
    await pipeline.assignments.update((a) => shadow(a, null));
  }, 300_000);
});
