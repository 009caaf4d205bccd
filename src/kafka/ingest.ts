/**
 * The ingest: a kafkajs consumer group on the transactions topic. Each valid event starts one scoring workflow
 * (id from the transactionId); each invalid one goes to the dead-letter topic with its reason. Offsets are
 * committed only once every message up to them has been acknowledged by Temporal or by the dead-letter topic.
 *
 * Three guards: running scoring workflows are bounded (past INGEST_MAX_RUNNING_WORKFLOWS the batch waits and the
 * backlog stays in Kafka); a consumer that stops receiving is replaced; an event that reuses a transactionId with
 * other content is dead-lettered as `conflicting_duplicate` instead of being taken for a redelivery.
 */
import type { Client } from '@temporalio/client';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { Slots } from '../concurrency';
import type { Config } from '../config';
import { MissingTopicError } from '../errors';
import { AssignedSettings } from '../models/assigned-settings';
import type { ModelAssignmentStore } from '../models/assignment';
import { logger } from '../observability/logger';
import { metrics } from '../observability/metrics';
import type { ScoringSettings } from '../scoring/settings';
import { createKafka } from './client';
import { RunningWorkflowLimit } from './running-limit';
import { ScoringStarts } from './scoring-starts';
import { startStallWatchdog } from './stall-watchdog';
import type { ParsedMessage, Refusal } from './transaction-messages';
import { deadLetterRecord, parseOrExplain } from './transaction-messages';

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

/** Fails fast with a readable {@link MissingTopicError} instead of a consumer that cannot subscribe. */
async function requireTopics(admin: Admin, wanted: Array<{ topic: string; variable: string }>): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = wanted.find((w) => !existing.has(w.topic));
  if (missing) throw new MissingTopicError(missing.topic, missing.variable);
}

/** Connects, checks the topics exist, joins the consumer group and starts the stall watchdog. */
export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const ingest = new KafkaIngest(opts);
  await ingest.start();
  return ingest;
}

/**
 * The messages of a batch are handled concurrently, except that events sharing a transactionId are handled one
 * after another in their Kafka order: the first one starts the workflow and a later copy is judged against it,
 * never the other way round.
 */
class TransactionOrder {
  private readonly last = new Map<string, Promise<void>>();

  after(parsed: ParsedMessage, handle: () => Promise<void>): Promise<void> {
    if (!('event' in parsed)) return handle();
    const id = parsed.event.transactionId;
    const previous = this.last.get(id);
    const handled = previous ? previous.then(handle) : handle();
    this.last.set(
      id,
      handled.catch(() => undefined),
    );
    return handled;
  }
}

// kafkajs waits for the running eachBatch calls to finish before leaving the group. After a broker restart its
// disconnect can hang; past 30 s we go anyway: uncommitted messages are redelivered and find their workflows.
type StallWatchdog = ReturnType<typeof startStallWatchdog>;

async function bounded(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 30_000);
  });
  try {
    await Promise.race([p.catch(() => undefined), late]);
  } finally {
    // A pending 30 s timer would hold the process open that long after a clean stop.
    clearTimeout(timer);
  }
}

class KafkaIngest implements Ingest {
  readonly counters: IngestCounters = {
    received: 0,
    started: 0,
    duplicates: 0,
    conflictingDuplicates: 0,
    deadLettered: 0,
    startRetries: 0,
    consumerRestarts: 0,
    peakRunningWorkflows: 0,
  };
  private readonly config: Config;
  private readonly settings: ScoringSettings;
  private readonly log: (line: string) => void;
  private readonly topic: string;
  private readonly deadLetterTopic: string;
  private readonly groupId: string;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly slots: Slots;
  private readonly runningLimit: RunningWorkflowLimit;
  private readonly starts: ScoringStarts;
  private readonly assignedSettings: AssignedSettings | undefined;
  private stopping = false;
  private groupMembers = 1;
  private assigned: number[] | undefined;
  private batchesInProgress = 0;
  private lastActivity = Date.now();
  private readonly nextOffset = new Map<number, number>();
  private current: Consumer;
  private restarting: Promise<void> | undefined;
  private watchdog: StallWatchdog | undefined;

  constructor(private readonly opts: IngestOptions) {
    const { config, settings } = opts;
    this.config = config;
    this.settings = settings;
    this.log = opts.log ?? ((line: string) => logger.info(line));
    this.topic = opts.topic ?? config.kafka.topics.transactions;
    this.deadLetterTopic = opts.deadLetterTopic ?? config.kafka.topics.deadLetter;
    this.groupId = opts.groupId ?? config.ingest.groupId;
    this.kafka = createKafka(config, 'ingest');
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    this.admin = this.kafka.admin();
    this.slots = new Slots(config.ingest.maxInFlight);
    this.assignedSettings = this.followAssignments();
    this.runningLimit = this.createRunningLimit();
    this.starts = new ScoringStarts({
      client: opts.client,
      taskQueue: settings.taskQueues.orchestration,
      counters: this.counters,
      log: this.log,
      stopping: () => this.stopping,
    });
    this.current = this.createConsumer();
  }

  consumer(): Consumer {
    return this.current;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.admin.connect();
    try {
      await requireTopics(this.admin, [
        { topic: this.topic, variable: 'TOPIC_TRANSACTIONS' },
        { topic: this.deadLetterTopic, variable: 'TOPIC_DEAD_LETTER' },
      ]);
    } catch (err) {
      await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
      throw err;
    }
    await this.runConsumer(this.current);
    this.watchdog = this.startWatchdog();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.watchdog?.stop();
    await bounded(this.restarting ?? Promise.resolve());
    await bounded(this.current.disconnect());
    await bounded(this.producer.disconnect());
    await bounded(this.admin.disconnect());
  }

  /** The champion in force, read before every batch; an unreadable store keeps the last one. */
  private followAssignments(): AssignedSettings | undefined {
    if (!this.opts.assignments) return undefined;
    let unreadable = false;
    const onError = (err: unknown) => {
      if (!unreadable) this.log(`ingest: model assignment unreadable (${(err as Error).message}); keeping the last`);
      unreadable = true;
    };
    return new AssignedSettings(this.settings, this.opts.assignments, onError, this.config.env.SHADOW_TIMEOUT_MS);
  }

  /** Bounds the running scoring workflows: past the bound, batches wait and the backlog stays in Kafka. */
  private createRunningLimit(): RunningWorkflowLimit {
    const maxRunning = this.opts.maxRunningWorkflows ?? this.config.ingest.maxRunningWorkflows;
    const runningQuery =
      `TaskQueue = '${this.settings.taskQueues.orchestration}' AND WorkflowType = 'scoreTransactionWorkflow' ` +
      `AND ExecutionStatus = 'Running'`;
    return new RunningWorkflowLimit({
      max: maxRunning,
      maxStartsPerSecond: this.config.ingest.maxStartsPerSecond,
      countRunning: async () => (await this.opts.client.workflow.count(runningQuery)).count,
      sharers: () => this.groupMembers,
      onRefresh: (running) => {
        metrics.runningWorkflows.set(running);
        this.counters.peakRunningWorkflows = Math.max(this.counters.peakRunningWorkflows, running);
      },
      onHoldChange: (holding, running) =>
        this.log(
          holding
            ? `ingest: ${running} scoring workflows running (bound ${maxRunning}); holding the backlog in Kafka`
            : `ingest: below the bound again (${running} running); fetching`,
        ),
    });
  }

  private async deadLetter(message: KafkaMessage, partition: number, refusal: Refusal): Promise<void> {
    const record = deadLetterRecord(message, { topic: this.topic, partition }, refusal);
    await this.producer.send({
      topic: this.deadLetterTopic,
      acks: -1,
      messages: [{ key: message.key, value: JSON.stringify(record), headers: { 'fraudflow-reason': refusal.reason } }],
    });
    this.counters.deadLettered++;
    metrics.deadLettered.inc({ reason: refusal.reason });
    logger.warn(
      { reason: refusal.reason, topic: this.topic, partition, offset: message.offset },
      'event dead-lettered',
    );
  }

  private async handle(message: KafkaMessage, partition: number, parsed: ParsedMessage, settings: ScoringSettings) {
    if ('invalid' in parsed) {
      return this.deadLetter(message, partition, { reason: parsed.invalid.reason, detail: parsed.invalid.message });
    }
    const at = { topic: this.topic, partition, message, settings };
    const outcome = await this.starts.start(parsed.event, parsed.contentHash, at);
    // A duplicate started nothing: its admission goes back to the running-workflow limit.
    if (outcome !== true) this.runningLimit.refund();
    if (typeof outcome === 'object') await this.deadLetter(message, partition, outcome);
  }

  private readonly eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    this.batchesInProgress++;
    this.lastActivity = Date.now();
    try {
      await this.processBatch(payload);
    } finally {
      this.batchesInProgress--;
      this.lastActivity = Date.now();
    }
  };

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
    const pending: Array<Promise<void>> = [];
    const inKafkaOrder = new TransactionOrder();
    // The champion in force when this batch arrived: a promotion takes effect from the next batch.
    const batchSettings = (await this.assignedSettings?.next()) ?? this.settings;
    let failure: unknown;
    const live = () => payload.isRunning() && !payload.isStale() && !this.stopping && !failure;
    for (const message of batch.messages) {
      if (!live()) break;
      const parsed = parseOrExplain(message, this.config.ingest.maxEventBytes);
      // Past the bound the batch waits here, heartbeating: nothing more is fetched, the backlog stays in Kafka.
      if ('event' in parsed) {
        const admitted = await this.runningLimit.acquire({
          keepWaiting: live,
          whileWaiting: () =>
            payload.heartbeat().catch((err: unknown) => {
              failure ??= err; // a rebalance: stop here, acknowledge what was dispatched, rejoin
            }),
        });
        if (!admitted) break;
      }
      this.counters.received++;
      await this.slots.acquire();
      pending.push(
        inKafkaOrder
          .after(parsed, () => this.handle(message, batch.partition, parsed, batchSettings))
          .catch((err: unknown) => {
            failure ??= err;
          })
          .finally(() => this.slots.release()),
      );
      await payload.heartbeat();
    }
    await Promise.all(pending);
    if (failure) throw failure instanceof Error ? failure : new Error('ingest batch failed');
    await this.acknowledge(payload, pending.length);
  }

  /** Every message of the batch up to `done` was dispatched and acknowledged: only now does the offset move. */
  private async acknowledge(payload: EachBatchPayload, done: number): Promise<void> {
    const { batch } = payload;
    const last = batch.messages[done - 1];
    if (!last) return;
    payload.resolveOffset(last.offset);
    this.nextOffset.set(batch.partition, Number(last.offset) + 1);
    await payload.commitOffsetsIfNecessary();
  }

  private createConsumer(): Consumer {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 1024 * 1024,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.assigned = e.payload.memberAssignment[this.topic] ?? [];
      this.lastActivity = Date.now();
      consumer
        .describeGroup()
        .then((g) => {
          this.groupMembers = Math.max(1, g.members.length);
        })
        .catch(() => undefined);
    });
    return consumer;
  }

  private async runConsumer(consumer: Consumer): Promise<void> {
    this.assigned = undefined;
    this.lastActivity = Date.now();
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.min(this.config.kafka.partitions, 8),
      eachBatch: this.eachBatch,
    });
  }

  private readonly restartConsumer = async (why: string): Promise<void> => {
    if (this.stopping || this.restarting) return;
    this.restarting = (async () => {
      this.counters.consumerRestarts++;
      metrics.consumerRestarts.inc();
      logger.warn({ topic: this.topic, groupId: this.groupId, why }, 'ingest consumer stalled; restarting it');
      this.log(`ingest: consumer stalled (${why}); restarting it`);
      await bounded(this.current.disconnect());
      if (this.stopping) return;
      this.current = this.createConsumer();
      await this.runConsumer(this.current);
    })().finally(() => {
      this.restarting = undefined;
    });
    await this.restarting;
  };

  private startWatchdog(): StallWatchdog {
    return startStallWatchdog({
      admin: this.admin,
      groupId: this.groupId,
      topic: this.topic,
      timeoutMs: this.opts.stallTimeoutMs ?? this.config.ingest.stallTimeoutMs,
      assignedPartitions: () => this.assigned,
      nextOffset: (partition) => this.nextOffset.get(partition),
      lastActivity: () => this.lastActivity,
      busy: () => this.batchesInProgress > 0 || this.runningLimit.holding || this.restarting !== undefined,
      onLag: (lag) => {
        for (const [partition, behind] of lag)
          metrics.consumerLag.set({ topic: this.topic, partition: String(partition) }, behind);
      },
      restart: this.restartConsumer,
    });
  }
}
