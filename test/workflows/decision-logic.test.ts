/**
 * scoreTransactionWorkflow's decision logic (deadline, escalation, failover, fallback, hosted budget) with every
 * activity mocked, on Temporal's time-skipping test server: timeouts and retry backoffs of minutes pass in
 * milliseconds, so a deadline is proven without waiting for it. The real-stack tests (score-transaction, pipeline,
 * chaos) prove the same workflow against the real activities.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FraudflowActivities, ModelScore } from '../../activities';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../src/config';
import { fraudSearchAttributes } from '../../src/search-attributes';
import { computeCardFeatures } from '../../src/features/card-history';
import { ModelFailureType } from '../../src/failure-types';
import type { Decision, ScoringReceipt } from '../../src/schemas/decision';
import { expectReceiptOf } from '../support/receipt';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';
import type { ScoringSettings } from '../../src/scoring/settings';
import { installRuntime, workflowBundle } from '../../src/worker-set';
import type { scoreTransactionWorkflow } from '../../workflows';
import { sampleTransaction } from '../support/pipeline';
import { temporalTestServerExecutable } from '../support/temporal-test-server';

type Mocked = Pick<
  FraudflowActivities,
  | 'computeCardFeatures'
  | 'scoreWithLocalModel'
  | 'escalateToHostedModel'
  | 'reserveHostedSpend'
  | 'settleHostedSpend'
  | 'publishDecision'
>;

/** What one scenario's activities answer; every call is recorded. */
interface Scenario {
  local: () => Promise<ModelScore>;
  hosted: (provider: string) => Promise<ModelScore>;
  spentUsd?: number;
}

const deadlineMs = 60_000;
const config = loadConfig({
  ...process.env,
  TASK_QUEUE_PREFIX: `decision-logic-${randomUUID().slice(0, 8)}`,
  DECISION_DEADLINE_MS: String(deadlineMs),
  // An ambiguous band and thresholds the scenarios below are written against.
  SCORE_APPROVE_BELOW: '0.3',
  SCORE_DECLINE_AT: '0.8',
  AMBIGUOUS_LOW: '0.4',
  AMBIGUOUS_HIGH: '0.7',
  MIN_CONFIDENCE: '0.5',
  HOSTED_DAILY_BUDGET_USD: '10',
  HOSTED_BUDGET_EXHAUSTED: 'local',
  // The decision alone: a review's case would wait on a task queue no worker here polls, and the time-skipping
  // server does not skip time while a workflow task waits for a worker (cases have tests of their own).
  CASES_ENABLED: 'false',
  // Retries long enough that only the deadline can end them: the time-skipping server makes them instant.
  LOCAL_MODEL_MAX_ATTEMPTS: '1000',
  HOSTED_MODEL_MAX_ATTEMPTS: '2',
  MODEL_RETRY_INITIAL_MS: '5000',
  MODEL_RETRY_MAX_MS: '20000',
  HOSTED_PROVIDERS: JSON.stringify([
    { name: 'primary', baseURL: 'http://primary.invalid/v1', apiKeyEnv: 'PRIMARY_KEY', model: 'p-model' },
    { name: 'secondary', baseURL: 'http://secondary.invalid/v1', apiKeyEnv: 'SECONDARY_KEY', model: 's-model' },
  ]),
});
const baseSettings = scoringSettingsFromConfig(config);

function score(tier: 'local' | 'hosted', provider: string, riskScore: number, confidence = 0.9): ModelScore {
  return {
    assessment: { riskScore, confidence, reasons: [`${provider} says ${riskScore}`] },
    call: {
      provider,
      model: `${provider}-model`,
      tier,
      outcome: 'ok',
      latencyMs: 5,
      inputTokens: 100,
      outputTokens: 20,
      costUsd: tier === 'hosted' ? 0.002 : 0,
      riskScore,
      confidence,
    },
  };
}

/** An activity that never answers (until the worker shuts down and cancels it). */
const hang = (): Promise<ModelScore> =>
  Context.current()
    .sleep(60 * 60_000)
    .then(() => Promise.reject(new Error('unreachable')));

const unavailable = (provider: string) =>
  ApplicationFailure.create({ type: ModelFailureType.unavailable, message: `${provider} is down` });

describe('scoreTransactionWorkflow decision logic, mocked activities, time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[];
  let running: Array<Promise<void>>;
  const scenarios = new Map<string, Scenario>();
  const calls = new Map<string, string[]>();
  const published = new Map<string, Decision>();
  const spendRecorded: Array<{ day: string; costUsd: number }> = [];

  const scenarioOf = (transactionId: string): Scenario => {
    const s = scenarios.get(transactionId);
    if (!s) throw new Error(`no scenario for ${transactionId}`);
    return s;
  };
  const track = (transactionId: string, what: string) =>
    calls.set(transactionId, [...(calls.get(transactionId) ?? []), what]);

  const activities: Mocked = {
    computeCardFeatures: ({ event }) => Promise.resolve(computeCardFeatures([], event)),
    scoreWithLocalModel: (req) => {
      track(req.event.transactionId, 'local');
      return scenarioOf(req.event.transactionId).local();
    },
    escalateToHostedModel: (req) => {
      track(req.event.transactionId, `hosted:${req.provider}`);
      return scenarioOf(req.event.transactionId).hosted(req.provider);
    },
    // One ledger for the whole file; a scenario sets what has been spent today.
    reserveHostedSpend: (req) =>
      Promise.resolve(
        currentSpend < req.capUsd ? { granted: true } : { granted: false, spentUsd: currentSpend, reservedUsd: 0 },
      ),
    settleHostedSpend: (req) => {
      if (req.costUsd > 0) spendRecorded.push({ day: req.day, costUsd: req.costUsd });
      return Promise.resolve();
    },
    publishDecision: (req) => {
      published.set(req.decision.transactionId, req.decision);
      return Promise.resolve({ partition: 0, offset: String(published.size) });
    },
  };
  let currentSpend = 0;

  beforeAll(async () => {
    // The SDK's log lines through fraudflow's logger at LOG_LEVEL, not its default console output.
    installRuntime(config, { quiet: true });
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: temporalTestServerExecutable(config) } },
    });
    // The workflow sets the decision's search attributes; the test server knows only those registered with it.
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        fraudSearchAttributes.map((k) => [
          k.name,
          temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`],
        ]),
      ),
    });
    const { taskQueues } = baseSettings;
    const common = { connection: env.nativeConnection, shutdownGraceTime: '1s' } as const;
    workers = await Promise.all([
      Worker.create({
        ...common,
        taskQueue: taskQueues.orchestration,
        workflowBundle: await workflowBundle(),
        activities,
      }),
      Worker.create({ ...common, taskQueue: taskQueues.localScoring, activities }),
      Worker.create({ ...common, taskQueue: taskQueues.hostedScoring, activities }),
    ]);
    running = workers.map((w) => w.run());
  });

  afterAll(async () => {
    for (const w of workers ?? []) w.shutdown();
    await Promise.allSettled(running ?? []);
    await env?.teardown();
  });

  /**
   * The decision the workflow published for `transactionId`: its result is only a receipt, which must carry the
   * published decision's headline and where it went.
   */
  function publishedOnce(transactionId: string, receipt: ScoringReceipt): Decision {
    const decision = published.get(transactionId);
    if (!decision) throw new Error(`no decision published for ${transactionId}`);
    expectReceiptOf(receipt, decision, baseSettings.decisionsTopic);
    return decision;
  }

  /** Runs one transaction through the workflow with `scenario`; returns the decision and the wall time it took. */
  async function decide(
    scenario: Scenario,
    opts: { settings?: Partial<ScoringSettings>; event?: Parameters<typeof sampleTransaction>[0] } = {},
  ) {
    const event = TransactionEvent.parse(sampleTransaction(opts.event));
    scenarios.set(event.transactionId, scenario);
    currentSpend = scenario.spentUsd ?? 0;
    const started = Date.now();
    const receipt = await env.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
      taskQueue: baseSettings.taskQueues.orchestration,
      workflowId: `score-${event.transactionId}`,
      args: [{ event, source: { kind: 'api' }, settings: { ...baseSettings, ...opts.settings } }],
    });
    const decision = publishedOnce(event.transactionId, receipt);
    return { decision, calls: calls.get(event.transactionId) ?? [], wallMs: Date.now() - started };
  }

  it('a confident first pass outside the ambiguous band decides alone, with no hosted call', async () => {
    const { decision, calls } = await decide({
      local: () => Promise.resolve(score('local', 'local', 0.1)),
      hosted: () => Promise.reject(new Error('not expected')),
    });
    expect(decision).toMatchObject({ decision: 'approve', path: 'local', riskScore: 0.1 });
    expect(calls).toEqual(['local']);
  });

  it('an ambiguous first pass escalates; the hosted answer decides and its spend is recorded', async () => {
    const before = spendRecorded.length;
    const { decision, calls } = await decide({
      local: () => Promise.resolve(score('local', 'local', 0.55)),
      hosted: (p) => Promise.resolve(score('hosted', p, 0.99)),
    });
    expect(calls).toEqual(['local', 'hosted:primary']);
    expect(decision).toMatchObject({ decision: 'decline', path: 'escalated', riskScore: 0.99 });
    expect(decision.modelCalls.map((c) => [c.provider, c.outcome])).toEqual([
      ['local', 'ok'],
      ['primary', 'ok'],
    ]);
    expect(spendRecorded.slice(before).map((s) => s.costUsd)).toEqual([0.002]);
    expect(spendRecorded.at(-1)?.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('a low-confidence first pass escalates too', async () => {
    const { decision, calls } = await decide({
      local: () => Promise.resolve(score('local', 'local', 0.1, 0.2)),
      hosted: (p) => Promise.resolve(score('hosted', p, 0.05)),
    });
    expect(calls).toEqual(['local', 'hosted:primary']);
    expect(decision).toMatchObject({ decision: 'approve', path: 'escalated' });
  });

  it('a failing provider fails over to the next in the chain', async () => {
    const { decision, calls } = await decide({
      local: () => Promise.resolve(score('local', 'local', 0.55)),
      hosted: (p) => (p === 'primary' ? Promise.reject(unavailable(p)) : Promise.resolve(score('hosted', p, 0.99))),
    });
    // The primary is retried within its own attempts (HOSTED_MODEL_MAX_ATTEMPTS=2), then the secondary answers.
    expect(calls).toEqual(['local', 'hosted:primary', 'hosted:primary', 'hosted:secondary']);
    expect(decision.path).toBe('escalated');
    expect(decision.modelCalls.map((c) => [c.provider, c.tier, c.outcome])).toEqual([
      ['local', 'local', 'ok'],
      ['primary', 'hosted', 'error'],
      ['secondary', 'hosted', 'ok'],
    ]);
    expect(decision.reasons.join('\n')).toMatch(/hosted primary failed/);
  });

  it('every provider failing falls back to review, never approve', async () => {
    const { decision, calls } = await decide({
      local: () => Promise.resolve(score('local', 'local', 0.45)),
      hosted: (p) => Promise.reject(unavailable(p)),
    });
    expect(calls.filter((c) => c.startsWith('hosted:'))).toEqual([
      'hosted:primary',
      'hosted:primary',
      'hosted:secondary',
      'hosted:secondary',
    ]);
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(decision.modelCalls.filter((c) => c.tier === 'hosted' && c.outcome === 'error')).toHaveLength(2);
  });

  it('invalid output from the first pass is retried, then escalated', async () => {
    const { decision, calls } = await decide({
      local: () =>
        Promise.reject(ApplicationFailure.create({ type: ModelFailureType.invalidOutput, message: 'not JSON' })),
      hosted: (p) => Promise.resolve(score('hosted', p, 0.05)),
    });
    expect(calls.at(-1)).toBe('hosted:primary');
    expect(calls.slice(0, -1).every((c) => c === 'local')).toBe(true);
    expect(decision.modelCalls[0]).toMatchObject({ provider: 'local', outcome: 'invalid_output' });
    expect(decision).toMatchObject({ decision: 'approve', path: 'escalated' });
  });

  it("with the day's hosted budget spent, an ambiguous first pass is not escalated and not approved", async () => {
    const { decision, calls } = await decide({
      spentUsd: 10,
      local: () => Promise.resolve(score('local', 'local', 0.42)),
      hosted: () => Promise.reject(new Error('must not be called')),
    });
    expect(calls).toEqual(['local']);
    // HOSTED_BUDGET_EXHAUSTED=local: the first pass decides, floored at review because it was ambiguous.
    expect(decision).toMatchObject({ decision: 'review', path: 'local' });
    expect(decision.reasons.join('\n')).toMatch(/hosted budget of \$10 for \d{4}-\d{2}-\d{2} is spent/);
  });

  it('with the budget spent and HOSTED_BUDGET_EXHAUSTED=review, the decision is a fallback review', async () => {
    const { decision } = await decide(
      {
        spentUsd: 25,
        local: () => Promise.resolve(score('local', 'local', 0.42)),
        hosted: () => Promise.reject(new Error('must not be called')),
      },
      { settings: { budget: { dailyUsd: 10, whenExhausted: 'review' } } },
    );
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
  });

  it('a rule decline is final: no model is asked', async () => {
    const { decision, calls } = await decide(
      {
        local: () => Promise.reject(new Error('must not be called')),
        hosted: () => Promise.reject(new Error('must not be called')),
      },
      { event: { amount: { minor: 60_000_00, currency: 'USD' } } },
    );
    expect(calls).toEqual([]);
    expect(decision).toMatchObject({ decision: 'decline', path: 'rules', riskScore: 1 });
  });

  it('a local model that never answers is cut off at the decision deadline: review', async () => {
    // The test server does not skip time while an activity runs, so these two use a 3 s deadline of real time.
    const { decision, calls, wallMs } = await decide(
      { local: hang, hosted: () => Promise.reject(new Error('no')) },
      { settings: { deadlineMs: 3000 } },
    );
    expect(calls).toEqual(['local']);
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(decision.modelCalls).toEqual([expect.objectContaining({ provider: 'local', outcome: 'error' })]);
    expect(decision.reasons.join('\n')).toMatch(/decision deadline of 3s passed/);
    // Cut at the deadline, well before the call's own 30 s attempt timeout.
    expect(wallMs).toBeLessThan(10_000);
  });

  it('a hosted provider that never answers is cut off at the deadline: review, the failed call on record', async () => {
    const { decision, calls, wallMs } = await decide(
      { local: () => Promise.resolve(score('local', 'local', 0.5)), hosted: hang },
      { settings: { deadlineMs: 3000 } },
    );
    // Cut off at the deadline: the second provider is never tried.
    expect(calls).toEqual(['local', 'hosted:primary']);
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(decision.modelCalls.map((c) => [c.provider, c.outcome])).toEqual([
      ['local', 'ok'],
      ['primary', 'error'],
    ]);
    expect(decision.reasons.join('\n')).toMatch(/decision deadline of 3s passed/);
    expect(wallMs).toBeLessThan(10_000);
  });

  it('a transaction that waited for a worker past its deadline goes to review, no model asked', async () => {
    // Started on a task queue no worker polls yet, as behind a backlog or while every worker restarts; the worker
    // comes after the deadline. The deadline runs from the workflow's start, not from the first workflow task.
    const event = TransactionEvent.parse(sampleTransaction());
    scenarios.set(event.transactionId, {
      local: () => Promise.resolve(score('local', 'local', 0.1)),
      hosted: () => Promise.reject(new Error('must not be called')),
    });
    const lateQueue = `${baseSettings.taskQueues.orchestration}-late`;
    const handle = await env.client.workflow.start<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
      taskQueue: lateQueue,
      workflowId: `score-${event.transactionId}`,
      args: [{ event, source: { kind: 'api' }, settings: { ...baseSettings, deadlineMs: 3000 } }],
    });
    await env.sleep(4000);
    const late = await Worker.create({
      connection: env.nativeConnection,
      shutdownGraceTime: '1s',
      taskQueue: lateQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    const decision = publishedOnce(event.transactionId, await late.runUntil(handle.result()));
    expect(calls.get(event.transactionId)).toBeUndefined();
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(decision.modelCalls).toEqual([]);
    expect(decision.reasons.join('\n')).toMatch(/decision deadline of 3s passed before the card history was read/);
  });

  it('a local model that keeps failing is retried until more retries would outlast the deadline, then escalated', async () => {
    const { decision, calls, wallMs } = await decide({
      local: () => Promise.reject(unavailable('local')),
      hosted: (p) => Promise.resolve(score('hosted', p, 0.2)),
    });
    // A minute of backoff passed in skipped time.
    expect(wallMs).toBeLessThan(deadlineMs / 2);
    // Retried every 5-20 s of (skipped) time; the server ends the call once the next retry would pass the deadline.
    expect(calls.filter((c) => c === 'local').length).toBeGreaterThan(3);
    expect(calls.at(-1)).toBe('hosted:primary');
    expect(decision).toMatchObject({ path: 'escalated', decision: 'approve' });
  });
});
