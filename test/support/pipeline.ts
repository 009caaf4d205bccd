import path from 'node:path';
/**
 * A complete fraudflow pipeline for one test: its own topics and task queues on the real stack, real workers,
 * optionally the real ingest, and consumers that collect what lands on the decisions and dead-letter topics.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Consumer, Producer } from 'kafkajs';
import type { z } from 'zod';
import type { Config, HostedProvider } from '../../src/config';
import { loadConfig } from '../../src/config';
import { dataConverterFor } from '../../src/codec';
import { createKafka } from '../../src/kafka/client';
import type { Ingest } from '../../src/kafka/ingest';
import { startIngest } from '../../src/kafka/ingest';
import { createAssignmentStore } from '../../src/models/assignment';
import type { ModelAssignmentStore } from '../../src/models/assignment';
import type { DeadLetter } from '../../src/schemas/dead-letter';
import type { Decision } from '../../src/schemas/decision';
import type { Label } from '../../src/schemas/label';
import type { TransactionEvent, TransactionEventInput } from '../../src/schemas/transaction-event';
import { scoringWorkflowId } from '../../workflows';
import type { scoreTransactionWorkflow } from '../../workflows';
import type { ScoringSettings } from '../../src/scoring/settings';
import { taskQueuesFor } from '../../src/task-queues';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';
import { publishedDecision } from '../../src/temporal/published-decision';
import { receiptMismatch } from './receipt-check';
import { installRuntime, startWorkerSet, workerRoles } from '../../src/worker-set';

export interface TestPipelineOptions {
  /** Short label used in topic and task-queue names. */
  name: string;
  /** Hosted providers (usually test servers); @default none, so nothing escalates unless a test asks. */
  hostedProviders?: Array<z.input<typeof HostedProvider>>;
  /** Extra environment for loadConfig (thresholds, timeouts, API keys). */
  env?: Record<string, string>;
  /** Start the Kafka ingest too. @default false */
  ingest?: boolean;
  /** Start the local-scoring worker. @default true */
  localWorker?: boolean;
  /** Start the case worker in this process; false when a test runs it as a process of its own. @default true */
  caseWorker?: boolean;
}

export interface TestPipeline {
  config: Config;
  /** TASK_QUEUE_PREFIX for a `fraudflow` process that must work on this pipeline's task queues. */
  taskQueuePrefix: string;
  settings: ScoringSettings;
  client: Client;
  topics: { transactions: string; decisions: string; deadLetter: string; labels: string };
  ingest?: Ingest;
  /** Which model and policy this pipeline's new workflows get (promotions are scoped to its task queues). */
  assignments: ModelAssignmentStore;
  decisions: Decision[];
  deadLetters: DeadLetter[];
  /** What landed on the labels topic (analysts' case verdicts). */
  labels: Label[];
  /** Sends raw values (Buffers are sent as is, objects as JSON) keyed as given. */
  send(messages: Array<{ key: string; value: Buffer | string | TransactionEventInput }>): Promise<void>;
  waitForDecisions(count: number, timeoutMs?: number): Promise<Decision[]>;
  waitForDeadLetters(count: number, timeoutMs?: number): Promise<DeadLetter[]>;
  waitForLabels(count: number, timeoutMs?: number): Promise<Label[]>;
  close(): Promise<void>;
}

async function waitUntil<T>(what: string, get: () => T[], count: number, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  while (get().length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} ${what}; have ${get().length}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return get();
}

/** The policy for tests whose local model is a scripted stand-in (see src/testing/hosted-provider). */
export const scriptedPolicyFile = path.join(__dirname, 'policies', 'generated-score.json');

export async function startTestPipeline(opts: TestPipelineOptions): Promise<TestPipeline> {
  const suffix = `${opts.name}-${randomUUID().slice(0, 8)}`;
  const topics = {
    transactions: `test.${suffix}.transactions`,
    decisions: `test.${suffix}.decisions`,
    deadLetter: `test.${suffix}.dlq`,
    labels: `test.${suffix}.labels`,
  };
  const config = loadConfig({
    ...process.env,
    TOPIC_TRANSACTIONS: topics.transactions,
    TOPIC_DECISIONS: topics.decisions,
    TOPIC_DEAD_LETTER: topics.deadLetter,
    TOPIC_LABELS: topics.labels,
    INGEST_GROUP_ID: `test-${suffix}`,
    HOSTED_PROVIDERS: JSON.stringify(opts.hostedProviders ?? []),
    // A scripted local stand-in answers chat completions with the score a test asks for, so such a pipeline
    // scores with the generated-score policy (its riskScore passes through unchanged).
    ...(opts.env?.LOCAL_MODEL_BASE_URL || opts.env?.LOCAL_MODEL_BASE_URLS
      ? { SCORING_POLICY_FILE: scriptedPolicyFile }
      : {}),
    ...opts.env,
  });
  const taskQueues = taskQueuesFor(`test-${suffix}`);
  const settings = scoringSettingsFromConfig(config, { taskQueues, decisionsTopic: topics.decisions });

  const kafka = createKafka(config, `test-${opts.name}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.transactions, numPartitions: 3 },
      { topic: topics.decisions, numPartitions: 3 },
      { topic: topics.deadLetter, numPartitions: 1 },
      { topic: topics.labels, numPartitions: 3 },
    ],
  });

  installRuntime(config);
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    client: { dataConverter: dataConverterFor(config) },
  });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const assignments = createAssignmentStore(config, `test-${suffix}`);
  const workerSet = await startWorkerSet({
    config,
    client: env.client,
    assignments,
    taskQueues,
    roles: workerRoles.filter(
      (role) =>
        (role !== 'local-scoring' || opts.localWorker !== false) && (role !== 'cases' || opts.caseWorker !== false),
    ),
    publisherId: `test-${opts.name}`,
  });

  const decisions: Decision[] = [];
  const deadLetters: DeadLetter[] = [];
  const labels: Label[] = [];
  const consumers: Consumer[] = [];
  for (const [topic, sink] of [
    [topics.decisions, decisions],
    [topics.deadLetter, deadLetters],
    [topics.labels, labels],
  ] as const) {
    const consumer = kafka.consumer({ groupId: `test-${suffix}-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        (sink as unknown[]).push(JSON.parse(message.value?.toString('utf8') ?? 'null'));
        return Promise.resolve();
      },
    });
    consumers.push(consumer);
  }

  const ingest = opts.ingest
    ? await startIngest({ config, client: env.client, settings, assignments, log: () => undefined })
    : undefined;

  return {
    config,
    taskQueuePrefix: `test-${suffix}`,
    settings,
    client: env.client,
    topics,
    ingest,
    assignments,
    decisions,
    deadLetters,
    labels,
    async send(messages) {
      await producer.send({
        topic: topics.transactions,
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key,
          value: Buffer.isBuffer(m.value) || typeof m.value === 'string' ? m.value : JSON.stringify(m.value),
        })),
      });
    },
    waitForDecisions: (count, timeoutMs = 120_000) => waitUntil('decisions', () => decisions, count, timeoutMs),
    waitForDeadLetters: (count, timeoutMs = 60_000) => waitUntil('dead letters', () => deadLetters, count, timeoutMs),
    waitForLabels: (count, timeoutMs = 60_000) => waitUntil('labels', () => labels, count, timeoutMs),
    async close() {
      // The hosted budget ledger and open cases live for days by design; a test's go with its test.
      for await (const wf of env.client.workflow.list({
        query:
          `TaskQueue IN ('${taskQueues.orchestration}', '${taskQueues.cases}') ` + `AND ExecutionStatus = 'Running'`,
      })) {
        await env.client.workflow
          .getHandle(wf.workflowId)
          .terminate('test pipeline closed')
          .catch(() => undefined);
      }
      await ingest?.stop();
      await workerSet.close();
      await assignments.close();
      await Promise.all(consumers.map((c) => c.disconnect()));
      await producer.disconnect();
      await env.teardown();
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

let counter = 0;

/** Starts one scoring workflow straight from a client (source `api`), on the pipeline's task queues. */
export function startScoring(pipeline: TestPipeline, event: TransactionEvent) {
  return pipeline.client.workflow.start<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
    taskQueue: pipeline.settings.taskQueues.orchestration,
    workflowId: scoringWorkflowId(event.transactionId),
    args: [{ event, source: { kind: 'api' }, settings: pipeline.settings }],
  });
}

/**
 * Scores one transaction from a client and returns its decision as published (the workflow returns a receipt; the
 * decision is the publish activity's input in history), checking the receipt agrees with it.
 */
export async function scoreDecision(
  pipeline: Pick<TestPipeline, 'client' | 'settings'>,
  event: TransactionEvent,
): Promise<Decision> {
  const receipt = await pipeline.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
    taskQueue: pipeline.settings.taskQueues.orchestration,
    workflowId: scoringWorkflowId(event.transactionId),
    args: [{ event, source: { kind: 'api' }, settings: pipeline.settings }],
  });
  const decision = await publishedDecision(pipeline.client, scoringWorkflowId(event.transactionId));
  const mismatch = receiptMismatch(receipt, decision, pipeline.settings.decisionsTopic);
  if (mismatch) throw new Error(`the workflow's receipt ${mismatch}`);
  return decision;
}

export function sampleTransaction(overrides: Partial<TransactionEventInput> = {}): TransactionEventInput {
  counter++;
  return {
    transactionId: `t-${randomUUID()}`,
    occurredAt: new Date(Date.UTC(2026, 10, 24, 12, 0, counter % 60)).toISOString(),
    amount: { minor: 4_250, currency: 'USD' },
    // A fresh card per transaction: the feature store outlives test runs, and a card reused by every test would
    // build a history that trips velocity rules.
    cardToken: `tok_card_${randomUUID().slice(0, 12)}`,
    customerId: 'cus_81723',
    merchant: { id: 'm_1001', name: 'Corner Grocery', mcc: '5411', category: 'grocery_pos', country: 'US' },
    channel: 'card_present',
    cardholderCountry: 'US',
    customer: { name: 'Alex Example', email: 'alex@example.com', phone: '+1-555-0100', address: '1 Main St' },
    ipAddress: '203.0.113.7',
    ...overrides,
  };
}
