import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter } from '../../src/schemas/dead-letter';
import { Decision } from '../../src/schemas/decision';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';
import { publishedDecision } from '../../src/temporal/published-decision';
import { expectReceiptOf } from '../support/receipt';

const repoRoot = path.resolve(__dirname, '..', '..');
const fraudflow = (args: string[]) =>
  spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['src/cli/main.ts', ...args], {
    cwd: repoRoot,
    env: process.env,
    encoding: 'utf8',
    timeout: 90_000,
  });

/** The full streaming path on the real stack: Kafka → ingest → Temporal → real local model → Kafka. */
describe('streaming scoring', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startTestPipeline({
      name: 'streaming',
      ingest: true,
      env: { HOSTED_ESCALATION_ENABLED: 'false' },
    });
  });
  afterAll(async () => pipeline?.close());

  it('scores one transaction end to end with the real local model and publishes every contract field', async () => {
    const event = sampleTransaction();
    await pipeline.send([{ key: event.transactionId, value: event }]);
    const [raw] = await pipeline.waitForDecisions(1);

    const decision = Decision.strict().parse(raw);
    expect(decision.transactionId).toBe(event.transactionId);
    expect(decision.workflowId).toBe(`score-${event.transactionId}`);
    expect(['approve', 'review', 'decline']).toContain(decision.decision);
    expect(decision.path).toBe('local');
    expect(decision.source).toMatchObject({ kind: 'kafka', topic: pipeline.topics.transactions });
    expect(decision.modelCalls[0]).toMatchObject({
      provider: 'local',
      outcome: 'ok',
      model: pipeline.config.localModel.model,
    });
    expect(decision.policyHash).toBe(pipeline.settings.policyHash);
    expect(Date.parse(decision.decidedAt)).not.toBeNaN();

    // The decision is published as the workflow's last step; its result is the receipt, and the decision is in its
    // history once, as the publish's input.
    const handle = pipeline.client.workflow.getHandle(decision.workflowId);
    expectReceiptOf(await handle.result(), decision, pipeline.config.kafka.topics.decisions);
    expect(await publishedDecision(pipeline.client, decision.workflowId)).toEqual(decision);
    const described = await handle.describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.typedSearchAttributes.getAll().find((p) => p.key.name === 'FraudDecision')?.value).toBe(
      decision.decision,
    );

    // Lean history: the deadline's version is in the input, so no patch marker and no TemporalChangeVersion update;
    // the decision's search attributes go with the completion, in one upsert.
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toHaveLength(0);
    expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);

    // `fraudflow decision <transactionId>` reads the same decision back from the workflow's history.
    const shown = fraudflow(['decision', event.transactionId]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(Decision.parse(JSON.parse(shown.stdout))).toEqual(decision);
    const unknown = fraudflow(['decision', 't-never-seen']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no scoring workflow for transaction t-never-seen');
  });

  it('yields one workflow and one decision for a duplicated Kafka message', async () => {
    const event = sampleTransaction();
    const before = pipeline.decisions.length;
    const receivedBefore = pipeline.ingest?.counters.received ?? 0;
    await pipeline.send([{ key: event.transactionId, value: event }]);
    await pipeline.send([{ key: event.transactionId, value: event }]);
    await pipeline.waitForDecisions(before + 1);
    // Give a second decision every chance to appear before asserting there is none.
    await new Promise((r) => setTimeout(r, 3000));

    expect(pipeline.decisions.filter((d) => d.transactionId === event.transactionId)).toHaveLength(1);
    expect((pipeline.ingest?.counters.received ?? 0) - receivedBefore).toBe(2);
    const runs = [];
    for await (const wf of pipeline.client.workflow.list({ query: `WorkflowId = 'score-${event.transactionId}'` }))
      runs.push(wf);
    expect(runs).toHaveLength(1);
  });

  it('dead-letters invalid messages with their reason and original bytes while the consumer keeps going', async () => {
    const valid = sampleTransaction();
    const badJson = Buffer.from('{"transactionId": "t-broken", ');
    const badSchema = sampleTransaction({ amount: { minor: -5, currency: 'XYZ' } });
    const oversized = sampleTransaction({ attributes: { blob: 'x'.repeat(pipeline.config.ingest.maxEventBytes) } });
    const decisionsBefore = pipeline.decisions.length;
    await pipeline.send([
      { key: 'invalid-json', value: badJson },
      { key: 'invalid-schema', value: badSchema },
      { key: 'invalid-size', value: oversized },
      { key: valid.transactionId, value: valid },
    ]);

    const letters = (await pipeline.waitForDeadLetters(3)).map((l) => DeadLetter.parse(l));
    const byKey = Object.fromEntries(
      letters.map((l) => [Buffer.from(l.originalKeyBase64 ?? '', 'base64').toString(), l]),
    );
    expect(byKey['invalid-json']?.reason).toBe('invalid_json');
    expect(Buffer.from(byKey['invalid-json']?.originalValueBase64 ?? '', 'base64')).toEqual(badJson);
    expect(byKey['invalid-schema']?.reason).toBe('schema_violation');
    expect(byKey['invalid-schema']?.detail).toContain('amount.minor');
    expect(byKey['invalid-schema']?.detail).toContain('amount.currency');
    expect(byKey['invalid-size']?.reason).toBe('oversized');
    for (const l of letters) expect(l.source.topic).toBe(pipeline.topics.transactions);

    const decisions = await pipeline.waitForDecisions(decisionsBefore + 1);
    expect(decisions.map((d) => d.transactionId)).toContain(valid.transactionId);
  });
});
