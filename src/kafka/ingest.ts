/**
 * The ingest: a kafkajs consumer group on the transactions topic. Each valid event starts one scoring workflow
 * (id from the transactionId); each invalid one goes to the dead-letter topic with its reason. Offsets are
 * committed only once every message up to them has been acknowledged by Temporal or by the dead-letter topic.
 *
 * Three guards: running scoring workflows are bounded (past INGEST_MAX_RUNNING_WORKFLOWS the batch waits and the
 * backlog stays in Kafka); a consumer that stops receiving is replaced; an event that reuses a transactionId with
 * other content is dead-lettered as `conflicting_duplicate` instead of being taken for a redelivery.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Admin, Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { Config } from '../config';
import { InvalidTransactionEventError, MissingTopicError } from '../errors';
import type { DeadLetter } from '../schemas/dead-letter';
import type { TransactionEvent } from '../schemas/transaction-event';
import { readTransactionEvent } from '../schemas/transaction-event';
import type { ScoringSettings } from '../scoring/settings';
import { scoringWorkflowId } from '../workflow-ids';
import { formatMoney } from '../money';
import type { scoreTransactionWorkflow } from '../../workflows/score-transaction';
import { logger } from '../observability/logger';
import { metrics } from '../observability/metrics';
import { Slots } from '../concurrency';
import { createKafka } from './client';
import { eventContentHash } from './content-hash';
import { RunningWorkflowBudget } from './running-budget';
import { AssignedSettings } from '../models/assigned-settings';
import type { ModelAssignmentStore } from '../models/assignment';
import { startStallWatchdog } from './stall-watchdog';

export interface IngestOptions {
  config: Config;
  client: Client;
  settings: ScoringSettings;
  /** @default config.kafka.topics.transactions */
  topic?: string;
  /** @default config.kafka.topics.deadLetter */
  deadLetterTopic?: string;
  /** @default config.ingest.groupId */
  groupId?: string;
  /** Read the topic from the beginning when the group has no committed offset. @default true */
  fromBeginning?: boolean;
  /** @default config.ingest.maxRunningWorkflows */
  maxRunningWorkflows?: number;
  /** @default config.ingest.stallTimeoutMs */
  stallTimeoutMs?: number;
  /** Where promotions are read (before every batch); without it, new workflows always get `settings`. */
  assignments?: ModelAssignmentStore;
  log?: (line: string) => void;
}

export interface IngestCounters {
  received: number;
  started: number;
  /** Redeliveries that found the transaction's workflow already running or finished, with the same content. */
  duplicates: number;
  /** Events whose transactionId already had a workflow started from other content (also in deadLettered). */
  conflictingDuplicates: number;
  deadLettered: number;
  /** Temporal start attempts that failed and were retried (server unavailable). */
  startRetries: number;
  /** Consumers replaced because they fetched nothing while their partitions had lag. */
  consumerRestarts: number;
  /** Highest running-workflow count the ingest read from Temporal. */
  peakRunningWorkflows: number;
}

export interface Ingest {
  counters: IngestCounters;
  /** The kafkajs consumer in use now (a stalled one is replaced); for tests that need to interfere with it. */
  consumer(): Consumer;
  /** Stops fetching, lets in-flight starts finish, commits, leaves the group. Safe on SIGTERM. */
  stop(): Promise<void>;
}

/** Parses one Kafka message into an event, or says exactly why it cannot be one. */
export function parseTransactionMessage(message: Pick<KafkaMessage, 'value'>, maxBytes: number): TransactionEvent {
  const value = message.value;
  if (!value || value.length === 0) throw new InvalidTransactionEventError('invalid_json', 'empty message value');
  if (value.length > maxBytes) {
    throw new InvalidTransactionEventError('oversized', `message is ${value.length} bytes; the limit is ${maxBytes}`);
  }
  const reading = readTransactionEvent(value.toString('utf8'));
  if (!reading.ok) {
    const detail = reading.reason === 'invalid_json' ? `not JSON: ${reading.detail}` : reading.detail;
    throw new InvalidTransactionEventError(reading.reason, detail);
  }
  // A label (ground truth sent along with historical or synthetic traffic) never enters the scoring path.
  const { label: _label, ...event } = reading.event;
  return event;
}

function kafkaTimestamp(message: KafkaMessage): string {
  const ms = Number(message.timestamp);
  return new Date(Number.isFinite(ms) && ms > 0 ? ms : Date.now()).toISOString();
}

/** Memo key under which the ingest records the content hash of the event a scoring workflow was started from. */
export const contentHashMemoKey = 'contentHash';

type Parsed = { event: TransactionEvent; contentHash: string } | { invalid: InvalidTransactionEventError };

function parseOrExplain(message: KafkaMessage, maxBytes: number): Parsed {
  try {
    const event = parseTransactionMessage(message, maxBytes);
    return { event, contentHash: eventContentHash(event) };
  } catch (err) {
    if (err instanceof InvalidTransactionEventError) return { invalid: err };
    throw err;
  }
}

interface Refusal {
  reason: DeadLetter['reason'];
  detail: string;
  conflict?: DeadLetter['conflict'];
}

/** Fails fast with a readable {@link MissingTopicError} instead of a consumer that cannot subscribe. */
async function requireTopics(admin: Admin, wanted: Array<{ topic: string; variable: string }>): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = wanted.find((w) => !existing.has(w.topic));
  if (missing) throw new MissingTopicError(missing.topic, missing.variable);
}

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const { config, client, settings } = opts;
  const log = opts.log ?? ((line: string) => logger.info(line));
  const topic = opts.topic ?? config.kafka.topics.transactions;
  const deadLetterTopic = opts.deadLetterTopic ?? config.kafka.topics.deadLetter;
  const groupId = opts.groupId ?? config.ingest.groupId;
  const kafka = createKafka(config, 'ingest');
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  const admin: Admin = kafka.admin();
  const counters: IngestCounters = {
    received: 0,
    started: 0,
    duplicates: 0,
    conflictingDuplicates: 0,
    deadLettered: 0,
    startRetries: 0,
    consumerRestarts: 0,
    peakRunningWorkflows: 0,
  };
  const slots = new Slots(config.ingest.maxInFlight);
  let unreadableAssignment = false;
  const assignedSettings = opts.assignments
    ? new AssignedSettings(
        settings,
        opts.assignments,
        (err) => {
          if (!unreadableAssignment)
            log(`ingest: model assignment unreadable (${(err as Error).message}); keeping the last`);
          unreadableAssignment = true;
        },
        config.env.SHADOW_TIMEOUT_MS,
      )
    : undefined;
  let stopping = false;
  let groupMembers = 1;
  let assigned: number[] | undefined;
  let batchesInProgress = 0;
  let lastActivity = Date.now();
  const nextOffset = new Map<number, number>();

  const maxRunning = opts.maxRunningWorkflows ?? config.ingest.maxRunningWorkflows;
  const runningQuery =
    `TaskQueue = '${settings.taskQueues.orchestration}' AND WorkflowType = 'scoreTransactionWorkflow' ` +
    `AND ExecutionStatus = 'Running'`;
  const budget = new RunningWorkflowBudget({
    max: maxRunning,
    maxStartsPerSecond: config.ingest.maxStartsPerSecond,
    countRunning: async () => (await client.workflow.count(runningQuery)).count,
    sharers: () => groupMembers,
    onRefresh: (running) => {
      metrics.runningWorkflows.set(running);
      counters.peakRunningWorkflows = Math.max(counters.peakRunningWorkflows, running);
    },
    onHoldChange: (holding, running) =>
      log(
        holding
          ? `ingest: ${running} scoring workflows running (bound ${maxRunning}); holding the backlog in Kafka`
          : `ingest: below the bound again (${running} running); fetching`,
      ),
  });

  async function deadLetter(message: KafkaMessage, partition: number, refusal: Refusal) {
    const record: DeadLetter = {
      schemaVersion: 1,
      reason: refusal.reason,
      detail: refusal.detail,
      source: { topic, partition, offset: message.offset },
      originalKeyBase64: message.key ? message.key.toString('base64') : null,
      originalValueBase64: message.value ? message.value.toString('base64') : null,
      originalSizeBytes: message.value?.length ?? 0,
      deadLetteredAt: new Date().toISOString(),
      ...(refusal.conflict ? { conflict: refusal.conflict } : {}),
    };
    await producer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [{ key: message.key, value: JSON.stringify(record), headers: { 'fraudflow-reason': refusal.reason } }],
    });
    counters.deadLettered++;
    metrics.deadLettered.inc({ reason: refusal.reason });
    logger.warn({ reason: refusal.reason, topic, partition, offset: message.offset }, 'event dead-lettered');
  }

  /**
   * The transactionId already has a workflow: a redelivery if that workflow was started from the same content,
   * a conflicting duplicate if not. The hash is in the existing workflow's memo; a workflow started without one
   * (by another client) cannot be compared and counts as a redelivery.
   */
  async function judgeDuplicate(workflowId: string, contentHash: string): Promise<Refusal | undefined> {
    const described = await client.workflow.getHandle(workflowId).describe();
    const existing = described.memo?.[contentHashMemoKey];
    if (typeof existing !== 'string' || existing === contentHash) {
      if (typeof existing !== 'string') log(`ingest: ${workflowId} has no content hash; taken as a redelivery`);
      counters.duplicates++;
      metrics.duplicates.inc({ kind: 'identical' });
      return undefined;
    }
    counters.conflictingDuplicates++;
    metrics.duplicates.inc({ kind: 'conflicting' });
    return {
      reason: 'conflicting_duplicate',
      detail: `transactionId already scored by ${workflowId} from other content; this event is refused`,
      conflict: {
        transactionId: workflowId.replace(/^score-/, ''),
        workflowId,
        existingContentHash: existing,
        receivedContentHash: contentHash,
      },
    };
  }

  /**
   * Starts the workflow, or judges the duplicate when its id is taken; retries while Temporal is unreachable,
   * because dropping the event is never an option. Resolves with a refusal to dead-letter, or with whether a new
   * workflow was started.
   */
  async function startScoring(
    event: TransactionEvent,
    contentHash: string,
    at: { partition: number; message: KafkaMessage; settings: ScoringSettings },
  ): Promise<Refusal | boolean> {
    const { partition, message } = at;
    const workflowId = scoringWorkflowId(event.transactionId);
    let delay = 250;
    for (;;) {
      try {
        try {
          await client.workflow.start<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
            taskQueue: settings.taskQueues.orchestration,
            workflowId,
            // Any existing workflow, running or finished within retention, makes the start fail; the duplicate is
            // then judged by its content hash. (USE_EXISTING would hide whether this start created the run.)
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
            memo: { [contentHashMemoKey]: contentHash },
            args: [
              {
                event,
                source: { kind: 'kafka', topic, partition, offset: message.offset, timestamp: kafkaTimestamp(message) },
                settings: at.settings,
              },
            ],
            staticSummary: `${event.transactionId}: ${formatMoney(event.amount)} at ${event.merchant.name} (MCC ${event.merchant.mcc})`,
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            return (await judgeDuplicate(workflowId, contentHash)) ?? false;
          throw err;
        }
        counters.started++;
        metrics.ingested.inc();
        return true;
      } catch (err) {
        if (stopping) throw err;
        counters.startRetries++;
        log(`ingest: starting ${event.transactionId} failed (${(err as Error).message}); retrying in ${delay}ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  async function handle(message: KafkaMessage, partition: number, parsed: Parsed, batchSettings: ScoringSettings) {
    if ('invalid' in parsed) {
      return deadLetter(message, partition, { reason: parsed.invalid.reason, detail: parsed.invalid.message });
    }
    const at = { partition, message, settings: batchSettings };
    const outcome = await startScoring(parsed.event, parsed.contentHash, at);
    // A duplicate started nothing: its admission goes back to the running-workflow budget.
    if (outcome !== true) budget.refund();
    if (typeof outcome === 'object') await deadLetter(message, partition, outcome);
  }

  async function eachBatch(payload: EachBatchPayload) {
    batchesInProgress++;
    lastActivity = Date.now();
    try {
      await processBatch(payload);
    } finally {
      batchesInProgress--;
      lastActivity = Date.now();
    }
  }

  async function processBatch(payload: EachBatchPayload) {
    const { batch } = payload;
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
    const pending: Array<Promise<void>> = [];
    // The champion in force when this batch arrived: a promotion takes effect from the next batch.
    const batchSettings = (await assignedSettings?.next()) ?? settings;
    let failure: unknown;
    const live = () => payload.isRunning() && !payload.isStale() && !stopping && !failure;
    for (const message of batch.messages) {
      if (!live()) break;
      const parsed = parseOrExplain(message, config.ingest.maxEventBytes);
      // Past the bound the batch waits here, heartbeating: nothing more is fetched, the backlog stays in Kafka.
      if ('event' in parsed) {
        const admitted = await budget.acquire({
          keepWaiting: live,
          whileWaiting: () =>
            payload.heartbeat().catch((err: unknown) => {
              failure ??= err; // a rebalance: stop here, acknowledge what was dispatched, rejoin
            }),
        });
        if (!admitted) break;
      }
      counters.received++;
      await slots.acquire();
      pending.push(
        handle(message, batch.partition, parsed, batchSettings)
          .catch((err: unknown) => {
            failure ??= err;
          })
          .finally(() => slots.release()),
      );
      await payload.heartbeat();
    }
    await Promise.all(pending);
    if (failure) throw failure instanceof Error ? failure : new Error('ingest batch failed');
    // Every message of this batch that we dispatched is acknowledged: only now does the offset move.
    const done = pending.length;
    const last = batch.messages[done - 1];
    if (last) {
      payload.resolveOffset(last.offset);
      nextOffset.set(batch.partition, Number(last.offset) + 1);
      await payload.commitOffsetsIfNecessary();
    }
  }

  function createConsumer(): Consumer {
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 1024 * 1024,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assigned = e.payload.memberAssignment[topic] ?? [];
      lastActivity = Date.now();
      consumer
        .describeGroup()
        .then((g) => {
          groupMembers = Math.max(1, g.members.length);
        })
        .catch(() => undefined);
    });
    return consumer;
  }

  async function runConsumer(consumer: Consumer) {
    assigned = undefined;
    lastActivity = Date.now();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.min(config.kafka.partitions, 8),
      eachBatch,
    });
  }

  // kafkajs waits for the running eachBatch calls to finish before leaving the group. After a broker restart its
  // disconnect can hang; past 30 s we go anyway: uncommitted messages are redelivered and find their workflows.
  const bounded = (p: Promise<void>) =>
    Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 30_000))]);

  let consumer = createConsumer();
  let restarting: Promise<void> | undefined;
  async function restartConsumer(why: string) {
    if (stopping || restarting) return;
    restarting = (async () => {
      counters.consumerRestarts++;
      metrics.consumerRestarts.inc();
      logger.warn({ topic, groupId, why }, 'ingest consumer stalled; restarting it');
      log(`ingest: consumer stalled (${why}); restarting it`);
      await bounded(consumer.disconnect());
      if (stopping) return;
      consumer = createConsumer();
      await runConsumer(consumer);
    })().finally(() => {
      restarting = undefined;
    });
    await restarting;
  }

  await producer.connect();
  await admin.connect();
  try {
    await requireTopics(admin, [
      { topic, variable: 'TOPIC_TRANSACTIONS' },
      { topic: deadLetterTopic, variable: 'TOPIC_DEAD_LETTER' },
    ]);
  } catch (err) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    throw err;
  }
  await runConsumer(consumer);
  const watchdog = startStallWatchdog({
    admin,
    groupId,
    topic,
    timeoutMs: opts.stallTimeoutMs ?? config.ingest.stallTimeoutMs,
    assignedPartitions: () => assigned,
    nextOffset: (partition) => nextOffset.get(partition),
    lastActivity: () => lastActivity,
    busy: () => batchesInProgress > 0 || budget.holding || restarting !== undefined,
    onLag: (lag) => {
      for (const [partition, behind] of lag) metrics.consumerLag.set({ topic, partition: String(partition) }, behind);
    },
    restart: restartConsumer,
  });

  return {
    counters,
    consumer: () => consumer,
    async stop() {
      stopping = true;
      watchdog.stop();
      await bounded(restarting ?? Promise.resolve());
      await bounded(consumer.disconnect());
      await bounded(producer.disconnect());
      await bounded(admin.disconnect());
    },
  };
}
