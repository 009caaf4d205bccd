/**
 * The outcomes process: one Kafka consumer group on the decisions and labels topics, feeding the outcome store,
 * and the live-quality metrics recomputed from the store at an interval.
 *
 * Nothing stops it: a label that cannot be read goes to the labels' dead-letter topic with the reason; a message on
 * the decisions topic that is not a Decision is counted and skipped (fraudflow wrote it; it is not an outside
 * input to refuse); while the store is unreachable the message is tried again, heartbeating, and its offset does not
 * move, so nothing is lost. Messages of a partition are handled one at a time in their Kafka order.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Config } from '../config';
import { MissingTopicError } from '../errors';
import { createKafka } from '../kafka/client';
import type { Refusal } from '../kafka/transaction-messages';
import { deadLetterRecord } from '../kafka/transaction-messages';
import { logger } from '../observability/logger';
import { metrics } from '../observability/metrics';
import { qualityMetrics, showLiveQuality } from '../observability/quality-metrics';
import { Decision } from '../schemas/decision';
import { jsonOrUndefined } from '../schemas/json';
import type { CountedCell } from './outcome-record';
import { summarizeDecision } from './outcome-record';
import { readLabelMessage } from './label-messages';
import type { DriftReferences, LiveQuality } from './read-quality';
import { driftReferencesFor, readLiveQuality } from './read-quality';
import type { OutcomeStore } from './store';

export interface OutcomesOptions {
  config: Config;
  store: OutcomeStore;
  /** @default config.kafka.topics.decisions */
  decisionsTopic?: string;
  /** @default config.kafka.topics.labels */
  labelsTopic?: string;
  /** @default config.kafka.topics.labelsDeadLetter */
  labelsDeadLetterTopic?: string;
  /** @default config.outcomes.groupId */
  groupId?: string;
  /** Read the topics from the beginning when the group has no committed offset. @default true */
  fromBeginning?: boolean;
  /** How often the live-quality gauges are recomputed from the store. @default 15000 */
  metricsRefreshMs?: number;
  /** Tuning distributions for score drift. @default the configured policy's ({@link driftReferencesFor}) */
  references?: DriftReferences;
  /** Live probabilities needed before a PSI is computed. @default 100 */
  minDriftSample?: number;
}

export interface OutcomesCounters {
  decisions: number;
  labels: number;
  deadLetteredLabels: number;
  invalidDecisions: number;
  /** Store operations that failed and were tried again. */
  storeRetries: number;
}

export interface Outcomes {
  counters: OutcomesCounters;
  /** Recomputes the live-quality gauges now and returns what they show. */
  refreshMetrics(): Promise<LiveQuality>;
  /** Stops fetching, finishes the message in hand, commits, leaves the group. */
  stop(): Promise<void>;
}

export async function startOutcomes(opts: OutcomesOptions): Promise<Outcomes> {
  const outcomes = new OutcomesConsumer(opts);
  await outcomes.start();
  return outcomes;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class OutcomesConsumer implements Outcomes {
  readonly counters: OutcomesCounters = {
    decisions: 0,
    labels: 0,
    deadLetteredLabels: 0,
    invalidDecisions: 0,
    storeRetries: 0,
  };
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly topics: { decisions: string; labels: string; labelsDeadLetter: string };
  private readonly references: DriftReferences;
  private stopping = false;
  private refresher: NodeJS.Timeout | undefined;

  constructor(private readonly opts: OutcomesOptions) {
    const { config } = opts;
    this.topics = {
      decisions: opts.decisionsTopic ?? config.kafka.topics.decisions,
      labels: opts.labelsTopic ?? config.kafka.topics.labels,
      labelsDeadLetter: opts.labelsDeadLetterTopic ?? config.kafka.topics.labelsDeadLetter,
    };
    this.references = opts.references ?? driftReferencesFor(config);
    this.kafka = createKafka(config, 'outcomes');
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    this.consumer = this.kafka.consumer({
      groupId: opts.groupId ?? config.outcomes.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
  }

  async start(): Promise<void> {
    await this.requireTopics();
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [this.topics.decisions, this.topics.labels],
      fromBeginning: this.opts.fromBeginning ?? true,
    });
    await this.consumer.run({ autoCommit: true, eachBatchAutoResolve: false, eachBatch: this.eachBatch });
    const every = this.opts.metricsRefreshMs ?? 15_000;
    this.refresher = setInterval(() => {
      this.refreshMetrics().catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'live quality not refreshed'),
      );
    }, every);
    this.refresher.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.refresher);
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }

  async refreshMetrics(): Promise<LiveQuality> {
    const quality = await readLiveQuality(this.opts.store, {
      references: this.references,
      psiWarning: this.opts.config.outcomes.psiWarning,
      ...(this.opts.minDriftSample !== undefined ? { minDriftSample: this.opts.minDriftSample } : {}),
    });
    showLiveQuality(quality.windows, quality.counts, quality.awaitingDecision);
    // One line per drifting policy, with the PSI of each window past the threshold.
    const drifting = new Map<string, Record<string, number | undefined>>();
    for (const q of quality.windows.filter((w) => w.drift.warning)) {
      drifting.set(q.policyHash, { ...drifting.get(q.policyHash), [q.window]: q.drift.psi });
    }
    for (const [policyHash, psi] of drifting) {
      logger.warn(
        { policyHash, psi },
        'score drift: live fraud probabilities have moved away from the tuning distribution',
      );
    }
    return quality;
  }

  private async requireTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      for (const [topic, variable] of [
        [this.topics.decisions, 'TOPIC_DECISIONS'],
        [this.topics.labels, 'TOPIC_LABELS'],
        [this.topics.labelsDeadLetter, 'TOPIC_LABELS_DEAD_LETTER'],
      ] as const) {
        if (!existing.has(topic)) throw new MissingTopicError(topic, variable);
      }
    } finally {
      await admin.disconnect();
    }
  }

  private readonly eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || this.stopping) break;
      const done = await this.untilDone(() => this.handle(batch.topic, batch.partition, message), payload);
      if (!done) break;
      payload.resolveOffset(message.offset);
      await payload.heartbeat();
    }
    await payload.commitOffsetsIfNecessary();
  };

  /** Runs `handle` until it succeeds (true) or the consumer stops (false), backing off and heartbeating. */
  private async untilDone(handle: () => Promise<void>, payload: EachBatchPayload): Promise<boolean> {
    for (let failures = 0; ; failures++) {
      try {
        await handle();
        return true;
      } catch (err) {
        this.counters.storeRetries++;
        qualityMetrics.outcomeStoreErrors.inc();
        logger.warn({ err: (err as Error).message, failures }, 'outcomes: message not recorded; trying again');
        await sleep(Math.min(200 * 2 ** failures, 5_000));
        if (!payload.isRunning() || payload.isStale() || this.stopping) return false;
        await payload.heartbeat().catch(() => undefined);
      }
    }
  }

  private async handle(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    if (topic === this.topics.labels) return this.handleLabel(partition, message);
    const parsed = Decision.safeParse(jsonOrUndefined(message.value?.toString('utf8')));
    if (!parsed.success) {
      this.counters.invalidDecisions++;
      qualityMetrics.invalidDecisions.inc();
      logger.warn({ topic, partition, offset: message.offset }, 'outcomes: not a Decision on the decisions topic');
      return;
    }
    const recorded = await this.opts.store.recordDecision(summarizeDecision(parsed.data));
    this.counters.decisions++;
    if (recorded.joined) observeDelay(recorded.joined);
  }

  private async handleLabel(partition: number, message: KafkaMessage): Promise<void> {
    const reading = readLabelMessage(message);
    if ('refusal' in reading) return this.deadLetter(partition, message, reading.refusal);
    const recorded = await this.opts.store.recordLabel(reading.label);
    this.counters.labels++;
    qualityMetrics.labels.inc({ effect: recorded.effect });
    if (recorded.joined) observeDelay(recorded.joined);
  }

  private async deadLetter(partition: number, message: KafkaMessage, refusal: Refusal): Promise<void> {
    const record = deadLetterRecord(message, { topic: this.topics.labels, partition }, refusal);
    await this.producer.send({
      topic: this.topics.labelsDeadLetter,
      acks: -1,
      messages: [{ key: message.key, value: JSON.stringify(record), headers: { 'fraudflow-reason': refusal.reason } }],
    });
    // Counted once the label is safely on the dead-letter topic; a lost count must not send it there twice.
    await this.opts.store
      .countDeadLetteredLabel()
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'dead-lettered label not counted'));
    this.counters.deadLetteredLabels++;
    qualityMetrics.labels.inc({ effect: 'dead_lettered' });
    metrics.deadLettered.inc({ reason: refusal.reason });
    logger.warn({ reason: refusal.reason, partition, offset: message.offset }, 'label dead-lettered');
  }
}

function observeDelay(cell: CountedCell): void {
  qualityMetrics.labelDelay.observe({ source: cell.source }, cell.labelDelaySeconds);
}
