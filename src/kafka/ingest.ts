/**
 * The ingest: a kafkajs consumer group on the transactions topic. Each valid event starts one scoring workflow
 * (id from the transactionId); each invalid one goes to the dead-letter topic with its reason. Offsets are
 * committed only once every message up to them has been acknowledged by Temporal or by the dead-letter topic.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { z } from 'zod';
import type { Config } from '../config';
import { InvalidTransactionEventError } from '../errors';
import type { DeadLetter } from '../schemas/dead-letter';
import { TransactionEvent } from '../schemas/transaction-event';
import type { ScoringSettings } from '../scoring/settings';
import { scoringWorkflowId } from '../workflow-ids';
import { formatMoney } from '../money';
import type { scoreTransactionWorkflow } from '../../workflows/score-transaction';
import { logger } from '../observability/logger';
import { metrics } from '../observability/metrics';
import { Slots } from '../concurrency';
import { createKafka } from './client';

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
  log?: (line: string) => void;
}

export interface IngestCounters {
  received: number;
  started: number;
  /** Redeliveries that found the transaction's workflow already running or finished. */
  duplicates: number;
  deadLettered: number;
  /** Temporal start attempts that failed and were retried (server unavailable). */
  startRetries: number;
}

export interface Ingest {
  counters: IngestCounters;
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
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new InvalidTransactionEventError('invalid_json', `not JSON: ${(err as Error).message}`);
  }
  const parsed = TransactionEvent.safeParse(json);
  if (!parsed.success) throw new InvalidTransactionEventError('schema_violation', z.prettifyError(parsed.error));
  // A label (ground truth sent along with historical or synthetic traffic) never enters the scoring path.
  const { label: _label, ...event } = parsed.data;
  return event;
}

function kafkaTimestamp(message: KafkaMessage): string {
  const ms = Number(message.timestamp);
  return new Date(Number.isFinite(ms) && ms > 0 ? ms : Date.now()).toISOString();
}

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const { config, client, settings } = opts;
  const log = opts.log ?? ((line: string) => logger.info(line));
  const topic = opts.topic ?? config.kafka.topics.transactions;
  const deadLetterTopic = opts.deadLetterTopic ?? config.kafka.topics.deadLetter;
  const kafka = createKafka(config, 'ingest');
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId ?? config.ingest.groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1024 * 1024,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  });
  const counters: IngestCounters = { received: 0, started: 0, duplicates: 0, deadLettered: 0, startRetries: 0 };
  const slots = new Slots(config.ingest.maxInFlight);
  let stopping = false;

  async function deadLetter(message: KafkaMessage, partition: number, err: InvalidTransactionEventError) {
    const record: DeadLetter = {
      schemaVersion: 1,
      reason: err.reason,
      detail: err.message,
      source: { topic, partition, offset: message.offset },
      originalKeyBase64: message.key ? message.key.toString('base64') : null,
      originalValueBase64: message.value ? message.value.toString('base64') : null,
      originalSizeBytes: message.value?.length ?? 0,
      deadLetteredAt: new Date().toISOString(),
    };
    await producer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [{ key: message.key, value: JSON.stringify(record), headers: { 'fraudflow-reason': err.reason } }],
    });
    counters.deadLettered++;
    metrics.deadLettered.inc({ reason: err.reason });
    logger.warn({ reason: err.reason, topic, partition, offset: message.offset }, 'event dead-lettered');
  }

  /** Starts the workflow; retries while Temporal is unreachable, because dropping the event is never an option. */
  async function startScoring(event: TransactionEvent, partition: number, message: KafkaMessage) {
    let delay = 250;
    for (;;) {
      try {
        await client.workflow.start<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
          taskQueue: settings.taskQueues.orchestration,
          workflowId: scoringWorkflowId(event.transactionId),
          // A redelivered message attaches to the running workflow, or is rejected if it already finished:
          // either way the transaction is scored exactly once within the namespace's retention.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          args: [
            {
              event,
              source: { kind: 'kafka', topic, partition, offset: message.offset, timestamp: kafkaTimestamp(message) },
              settings,
            },
          ],
          staticSummary: `${event.transactionId}: ${formatMoney(event.amount)} at ${event.merchant.name} (MCC ${event.merchant.mcc})`,
        });
        counters.started++;
        metrics.ingested.inc();
        return;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          counters.duplicates++;
          return;
        }
        if (stopping) throw err;
        counters.startRetries++;
        log(`ingest: starting ${event.transactionId} failed (${(err as Error).message}); retrying in ${delay}ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  async function handle(message: KafkaMessage, partition: number) {
    counters.received++;
    let event: TransactionEvent;
    try {
      event = parseTransactionMessage(message, config.ingest.maxEventBytes);
    } catch (err) {
      if (err instanceof InvalidTransactionEventError) return deadLetter(message, partition, err);
      throw err;
    }
    await startScoring(event, partition, message);
  }

  async function eachBatch(payload: EachBatchPayload) {
    const { batch } = payload;
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
    const pending: Array<Promise<void>> = [];
    let failure: unknown;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || failure) break;
      await slots.acquire();
      pending.push(
        handle(message, batch.partition)
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
      await payload.commitOffsetsIfNecessary();
    }
  }

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 1000,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.min(config.kafka.partitions, 8),
    eachBatch,
  });

  return {
    counters,
    async stop() {
      stopping = true;
      // kafkajs waits for the running eachBatch calls to finish before leaving the group. After a broker restart
      // its disconnect can hang; past 30 s we go anyway: uncommitted messages are redelivered and find their
      // workflows already started.
      const bounded = (p: Promise<void>) =>
        Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 30_000))]);
      await bounded(consumer.disconnect());
      await bounded(producer.disconnect());
    },
  };
}
