/**
 * The ceiling: as many workflows as the streaming scenario, each running two no-op activities on the same two
 * task queues as scoreTransactionWorkflow, on workers with the same slot sizes as src/worker-set/roles.ts, started as
 * fast as a client allows with the ingest's bound on in-flight starts. No Kafka, no codec, no model.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { dataConverterFor } from '../../src/codec';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';
import { connectWorker, quietBundlerLogger } from '../../src/worker-set';
import { createBareActivities } from '../bare-activities';
import { RedisCardHistoryStore } from '../../src/features/store';
import {
  Cleanup,
  percentiles,
  scenarioSetup,
  sleep,
  startResourceSampler,
  sustainedRate,
  waitForCount,
} from '../harness';
import type { ScenarioResult } from '../report';
import { describeFootprint, historyFootprint } from '../history-footprint';
import { settingsOf } from './streaming';
import type { BareWorkflowInput, bareWorkflow } from '../workflows/bare';

/**
 * What scoreTransactionWorkflow does on top of the bare shape (`timer`: what it once did, a workflow timer for its
 * deadline); each can be added back to measure its cost.
 */
export const bareFeatures = ['timer', 'search-attributes', 'payload', 'codec'] as const;
export type BareFeature = (typeof bareFeatures)[number];

export interface BareTemporalOptions {
  count: number;
  /** Features of scoreTransactionWorkflow to add back. @default none: the bare ceiling */
  like?: BareFeature[];
  env: Record<string, string>;
  /** Request eager workflow start (the client shares the workers' NativeConnection). @default false */
  eager?: boolean;
  log: (line: string) => void;
}

export async function runBareTemporal(opts: BareTemporalOptions): Promise<ScenarioResult> {
  const like = new Set(opts.like ?? []);
  const setup = scenarioSetup('bare-temporal', { LOCAL_SCORING_CONCURRENCY: '100' }, opts.env);
  const { config, taskQueues } = setup;
  const dataConverter = like.has('codec') ? dataConverterFor(config) : undefined;
  const generator = createTransactionGenerator();
  const settings = scoringSettingsFromConfig(config, { taskQueues, decisionsTopic: setup.topics.decisions });
  const inputFor = (): BareWorkflowInput => ({
    localScoringQueue: taskQueues.localScoring,
    ...(like.has('timer') ? { deadlineMs: config.decisionDeadlineMs } : {}),
    ...(like.has('search-attributes') ? { searchAttributes: true } : {}),
    ...(like.has('payload') ? { payload: { settings } } : {}),
    event: generator.next(),
  });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, '..', 'workflows', 'bare.ts'),
    logger: quietBundlerLogger,
  });
  const cleanup = new Cleanup(opts.log);
  try {
    const connection = await connectWorker(config);
    cleanup.add('close the worker connection', () => connection.close());
    const finished: number[] = [];
    const featureSteps: number[] = [];
    // Its own key prefix: the benchmark's cards never mix with live ones.
    const store = new RedisCardHistoryStore({ url: config.featureStore.url, keyPrefix: `bench-${setup.id}` });
    cleanup.add('close the feature store', () => store.close());
    const { scoreNoop, publishNoop, computeCardFeatures } = createBareActivities({
      onFinished: (at) => finished.push(at),
      store,
      onFeatureStep: (ms) => featureSteps.push(ms),
    });
    const workers = [
      await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: taskQueues.orchestration,
        dataConverter,
        workflowBundle,
        activities: { publishNoop, computeCardFeatures },
        maxConcurrentLocalActivityExecutions: config.orchestration.activitySlots,
        maxConcurrentWorkflowTaskExecutions: config.orchestration.workflowTaskSlots,
        maxConcurrentActivityTaskExecutions: config.orchestration.activitySlots,
        ...(config.orchestration.cachedWorkflows !== undefined
          ? { maxCachedWorkflows: config.orchestration.cachedWorkflows }
          : {}),
      }),
      await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: taskQueues.localScoring,
        dataConverter,
        activities: { scoreNoop },
        maxConcurrentActivityTaskExecutions: config.localModel.concurrency,
      }),
    ];
    const running = workers.map((w) => w.run());
    cleanup.add('stop the workers', async () => {
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
    });
    // Eager start hands the first workflow task straight to a worker on the same connection.
    const clientConnection = opts.eager ? undefined : await Connection.connect({ address: config.temporal.address });
    if (clientConnection) cleanup.add('close the client connection', () => clientConnection.close());
    const client = new Client({
      connection: clientConnection ?? connection,
      namespace: config.temporal.namespace,
      dataConverter,
    });

    const startLatencies: number[] = [];
    let startRetries = 0;
    let eagerlyStarted = 0;
    const sampler = startResourceSampler(config);
    const sendStart = Date.now();
    let next = 0;
    let stopped = false;
    const startOne = async (i: number) => {
      for (let delay = 250; !stopped; delay = Math.min(delay * 2, 5000)) {
        const t0 = performance.now();
        try {
          const handle = await client.workflow.start<typeof bareWorkflow>('bareWorkflow', {
            taskQueue: taskQueues.orchestration,
            workflowId: `bare-${setup.id}-${i}`,
            args: [inputFor()],
            requestEagerStart: opts.eager ?? false,
          });
          startLatencies.push(performance.now() - t0);
          if (handle.eagerlyStarted) eagerlyStarted++;
          return;
        } catch (err) {
          startRetries++;
          opts.log(`  bare start ${i} failed (${(err as Error).message}); retrying`);
          await sleep(delay);
        }
      }
    };
    // The same bound as the ingest's INGEST_MAX_IN_FLIGHT.
    const starters = Array.from({ length: config.ingest.maxInFlight }, async () => {
      while (next < opts.count && !stopped) await startOne(next++);
    });
    const complete = await waitForCount(() => finished.length, opts.count, { log: opts.log, label: 'workflows' });
    stopped = true;
    await Promise.all(starters);
    const resources = sampler.stop();
    const history = await historyFootprint(
      client,
      Array.from({ length: finished.length }, (_, i) => ({ workflowId: `bare-${setup.id}-${i}`, kind: 'bare' })),
    );
    const last = finished.length > 0 ? Math.max(...finished) : undefined;
    const start = percentiles(startLatencies);
    const featureStep = percentiles(featureSteps);
    const notes = [
      featureStep
        ? `feature step (Redis read-and-append + features) p50 ${featureStep.p50.toFixed(2)}ms, p99 ${featureStep.p99.toFixed(2)}ms over ${featureSteps.length} calls`
        : '',
      start ? `start RPC p50 ${Math.round(start.p50)}ms, p99 ${Math.round(start.p99)}ms` : '',
      like.size > 0 ? `bare + ${[...like].join(' + ')} (scoreTransactionWorkflow's features added back)` : '',
      opts.eager ? `eager start requested: ${eagerlyStarted} of ${opts.count} started eagerly` : '',
      startRetries > 0 ? `${startRetries} start retries` : '',
      describeFootprint(history),
    ].filter((s) => s.length > 0);
    return {
      id: 'bare-temporal',
      description: 'the ceiling: the same number of workflows with 2 no-op activities on the same workers settings',
      status: complete ? 'measured' : 'incomplete',
      note: notes.join('; '),
      expected: opts.count,
      completed: finished.length,
      throughputPerSec: round2(sustainedRate(finished)),
      endToEndPerSec: last !== undefined ? round2((finished.length * 1000) / (last - sendStart)) : undefined,
      activitiesPerWorkflow: 2,
      resources,
      history,
      settings: {
        ...settingsOf(config),
        PAYLOAD_ENCRYPTION: like.has('codec'),
        eagerStart: opts.eager ?? false,
        addedBack: [...like].join(',') || 'none',
      },
    };
  } finally {
    await cleanup.run();
  }
}

const round2 = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 100) / 100);
