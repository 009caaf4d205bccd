import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/kafka/client';
import { partitionLag } from '../../src/kafka/stall-watchdog';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

/**
 * The running-workflow bound on the real stack. Without a local-scoring worker no workflow can finish, so the bound
 * is reached and stays reached until the test ends workflows itself.
 */
describe('running-workflow bound', () => {
  const bound = 5;
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startTestPipeline({
      name: 'bound',
      ingest: true,
      localWorker: false,
      env: { HOSTED_ESCALATION_ENABLED: 'false', INGEST_MAX_RUNNING_WORKFLOWS: String(bound) },
    });
  });
  afterAll(async () => pipeline?.close());

  const running = async () =>
    (
      await pipeline.client.workflow.count(
        `TaskQueue = '${pipeline.settings.taskQueues.orchestration}' AND WorkflowType = 'scoreTransactionWorkflow' AND ExecutionStatus = 'Running'`,
      )
    ).count;

  it('starts no more workflows than the bound, keeps the rest in Kafka, and goes on as workflows end', async () => {
    const events = Array.from({ length: 20 }, () => sampleTransaction());
    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));

    const samples: number[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (pipeline.ingest?.counters.started ?? 0) < bound) {
      samples.push(await running());
      await new Promise((r) => setTimeout(r, 200));
    }
    // Holding: for several seconds nothing more starts, and the backlog waits in Kafka.
    for (let i = 0; i < 20; i++) {
      samples.push(await running());
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(pipeline.ingest?.counters.started).toBe(bound);
    expect(Math.max(...samples)).toBe(bound);
    const admin = createKafka(pipeline.config, 'test-bound-admin').admin();
    await admin.connect();
    const lag = await partitionLag(admin, pipeline.config.ingest.groupId, pipeline.topics.transactions);
    await admin.disconnect();
    expect([...lag.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(events.length - bound);

    // Ending the running workflows frees the bound: the next ones start, never more than the bound at once.
    // Visibility can lag under load: a pass may miss a just-started workflow, so the pass repeats until the
    // next ones have started.
    const terminateRunning = async () => {
      for await (const wf of pipeline.client.workflow.list({
        query: `TaskQueue = '${pipeline.settings.taskQueues.orchestration}' AND ExecutionStatus = 'Running'`,
      })) {
        await pipeline.client.workflow
          .getHandle(wf.workflowId)
          .terminate('test frees the bound')
          .catch(() => undefined);
      }
    };
    for (let round = 0; round < 3; round++) {
      const target = bound * (round + 2);
      const until = Date.now() + 60_000;
      let lastPass = 0;
      while (Date.now() < until && (pipeline.ingest?.counters.started ?? 0) < target) {
        if (Date.now() - lastPass > 3_000) {
          await terminateRunning();
          lastPass = Date.now();
        }
        samples.push(await running());
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(pipeline.ingest?.counters.started).toBeGreaterThanOrEqual(target);
    }
    samples.push(await running());
    expect(Math.max(...samples)).toBeLessThanOrEqual(bound);
  });
});
