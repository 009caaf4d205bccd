import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/observability/metrics';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

async function restartsMetric(): Promise<number> {
  const metric = await registry.getSingleMetric('fraudflow_ingest_consumer_restarts_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

/**
 * A consumer that stops receiving: paused behind the ingest's back, it fetches nothing while its partitions fill
 * up, as a kafkajs consumer stuck after a broker restart does. The ingest must notice and replace it.
 */
describe('stalled consumer', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startTestPipeline({
      name: 'stall',
      ingest: true,
      env: { HOSTED_ESCALATION_ENABLED: 'false', INGEST_STALL_TIMEOUT_MS: '4000' },
    });
  });
  afterAll(async () => pipeline?.close());

  it('is restarted, counted in metrics, and every event is still decided', async () => {
    const ingest = pipeline.ingest;
    if (!ingest) throw new Error('the pipeline has no ingest');
    const first = sampleTransaction();
    await pipeline.send([{ key: first.transactionId, value: first }]);
    await pipeline.waitForDecisions(1);
    expect(ingest.counters.consumerRestarts).toBe(0);
    const metricBefore = await restartsMetric();

    const stalled = ingest.consumer();
    stalled.pause([{ topic: pipeline.topics.transactions }]);
    const events = Array.from({ length: 6 }, () => sampleTransaction());
    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));

    const decisions = await pipeline.waitForDecisions(1 + events.length, 120_000);
    expect(ingest.counters.consumerRestarts).toBeGreaterThanOrEqual(1);
    expect(await restartsMetric()).toBeGreaterThanOrEqual(metricBefore + 1);
    expect(ingest.consumer()).not.toBe(stalled);
    const decided = new Set(decisions.map((d) => d.transactionId));
    for (const e of events) expect(decided.has(e.transactionId)).toBe(true);
  });
});
