/**
 * The hosted-spend ledger on the real Redis: atomic reservations against the day's cap, idempotent per call id,
 * keys that expire; and 50 scoring workflows racing a small cap on the Temporal dev server (model activities
 * mocked, the ledger's activities real) spend no more than the cap.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelScore } from '../../activities';
import { createBudgetActivities } from '../../activities/budget';
import { dataConverterFor } from '../../src/codec';
import { loadConfig } from '../../src/config';
import { computeCardFeatures } from '../../src/features/card-history';
import { maxAnswerTokens } from '../../src/models/assessment';
import { HostedSpendLedger, reservationInputTokens } from '../../src/models/hosted-spend-ledger';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';
import { connectClient } from '../../src/temporal/client';
import { installRuntime, workflowBundle } from '../../src/worker-set';
import { connectWorker } from '../../src/worker-set/runtime';
import type { scoreTransactionWorkflow } from '../../workflows';
import { sampleTransaction } from '../support/pipeline';

const capUsd = 2;
const prices = { inputUsdPerMTok: 50, outputUsdPerMTok: 100 };
/** What a reservation holds per call: 0.2048 + 0.02 USD. */
const ceilingUsd = (reservationInputTokens * prices.inputUsdPerMTok + maxAnswerTokens * prices.outputUsdPerMTok) / 1e6;
/** What each call really costs: less than its ceiling, so the cap is never passed. */
const costUsd = 0.2;

const config = loadConfig({
  ...process.env,
  TASK_QUEUE_PREFIX: `hosted-budget-${randomUUID().slice(0, 8)}`,
  SCORE_APPROVE_BELOW: '0.3',
  SCORE_DECLINE_AT: '0.8',
  AMBIGUOUS_LOW: '0.4',
  AMBIGUOUS_HIGH: '0.7',
  HOSTED_DAILY_BUDGET_USD: String(capUsd),
  HOSTED_PROVIDERS: JSON.stringify([
    { name: 'frontier', baseURL: 'http://frontier.invalid/v1', apiKeyEnv: 'FRONTIER_KEY', model: 'f', ...prices },
  ]),
});

describe('the hosted-spend ledger on Redis', () => {
  const redis = new Redis(config.featureStore.url);
  const ledger = new HostedSpendLedger({ redis, scope: 'ledger-test', keyPrefix: `test-${randomUUID()}` });
  afterAll(() => redis.disconnect());

  it('reserves within the cap only, settles once per call id, and releases a failed call', async () => {
    const day = '2026-12-07';
    expect(await ledger.reserve(day, 'a', 0.6, 1)).toEqual({ granted: true });
    // A repeated reservation of the same call is the same reservation.
    expect(await ledger.reserve(day, 'a', 0.6, 1)).toEqual({ granted: true });
    expect(await ledger.reserve(day, 'b', 0.6, 1)).toEqual({ granted: false, spentUsd: 0, reservedUsd: 0.6 });
    await ledger.settle(day, 'a', 0.25);
    await ledger.settle(day, 'a', 0.25);
    expect(await ledger.spend(day)).toEqual({ spentUsd: 0.25, reservedUsd: 0, calls: 1 });
    expect(await ledger.reserve(day, 'b', 0.6, 1)).toEqual({ granted: true });
    await ledger.settle(day, 'b', 0);
    expect(await ledger.spend(day)).toEqual({ spentUsd: 0.25, reservedUsd: 0, calls: 1 });
  });

  it('reserves and settles a call that costs nothing (a provider without prices)', async () => {
    const day = '2026-12-09';
    expect(await ledger.reserve(day, 'free', 0, 1)).toEqual({ granted: true });
    await ledger.settle(day, 'free', 0);
    await ledger.settle(day, 'unreserved', 0);
    expect(await ledger.spend(day)).toEqual({ spentUsd: 0, reservedUsd: 0, calls: 0 });
  });

  it('lets every key expire two days after its day is written', async () => {
    const day = '2026-12-08';
    await ledger.reserve(day, 'c', 0.1, 1);
    const keys = await redis.keys(`${ledger.keyPrefix}:hosted-spend:{ledger-test:${day}}*`);
    expect(keys.length).toBe(2);
    for (const key of keys) expect(await redis.ttl(key)).toBeGreaterThan(2 * 24 * 3600 - 60);
  });
});

describe('50 scoring workflows racing a small hosted budget', () => {
  let connection: NativeConnection;
  let client: Client;
  let workers: Worker[];
  let running: Promise<void>;
  const ledger = new HostedSpendLedger({
    url: config.featureStore.url,
    scope: config.taskQueuePrefix,
    keyPrefix: `test-${randomUUID()}`,
  });
  const score = (tier: 'local' | 'hosted', riskScore: number): ModelScore => ({
    assessment: { riskScore, confidence: 0.9, reasons: [] },
    call: {
      provider: tier === 'local' ? 'local' : 'frontier',
      model: 'm',
      tier,
      outcome: 'ok',
      latencyMs: 1,
      inputTokens: 600,
      outputTokens: 40,
      costUsd: tier === 'hosted' ? costUsd : 0,
    },
  });

  beforeAll(async () => {
    installRuntime(config, { quiet: true });
    connection = await connectWorker(config);
    client = await connectClient(config);
    const { taskQueues } = scoringSettingsFromConfig(config);
    const activities = {
      ...createBudgetActivities({ ledger, hosted: config.hosted }),
      computeCardFeatures: ({ event }: { event: TransactionEvent }) => Promise.resolve(computeCardFeatures([], event)),
      // Every first pass is ambiguous: every transaction wants the hosted tier.
      scoreWithLocalModel: () => Promise.resolve(score('local', 0.55)),
      escalateToHostedModel: () => new Promise<ModelScore>((r) => setTimeout(() => r(score('hosted', 0.9)), 20)),
      publishDecision: () => Promise.resolve({ partition: 0, offset: '0' }),
    };
    const common = {
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterFor(config),
      activities,
      shutdownGraceTime: '1s',
    };
    workers = await Promise.all([
      Worker.create({ ...common, taskQueue: taskQueues.orchestration, workflowBundle: await workflowBundle() }),
      Worker.create({ ...common, taskQueue: taskQueues.localScoring }),
      Worker.create({ ...common, taskQueue: taskQueues.hostedScoring }),
    ]);
    running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  });

  afterAll(async () => {
    for (const w of workers ?? []) w.shutdown();
    await running;
    ledger.close();
    await connection?.close();
  });

  it('spends no more than the cap, and the ledger holds exactly what the decisions spent', async () => {
    const settings = scoringSettingsFromConfig(config);
    const decisions = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const event = TransactionEvent.parse(sampleTransaction());
        return client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
          taskQueue: settings.taskQueues.orchestration,
          workflowId: `score-${event.transactionId}`,
          args: [{ event, source: { kind: 'api' }, settings }],
        });
      }),
    );
    const escalated = decisions.filter((d) => d.path === 'escalated');
    const refused = decisions.filter((d) => d.reasons.some((r) => /hosted budget of \$2 .* is spent/.test(r)));
    const day = new Date().toISOString().slice(0, 10);
    const spend = await ledger.spend(day);
    // Each call holds its ceiling while in flight: at most ⌊cap / ceiling⌋ at once, a few more as calls settle
    // below their ceilings; never past the cap (each call cost less than it reserved).
    expect(escalated.length).toBeGreaterThanOrEqual(Math.floor(capUsd / ceilingUsd));
    expect(escalated.length).toBeLessThanOrEqual(Math.floor(capUsd / costUsd));
    expect(escalated.length + refused.length).toBe(50);
    expect(spend.spentUsd).toBeLessThanOrEqual(capUsd);
    expect(spend.spentUsd).toBeCloseTo(escalated.length * costUsd, 9);
    expect(spend.calls).toBe(escalated.length);
    expect(spend.reservedUsd).toBe(0);
  });
});
