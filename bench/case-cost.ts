/**
 * `npx tsx bench/case-cost.ts [--count 200]`: what an open case costs the Temporal server, printed as figures.
 *
 * Opens `count` cases (`workCaseWorkflow`, as a review opens them) on a task queue of its own with a case worker in
 * this process, each carrying a synthetic transaction and a review decision of realistic size; then reads their
 * histories while open (events, bytes), resolves half of them through the `resolveCase` update and lets the other
 * half expire on a short SLA, and reads the closed histories. Also times a visibility count of open cases.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { listCases } from '../src/cases/desk';
import { loadConfig } from '../src/config';
import { toMajorUnits } from '../src/money';
import { FraudAmount, FraudCaseOpenedAt, FraudCaseStatus, FraudRiskScore } from '../src/search-attributes';
import { createTransactionGenerator } from '../src/generator/synthetic';
import { createKafka } from '../src/kafka/client';
import { createAssignmentStore } from '../src/models/assignment';
import type { CardFeatures } from '../src/schemas/card-features';
import type { Decision } from '../src/schemas/decision';
import { TransactionEvent } from '../src/schemas/transaction-event';
import { taskQueuesFor } from '../src/task-queues';
import { connectClient } from '../src/temporal/client';
import { caseWorkflowId } from '../src/workflow-ids';
import { installRuntime, startWorkerSet } from '../src/worker-set';

const features: CardFeatures = {
  txnCount1h: 2,
  txnCount24h: 5,
  txnCount7d: 19,
  amountSum1hUsd: 412.5,
  amountSum24hUsd: 688.1,
  amountSum7dUsd: 1903.44,
  historyCount: 41,
  amountRatioToMean: 4.1873,
  amountZScore: 3.2051,
  secondsSincePrevious: 1312,
  distinctMerchants24h: 4,
  distinctCountries24h: 2,
  firstTimeMerchant: true,
  firstTimeCategory: false,
  firstTimeCountry: true,
  distanceKmFromPrevious: 812.44,
  speedKmhFromPrevious: 2229.17,
  localHour: 3,
  smallAmountCount10m: 0,
};

function reviewOf(event: TransactionEvent): Decision {
  return {
    schemaVersion: 1,
    transactionId: event.transactionId,
    decision: 'review',
    stage: 'provisional',
    riskScore: 0.71,
    reasons: ['rule impossible_travel: 812 km from the previous transaction at 2229 km/h', 'amount vs card mean +1.6'],
    path: 'escalated',
    ruleHits: [{ rule: 'impossible_travel', effect: 'escalate', detail: '812 km at 2229 km/h' }],
    features,
    modelCalls: [
      {
        provider: 'local',
        model: 'fraudflow-smollm2:135m-q4_1',
        tier: 'local',
        outcome: 'ok',
        latencyMs: 151,
        inputTokens: 64,
        outputTokens: 0,
        costUsd: 0,
        riskScore: 0.55,
        confidence: 0.9,
        rawScore: 0.21,
        attempt: 1,
      },
      {
        provider: 'frontier-standin',
        model: 'fraudflow-frontier-standin',
        tier: 'hosted',
        outcome: 'ok',
        latencyMs: 1240,
        inputTokens: 150,
        outputTokens: 35,
        costUsd: 0.000725,
        riskScore: 0.71,
        confidence: 0.8,
        attempt: 1,
      },
    ],
    decidedAt: new Date().toISOString(),
    workflowId: `score-${event.transactionId}`,
    runId: randomUUID(),
    source: { kind: 'api' },
    policyHash: '3f9c2a71d04b8e65',
    promptVersion: 'fraud-analyst-v1',
  };
}

interface HistoryCost {
  events: number;
  bytes: number;
  /** Whether the SLA timer has started: the case's first workflow task is done and it only waits. */
  waiting: boolean;
  types: string[];
}

async function historyCost(client: Client, workflowId: string): Promise<HistoryCost> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const types = events.map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? '?');
  return {
    events: events.length,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    waiting: events.some((e) => e.timerStartedEventAttributes),
    types,
  };
}

/** The open cases' histories once every one waits on its timer (the case worker may still be catching up). */
async function openHistories(client: Client, ids: string[]): Promise<HistoryCost[]> {
  for (let attempt = 0; ; attempt++) {
    const costs = await Promise.all(ids.map((id) => historyCost(client, caseWorkflowId(id))));
    if (costs.every((c) => c.waiting) || attempt >= 30) return costs;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '200' } } });
  const count = Number(values.count);
  const run = `case-cost-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({ ...process.env, TASK_QUEUE_PREFIX: run, METRICS_PORT: '0', SDK_METRICS_PORT: '0' });
  const taskQueues = taskQueuesFor(run);
  const topics = { decisions: `${run}.decisions`, labels: `${run}.labels` };
  const admin = createKafka(config, run).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: Object.values(topics).map((topic) => ({ topic })) });
  installRuntime(config, { quiet: true });
  const client = await connectClient(config);
  const assignments = createAssignmentStore(config, run);
  const workers = await startWorkerSet({ config, client, assignments, taskQueues, roles: ['cases'] });
  const generator = createTransactionGenerator({ seed: 7, idPrefix: run });
  const ids: string[] = [];
  try {
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const event = TransactionEvent.parse(generator.next());
      ids.push(event.transactionId);
      // The first half wait a day and are resolved below; the second half, opened last, expire 20 s after opening.
      const slaMs = i < count / 2 ? 86_400_000 : 20_000;
      await client.workflow.start('workCaseWorkflow', {
        workflowId: caseWorkflowId(event.transactionId),
        taskQueue: taskQueues.cases,
        // As the scoring workflow opens a case: listed by status, age, risk and amount.
        typedSearchAttributes: [
          { key: FraudCaseStatus, value: 'open' },
          { key: FraudCaseOpenedAt, value: new Date() },
          { key: FraudRiskScore, value: 0.71 },
          { key: FraudAmount, value: toMajorUnits(event.amount) },
        ],
        memo: { transactionId: event.transactionId },
        args: [
          {
            review: reviewOf(event),
            event,
            decisionsTopic: topics.decisions,
            cases: { slaMs, expiryAction: 'decline', labelsTopic: topics.labels },
          },
        ],
      });
    }
    const openSeconds = (Date.now() - started) / 1000;
    const toResolve = ids.slice(0, Math.ceil(count / 2));
    const toExpire = ids.slice(Math.ceil(count / 2));
    const open = await openHistories(client, toResolve);
    const countStarted = Date.now();
    const running = await client.workflow.count(
      `WorkflowType = 'workCaseWorkflow' AND TaskQueue = '${taskQueues.cases}' AND ExecutionStatus = 'Running'`,
    );
    const countMs = Date.now() - countStarted;
    const listStarted = Date.now();
    const listed = await listCases(client, { taskQueue: taskQueues.cases, open: true, sort: 'risk', limit: count });
    const listMs = Date.now() - listStarted;

    for (const transactionId of toResolve) {
      await client.workflow
        .getHandle(caseWorkflowId(transactionId))
        .executeUpdate('resolveCase', { args: [{ transactionId, verdict: 'fraud', analyst: 'bench' }] });
    }
    await Promise.all(toExpire.map((id) => client.workflow.getHandle(caseWorkflowId(id)).result()));
    const resolved = await Promise.all(toResolve.map((id) => historyCost(client, caseWorkflowId(id))));
    const expired = await Promise.all(toExpire.map((id) => historyCost(client, caseWorkflowId(id))));

    const row = (name: string, xs: HistoryCost[]) =>
      console.log(
        `${name.padEnd(28)} ${mean(xs.map((x) => x.events))
          .toFixed(1)
          .padStart(7)} events ${(mean(xs.map((x) => x.bytes)) / 1024).toFixed(1).padStart(7)} KB`,
      );
    console.log(`case cost over ${count} cases (payload encryption ${config.codec.enabled ? 'on' : 'off'})`);
    row('open (waiting on its timer)', open);
    console.log(`  an open case's events: ${open[0]?.types.join(', ')}`);
    row('resolved by an analyst', resolved);
    row('expired on its SLA', expired);
    console.log(
      `opened ${count} cases in ${openSeconds.toFixed(1)} s (${(count / openSeconds).toFixed(0)}/s, one client, sequential)`,
    );
    console.log(`visibility count of open cases: ${running.count} in ${countMs} ms`);
    console.log(`case list (--open --sort risk): ${listed.length} rows in ${listMs} ms`);
    console.log(
      `bench process RSS (case worker, client and workflow bundler): ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );
  } finally {
    for (const id of ids) {
      await client.workflow
        .getHandle(caseWorkflowId(id))
        .terminate('bench done')
        .catch(() => undefined);
    }
    await workers.close();
    await assignments.close();
    await client.connection.close();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
