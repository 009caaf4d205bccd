import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { statusQuery } from '../../workflows';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startScoring, startTestPipeline } from '../support/pipeline';
import { publishedDecision } from '../../src/temporal/published-decision';
import { expectReceiptOf } from '../support/receipt';

describe('scoreTransactionWorkflow on the real dev server', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    // No hosted provider and escalation off: the real local model's answer decides.
    pipeline = await startTestPipeline({ name: 'wf-roundtrip', env: { HOSTED_ESCALATION_ENABLED: 'false' } });
  });
  afterAll(async () => pipeline?.close());

  it('scores a transaction with the real local model, publishes and returns the decision', async () => {
    const event = TransactionEvent.parse(sampleTransaction());
    const handle = await startScoring(pipeline, event);
    const receipt = await handle.result();
    const decision = await publishedDecision(pipeline.client, handle.workflowId);
    expectReceiptOf(receipt, decision, pipeline.settings.decisionsTopic);

    expect(decision.transactionId).toBe(event.transactionId);
    expect(decision.workflowId).toBe(`score-${event.transactionId}`);
    expect(decision.path).toBe('local');
    expect(decision.modelCalls).toHaveLength(1);
    expect(decision.modelCalls[0]).toMatchObject({
      provider: 'local',
      tier: 'local',
      outcome: 'ok',
      model: pipeline.config.localModel.model,
    });
    expect(decision.modelCalls[0]?.inputTokens).toBeGreaterThan(0);
    // Reproducibility: the weights' digest as Ollama reports it.
    const tags = (await (await fetch(`http://${pipeline.config.env.OLLAMA_HOST}/api/tags`)).json()) as {
      models: Array<{ name: string; digest: string }>;
    };
    const digest = tags.models.find((m) => m.name === pipeline.config.localModel.model)?.digest;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(decision.modelCalls[0]?.modelDigest).toBe(digest);
    expect(decision.riskScore).toBe(decision.modelCalls[0]?.riskScore);

    const status = await handle.query(statusQuery);
    expect(status.stage).toBe('done');
    expect(status.decision?.decision).toBe(decision.decision);

    // The decision deadline rides on the calls' schedule-to-close timeouts: no workflow timer per transaction, and the
    // decision's search attributes go out with the completion (one visibility write fewer).
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(0);
    const upsert = events.findIndex((e) => e.upsertWorkflowSearchAttributesEventAttributes);
    expect(upsert).toBeGreaterThan(0);
    expect(events[upsert + 1]?.workflowExecutionCompletedEventAttributes).toBeDefined();

    const [published] = await pipeline.waitForDecisions(1);
    expect(published).toEqual(decision);
  });
});
