/**
 * The case workflow's decision logic on Temporal's time-skipping test server with publishing mocked: a review opens a
 * case through the scoring workflow; a verdict decides it; the validator refuses what it must, leaving no trace in
 * history; a repeated verdict is answered once. Expiry on the SLA, Kafka, the CLI, the console and a killed worker
 * are proven on the real stack (test/pipeline/cases.test.ts, short CASE_SLA).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FraudflowActivities, ModelScore } from '../../activities';
import { loadConfig } from '../../src/config';
import { computeCardFeatures } from '../../src/features/card-history';
import type { Decision } from '../../src/schemas/decision';
import type { Label } from '../../src/schemas/label';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { fraudSearchAttributes } from '../../src/search-attributes';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';
import { installRuntime, workflowBundle } from '../../src/worker-set';
import { caseQuery, caseWorkflowId, resolveCaseUpdate } from '../../workflows';
import type { scoreTransactionWorkflow, workCaseWorkflow } from '../../workflows';
import { sampleTransaction } from '../support/pipeline';
import { temporalTestServerExecutable } from '../support/temporal-test-server';

const config = loadConfig({
  ...process.env,
  TASK_QUEUE_PREFIX: `work-case-${randomUUID().slice(0, 8)}`,
  HOSTED_ESCALATION_ENABLED: 'false',
  // Review between 0.4 and 0.8 whatever the shipped policy says.
  SCORE_APPROVE_BELOW: '0.4',
  SCORE_DECLINE_AT: '0.8',
  AMBIGUOUS_LOW: '0.45',
  AMBIGUOUS_HIGH: '0.5',
  MIN_CONFIDENCE: '0.5',
});
const settings = scoringSettingsFromConfig(config);

function localScore(riskScore: number): ModelScore {
  return {
    assessment: { riskScore, confidence: 0.9, reasons: [`local says ${riskScore}`] },
    call: {
      provider: 'local',
      model: 'local-model',
      tier: 'local',
      outcome: 'ok',
      latencyMs: 5,
      inputTokens: 10,
      outputTokens: 0,
      costUsd: 0,
      riskScore,
      confidence: 0.9,
    },
  };
}

describe('workCaseWorkflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[];
  let running: Array<Promise<void>>;
  const decisions: Decision[] = [];
  const labels: Label[] = [];

  const activities: Pick<
    FraudflowActivities,
    'computeCardFeatures' | 'scoreWithLocalModel' | 'publishDecision' | 'publishLabel'
  > = {
    computeCardFeatures: ({ event }) => Promise.resolve(computeCardFeatures([], event)),
    scoreWithLocalModel: () => Promise.resolve(localScore(0.7)),
    publishDecision: (req) => {
      decisions.push(req.decision);
      return Promise.resolve({ partition: 0, offset: String(decisions.length) });
    },
    publishLabel: (req) => {
      labels.push(req.label);
      return Promise.resolve({ partition: 0, offset: String(labels.length) });
    },
  };

  beforeAll(async () => {
    installRuntime(config, { quiet: true });
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: temporalTestServerExecutable(config) } },
    });
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        fraudSearchAttributes.map((k) => [
          k.name,
          temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`],
        ]),
      ),
    });
    const common = { connection: env.nativeConnection, shutdownGraceTime: '1s', activities } as const;
    const bundle = await workflowBundle();
    workers = await Promise.all([
      Worker.create({ ...common, taskQueue: settings.taskQueues.orchestration, workflowBundle: bundle }),
      Worker.create({ ...common, taskQueue: settings.taskQueues.localScoring }),
      Worker.create({ ...common, taskQueue: settings.taskQueues.cases, workflowBundle: bundle }),
    ]);
    running = workers.map((w) => w.run());
  });

  afterAll(async () => {
    for (const w of workers ?? []) w.shutdown();
    await Promise.allSettled(running ?? []);
    await env?.teardown();
  });

  /** Scores a transaction to review through the scoring workflow; returns its provisional decision and case. */
  async function review() {
    const event = TransactionEvent.parse(sampleTransaction());
    const provisional = await env.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
      taskQueue: settings.taskQueues.orchestration,
      workflowId: `score-${event.transactionId}`,
      args: [{ event, source: { kind: 'api' }, settings }],
    });
    const handle = env.client.workflow.getHandle<typeof workCaseWorkflow>(caseWorkflowId(event.transactionId));
    return { event, provisional, handle };
  }

  it('a review is published as provisional and its case waits for the verdict, then decides with it', async () => {
    const { event, provisional, handle } = await review();
    expect(provisional).toMatchObject({ decision: 'review', stage: 'provisional' });
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await handle.query(caseQuery)).status).toBe('open');

    const request = {
      transactionId: event.transactionId,
      verdict: 'legitimate',
      analyst: 'ana',
      note: 'known',
    } as const;
    const final = await handle.executeUpdate(resolveCaseUpdate, { args: [request] });
    expect(final).toMatchObject({
      decision: 'approve',
      stage: 'final',
      case: { resolvedBy: 'analyst', verdict: 'legitimate', analyst: 'ana', note: 'known' },
    });
    expect(await handle.result()).toEqual(final);
    expect(decisions.filter((d) => d.transactionId === event.transactionId).map((d) => d.stage)).toEqual([
      'provisional',
      'final',
    ]);
    expect(labels.filter((l) => l.transactionId === event.transactionId)).toEqual([
      expect.objectContaining({ outcome: 'legitimate', source: 'analyst', reportedBy: 'ana' }),
    ]);
  });

  it('refuses an unknown verdict and a mismatched transaction before anything is written, then takes a good one', async () => {
    const { event, handle } = await review();
    const refused = async (args: object) =>
      handle
        .executeUpdate(resolveCaseUpdate, { args: [args as never] })
        .then(() => undefined)
        .catch((err: unknown) => err);
    const unknown = await refused({ transactionId: event.transactionId, verdict: 'maybe', analyst: 'ana' });
    expect(unknown).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((unknown as WorkflowUpdateFailedError).cause?.message).toContain('unknown verdict "maybe"');
    const mismatched = await refused({ transactionId: 't-other', verdict: 'fraud', analyst: 'ana' });
    expect((mismatched as WorkflowUpdateFailedError).cause?.message).toContain('not "t-other"');
    const history = await handle.fetchHistory();
    // Rejected updates leave no trace in history.
    expect(history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);

    const request = { transactionId: event.transactionId, verdict: 'fraud', analyst: 'bo' } as const;
    const [first, again] = await Promise.all([
      handle.executeUpdate(resolveCaseUpdate, { args: [request] }),
      handle.executeUpdate(resolveCaseUpdate, { args: [request] }),
    ]);
    expect(first).toEqual(again);
    expect(first.decision).toBe('decline');
    await handle.result();
    expect(decisions.filter((d) => d.transactionId === event.transactionId && d.stage === 'final')).toHaveLength(1);
  });
});
