/**
 * The streaming path as production runs it: transactions produced to Kafka, the ingest starting one workflow per
 * event, the three workers scoring and publishing, decisions read back from the decisions topic.
 */
import type { Config } from '../../src/config';
import { produceTransactions } from '../../src/generator/produce';
import { Decision } from '../../src/schemas/decision';
import { createAssignmentStore, shadow } from '../../src/models/assignment';
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
import { startPipeline } from '../pipeline';
import { connectClient } from '../../src/temporal/client';
import type { ClosedExecution } from '../history-footprint';
import { describeFootprint, historyFootprint } from '../history-footprint';
import type { ScenarioId, ScenarioResult } from '../report';

export interface StreamingOptions {
  id: ScenarioId;
  description: string;
  /** Transactions to produce. */
  count: number;
  /** Events per second; 0 produces as fast as the broker acknowledges. */
  rate: number;
  /** A stand-in model answering after this many ms, or the real local model (Ollama, as configured). */
  model: { latencyMs: number } | 'ollama';
  /** The user's `--env` overrides. */
  env: Record<string, string>;
  /** Where the worker and ingest processes write their logs. */
  logDir: string;
  /** Write V8 CPU profiles of the worker and ingest processes here. */
  profileDir?: string;
  /** Give up once no decision has arrived for this long. @default 60 s */
  stallMs?: number;
  /** Score a challenger (the shipped policy under another name, same model) in shadow on this scenario's traffic. */
  shadow?: boolean;
  log: (line: string) => void;
}

export interface StreamingMeasurement {
  result: ScenarioResult;
  /** Overhead per decision (latency minus model time), for scenarios that report more than percentiles. */
  overheads: number[];
}

export async function runStreaming(opts: StreamingOptions): Promise<StreamingMeasurement> {
  const cleanup = new Cleanup(opts.log);
  try {
    const instant = opts.model === 'ollama' ? undefined : await startInstantModel(opts.model.latencyMs);
    if (instant) cleanup.add('stop the stand-in model', () => instant.close());
    const defaults: Record<string, string> = {
      HOSTED_ESCALATION_ENABLED: 'false',
      HOSTED_PROVIDERS: '[]',
      // The stand-in answers as fast as it is asked; slots sized to Ollama's parallelism would be the bottleneck.
      ...(instant ? { LOCAL_MODEL_BASE_URL: instant.server.baseURL, LOCAL_SCORING_CONCURRENCY: '100' } : {}),
    };
    const setup = scenarioSetup(opts.id, defaults, opts.env);
    const { config, topics } = setup;
    const kafkaTopics = await createBenchTopics(setup);
    cleanup.add('delete topics and groups', () =>
      kafkaTopics.remove([setup.ingestGroupId, watchGroupId(topics.decisions)]),
    );

    const latencies: number[] = [];
    const decidedLatencies: number[] = [];
    const samples: Array<{ produced: number; latency: number; decided: number; model: number }> = [];
    const modelTimes: number[] = [];
    const overheads: number[] = [];
    const received: number[] = [];
    const paths: Record<string, number> = {};
    const executions: ClosedExecution[] = [];
    let activities = 0;
    let invalidDecisions = 0;
    const watcher = await watchTopic(config, topics.decisions, (value, receivedAt) => {
      const parsed = Decision.safeParse(JSON.parse(value.toString('utf8')));
      if (!parsed.success) {
        invalidDecisions++;
        return;
      }
      const d = parsed.data;
      received.push(receivedAt);
      paths[d.path] = (paths[d.path] ?? 0) + 1;
      executions.push({ workflowId: d.workflowId, runId: d.runId, kind: d.path });
      activities += d.modelCalls.length + 1;
      if (d.source.kind !== 'kafka') return;
      // Produce to decision: from the transaction's Kafka timestamp to the decision's arrival on the decisions topic
      // (published and readable downstream). decidedAt (the workflow's clock when it decided) is reported beside it.
      const produced = Date.parse(d.source.timestamp);
      const latency = receivedAt - produced;
      const model = d.modelCalls.reduce((sum, c) => sum + c.latencyMs, 0);
      latencies.push(latency);
      decidedLatencies.push(Date.parse(d.decidedAt) - produced);
      samples.push({ produced, latency, decided: Date.parse(d.decidedAt) - produced, model });
      modelTimes.push(model);
      overheads.push(latency - model);
    });
    cleanup.add('stop the decisions watcher', () => watcher.stop());
    const pipeline = await startPipeline(setup, opts.logDir, { profileDir: opts.profileDir });
    let ingestCounters: { startRetries?: number } | undefined;
    cleanup.add('stop the pipeline', async () => {
      ingestCounters ??= await pipeline.close();
    });

    if (opts.shadow) {
      const stopShadow = await assignChallenger(config);
      cleanup.add('stop shadow scoring', stopShadow);
    }
    // Production starts only once the ingest owns its partitions: a rebalance is not part of any latency.
    await waitForStableGroup(kafkaTopics.admin, setup.ingestGroupId);
    await waitForStableGroup(kafkaTopics.admin, watcher.groupId);
    const sampler = startResourceSampler(config, { worker: pipeline.worker.pid, ingest: pipeline.ingest.pid });
    const sendStart = Date.now();
    const production = produceTransactions(config, { rate: opts.rate, count: opts.count, topic: topics.transactions });
    const complete = await waitForCount(watcher.count, opts.count, {
      stallMs: opts.stallMs,
      log: opts.log,
      label: 'decisions',
    });
    const produced = await production;
    const resources = sampler.stop();
    ingestCounters = await pipeline.close();
    const last = received.length > 0 ? Math.max(...received) : undefined;
    const history = await readFootprint(config, executions);
    const notes: string[] = [];
    if (invalidDecisions > 0) notes.push(`${invalidDecisions} decisions failed the Decision schema`);
    if (ingestCounters.startRetries) notes.push(`${ingestCounters.startRetries} start retries`);
    notes.push(`produced in ${produced.seconds.toFixed(1)}s`);
    if (history) notes.push(describeFootprint(history));
    const result: ScenarioResult = {
      id: opts.id,
      description: opts.description,
      status: complete ? 'measured' : 'incomplete',
      note: notes.join('; '),
      expected: opts.count,
      completed: received.length,
      throughputPerSec: round2(sustainedRate(received)),
      endToEndPerSec: last !== undefined ? round2((received.length * 1000) / (last - sendStart)) : undefined,
      pacedRatePerSec: opts.rate > 0 ? opts.rate : undefined,
      latencyMs: percentiles(latencies),
      decidedLatencyMs: percentiles(decidedLatencies),
      // The tail, located in time: a cold start, a GC pause or a periodic server task shows up here.
      slowest: samples
        .sort((a, b) => b.latency - a.latency)
        .slice(0, 10)
        .map((x) => ({
          atSeconds: Math.round((x.produced - sendStart) / 100) / 10,
          latencyMs: x.latency,
          decidedMs: x.decided,
          modelMs: x.model,
        })),
      modelMs: opts.model === 'ollama' || opts.model.latencyMs > 0 ? percentiles(modelTimes) : undefined,
      overheadMs: percentiles(overheads),
      paths,
      activitiesPerWorkflow: received.length > 0 ? Math.round((activities / received.length) * 100) / 100 : undefined,
      resources,
      history,
      settings: { ...settingsOf(config), NODE_OPTIONS: setup.env.NODE_OPTIONS ?? '' },
    };
    return { result, overheads };
  } finally {
    await cleanup.run();
  }
}

/** History bytes per decision, read after the run (not while CPU is sampled). */
async function readFootprint(config: Config, executions: ClosedExecution[]) {
  const client = await connectClient(config);
  try {
    return await historyFootprint(client, executions);
  } finally {
    await client.connection.close();
  }
}

const round2 = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 100) / 100);

/** The settings that shape throughput, recorded next to the figures they produced. */
export function settingsOf(config: Config): Record<string, string | number | boolean> {
  return {
    ORCHESTRATION_WORKFLOW_TASK_SLOTS: config.orchestration.workflowTaskSlots,
    ORCHESTRATION_ACTIVITY_SLOTS: config.orchestration.activitySlots,
    WORKFLOW_CACHE_SIZE: config.orchestration.cachedWorkflows ?? 'SDK default',
    localScoringSlots: config.localModel.concurrency,
    INGEST_MAX_IN_FLIGHT: config.ingest.maxInFlight,
    partitions: config.kafka.partitions,
    partitionsConsumedConcurrently: Math.min(config.kafka.partitions, 8),
    PAYLOAD_ENCRYPTION: config.codec.enabled,
  };
}

/**
 * Puts a challenger in shadow for the scenario's deployment (its task-queue prefix): the configured policy under
 * another name, so its hash differs, on the same model. Returns how to stop it.
 */
async function assignChallenger(config: Config): Promise<() => Promise<void>> {
  const store = createAssignmentStore(config);
  const challenger = { ...config.scoringPolicy.policy, name: 'bench-challenger' };
  const policyFileHash = await store.storePolicy(`${JSON.stringify(challenger, null, 1)}\n`);
  await store.update((a) => shadow(a, { model: config.localModel.model, policyFileHash }));
  return async () => {
    await store.update((a) => shadow(a, null));
    await store.close();
  };
}
