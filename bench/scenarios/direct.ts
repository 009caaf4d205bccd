/**
 * The non-durable baseline: one kafkajs consumer that parses each event, applies the rules, asks the instant
 * model through the openai SDK (the same first pass as scoreWithLocalModel: embedding, probe, calibration over card
 * history kept in memory) and produces a decision JSON. No Temporal: a crash loses whatever was in flight.
 * Concurrency matches the ingest (INGEST_MAX_IN_FLIGHT across partitions, the same partitionsConsumedConcurrently),
 * offsets move after each batch is answered.
 */
import type { EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import OpenAI from 'openai';
import { z } from 'zod';
import type { Config } from '../../src/config';
import { produceTransactions } from '../../src/generator/produce';
import { Slots } from '../../src/concurrency';
import { createKafka } from '../../src/kafka/client';
import { parseTransactionMessage } from '../../src/kafka/transaction-messages';
import type { DecisionOutcome } from '../../src/schemas/decision';
import { finalOutcome, outcomeForScore } from '../../src/scoring/decide';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { embedFirstPass, embeddedText } from '../../src/models/first-pass';
import { calibrate } from '../../src/scoring/calibration';
import { predictLogit } from '../../src/scoring/logistic';
import { evaluateRules, hasEffect } from '../../src/scoring/rules';
import {
  Cleanup,
  createBenchTopics,
  percentiles,
  scenarioSetup,
  startInstantModel,
  startResourceSampler,
  sustainedRate,
  waitForCount,
  waitForStableGroup,
  watchGroupId,
  watchTopic,
} from '../harness';
import type { ScenarioResult } from '../report';

export interface DirectOptions {
  count: number;
  env: Record<string, string>;
  log: (line: string) => void;
}

/** What the baseline publishes: enough to measure it the same way as a fraudflow Decision. */
const DirectDecision = z.object({
  transactionId: z.string(),
  decision: z.enum(['approve', 'review', 'decline']),
  riskScore: z.number(),
  decidedAt: z.iso.datetime(),
  sourceTimestamp: z.iso.datetime(),
  modelLatencyMs: z.number(),
});
type DirectDecision = z.infer<typeof DirectDecision>;

async function startDirectScorer(config: Config, groupId: string, topics: { transactions: string; decisions: string }) {
  const kafka = createKafka(config, 'bench-direct');
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 1024 * 1024 });
  const openai = new OpenAI({
    baseURL: config.localModel.baseURL,
    apiKey: config.localModel.apiKey,
    maxRetries: 0,
    timeout: config.localModel.timeoutMs,
  });
  const slots = new Slots(config.ingest.maxInFlight);
  const history = new ReplayCardHistory();
  const { firstPass } = config.scoringPolicy.policy;
  let modelFailures = 0;

  async function score(message: KafkaMessage): Promise<void> {
    const event = parseTransactionMessage(message, config.ingest.maxEventBytes);
    const ruleHits = evaluateRules(event, config.policy.rules);
    let outcome: DecisionOutcome = 'decline';
    let riskScore = 1;
    let modelLatencyMs = 0;
    if (!hasEffect(ruleHits, 'decline')) {
      const started = performance.now();
      try {
        // The same first pass as the pipeline's (embedding, probe, calibration), with card history kept in this
        // process's memory: the non-durable baseline has no feature store.
        const features = history.featuresFor(event);
        if (firstPass.kind !== 'embedding-probe')
          throw new Error('the direct baseline needs an embedding-probe policy');
        const text = embeddedText(event, features, firstPass.answerCue);
        const { embedding } = await embedFirstPass(openai, config.localModel.model, text);
        const modelLogit = predictLogit(firstPass.probe, embedding);
        riskScore = calibrate(config.scoringPolicy.policy.calibration, event, features, modelLogit).probability;
        outcome = finalOutcome(outcomeForScore(riskScore, config.policy), ruleHits);
      } catch {
        // No retries here: that is the point of the baseline. A failed call goes to review.
        modelFailures++;
        outcome = 'review';
        riskScore = 0.5;
      }
      modelLatencyMs = Math.round(performance.now() - started);
    }
    const decision: DirectDecision = {
      transactionId: event.transactionId,
      decision: outcome,
      riskScore,
      decidedAt: new Date().toISOString(),
      sourceTimestamp: new Date(Number(message.timestamp)).toISOString(),
      modelLatencyMs,
    };
    await producer.send({
      topic: topics.decisions,
      acks: -1,
      messages: [{ key: event.transactionId, value: JSON.stringify(decision) }],
    });
  }

  async function eachBatch(payload: EachBatchPayload) {
    const pending: Array<Promise<void>> = [];
    for (const message of payload.batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      await slots.acquire();
      pending.push(score(message).finally(() => slots.release()));
    }
    await Promise.all(pending);
    const last = payload.batch.messages[pending.length - 1];
    if (last) {
      payload.resolveOffset(last.offset);
      await payload.commitOffsetsIfNecessary();
    }
  }

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.transactions, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.min(config.kafka.partitions, 8),
    eachBatch,
  });
  return {
    modelFailures: () => modelFailures,
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

export async function runDirect(opts: DirectOptions): Promise<ScenarioResult> {
  const cleanup = new Cleanup(opts.log);
  try {
    const instant = await startInstantModel(0);
    cleanup.add('stop the stand-in model', () => instant.close());
    const setup = scenarioSetup('direct', { LOCAL_MODEL_BASE_URL: instant.server.baseURL }, opts.env);
    const { config, topics } = setup;
    const kafkaTopics = await createBenchTopics(setup);
    cleanup.add('delete topics and groups', () =>
      kafkaTopics.remove([setup.ingestGroupId, watchGroupId(topics.decisions)]),
    );
    const received: number[] = [];
    const latencies: number[] = [];
    const overheads: number[] = [];
    const watcher = await watchTopic(config, topics.decisions, (value, receivedAt) => {
      const parsed = DirectDecision.safeParse(JSON.parse(value.toString('utf8')));
      if (!parsed.success) return;
      received.push(receivedAt);
      const latency = Date.parse(parsed.data.decidedAt) - Date.parse(parsed.data.sourceTimestamp);
      latencies.push(latency);
      overheads.push(latency - parsed.data.modelLatencyMs);
    });
    cleanup.add('stop the decisions watcher', () => watcher.stop());
    const scorer = await startDirectScorer(config, setup.ingestGroupId, topics);
    cleanup.add('stop the direct scorer', () => scorer.stop());
    await waitForStableGroup(kafkaTopics.admin, setup.ingestGroupId);
    await waitForStableGroup(kafkaTopics.admin, watcher.groupId);
    const sampler = startResourceSampler(config);
    const sendStart = Date.now();
    const production = produceTransactions(config, { rate: 0, count: opts.count, topic: topics.transactions });
    const complete = await waitForCount(watcher.count, opts.count, { log: opts.log, label: 'decisions' });
    const produced = await production;
    const resources = sampler.stop();
    const last = received.length > 0 ? Math.max(...received) : undefined;
    return {
      id: 'direct',
      description: 'non-durable baseline: kafkajs consumer → openai SDK → decision topic, no Temporal',
      status: complete ? 'measured' : 'incomplete',
      note: [
        `produced in ${produced.seconds.toFixed(1)}s`,
        scorer.modelFailures() > 0 ? `${scorer.modelFailures()} model calls failed` : '',
      ]
        .filter((s) => s.length > 0)
        .join('; '),
      expected: opts.count,
      completed: received.length,
      throughputPerSec: round2(sustainedRate(received)),
      endToEndPerSec: last !== undefined ? round2((received.length * 1000) / (last - sendStart)) : undefined,
      latencyMs: percentiles(latencies),
      overheadMs: percentiles(overheads),
      resources,
      settings: {
        INGEST_MAX_IN_FLIGHT: config.ingest.maxInFlight,
        partitions: config.kafka.partitions,
        partitionsConsumedConcurrently: Math.min(config.kafka.partitions, 8),
      },
    };
  } finally {
    await cleanup.run();
  }
}

const round2 = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 100) / 100);
