/**
 * Worker builders shared by the entry points, the dev mode and the tests: one per role, each with the task queue
 * and slot sizes its work needs.
 */
import type { ModelAssignmentStore } from '../src/models/assignment';
import fs from 'node:fs';
import path from 'node:path';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import type { WorkflowBundleOption, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Producer } from 'kafkajs';
import type { Client } from '@temporalio/client';
import {
  createBudgetActivities,
  createModelScoringActivities,
  createShadowScoringActivities,
  createPublishingActivities,
  createReplayActivities,
} from '../activities';
import { createKafka } from '../src/kafka/client';
import { ReplayStore } from '../src/replay/store';
import { dataConverterFor } from '../src/codec';
import type { Config } from '../src/config';
import { RedisCardHistoryStore } from '../src/features/store';
import type { CardHistoryStore } from '../src/features/store';
import { createFeatureActivities } from '../activities/card-features';
import { logger } from '../src/observability/logger';
import type { ModelClients } from '../src/models/clients';
import type { TaskQueues } from '../src/task-queues';

/**
 * V8 settings for fraudflow's processes (the Docker image's NODE_OPTIONS; the benchmark starts its processes
 * with them too). A 4 MB young-generation semi-space instead of V8's 16 MB: the main thread and the workflow
 * thread each keep less garbage between scavenges, ~60 MB less RSS per worker at the same CPU per decision
 * (docs/performance.md).
 */
export const processNodeOptions = '--max-semi-space-size=4';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process; every orchestration worker reuses it. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: quietBundlerLogger });
  return bundle;
}

/**
 * The orchestration worker's workflow code: the bundle built beforehand when WORKFLOW_BUNDLE_PATH names one (no
 * webpack in the worker process: faster start, ~100 MB less RSS), else bundled here once per process.
 */
export async function workflowCodeFor(config: Config): Promise<WorkflowBundleOption> {
  const file = config.orchestration.bundlePath;
  if (file === undefined) return workflowBundle();
  if (!fs.existsSync(file)) {
    throw new Error(
      `WORKFLOW_BUNDLE_PATH=${file} does not exist: write it with \`fraudflow bundle-workflows ${file}\``,
    );
  }
  return { codePath: path.resolve(file) };
}

/** Writes the workflow bundle to `file` (for WORKFLOW_BUNDLE_PATH); returns its size in bytes. */
export async function writeWorkflowBundle(file: string): Promise<number> {
  const { code } = await workflowBundle();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, code);
  return Buffer.byteLength(code);
}

/** `workflows/index.ts` from source (tsx, vitest) or `index.js` from the compiled `dist/`. */
function workflowsEntry(): string {
  const dir = path.join(__dirname, '..', 'workflows');
  const entry = ['index.ts', 'index.js'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!entry) throw new Error(`no workflow entry point in ${dir}`);
  return entry;
}

/** The workflow bundler's logger: warnings and errors only. */
export const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

let runtimeInstalled = false;

/** Installs the SDK runtime once per process: its logger follows LOG_LEVEL, quieter than the SDK's default. */
export function installRuntime(config: Config, opts: { quiet?: boolean; sdkMetrics?: boolean } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level =
    config.env.LOG_LEVEL === 'debug' ? 'DEBUG' : config.env.LOG_LEVEL === 'info' && !opts.quiet ? 'WARN' : 'ERROR';
  const port = config.env.SDK_METRICS_PORT;
  // The SDK's own log lines go through fraudflow's JSON logger.
  const sdkLogger = new DefaultLogger(level, (entry) => {
    const fields = { sdk: true, ...entry.meta };
    if (entry.level === 'ERROR') logger.error(fields, entry.message);
    else if (entry.level === 'WARN') logger.warn(fields, entry.message);
    else logger.debug(fields, entry.message);
  });
  // The SDK core's own lines (e.g. "workflow task duration exceeded") go through the same logger and level,
  // not straight to the terminal.
  const logging = { filter: makeTelemetryFilterString({ core: level, other: level }), forward: {} };
  if (opts.sdkMetrics && port > 0) {
    try {
      Runtime.install({
        logger: sdkLogger,
        telemetryOptions: {
          logging,
          metrics: { prometheus: { bindAddress: `${config.env.METRICS_HOST}:${port}` } },
        },
      });
      return;
    } catch (err) {
      // A taken metrics port must not stop a worker from scoring.
      logger.warn({ err: (err as Error).message, port }, 'SDK metrics not exported');
    }
  }
  Runtime.install({ logger: sdkLogger, telemetryOptions: { logging } });
}

/** The online feature store's client; it connects on first use, so a process that never reads it never connects. */
export function createFeatureStore(config: Config): RedisCardHistoryStore {
  return new RedisCardHistoryStore({ url: config.featureStore.url, redisOptions: { lazyConnect: true } });
}

export function connectWorker(config: Config): Promise<NativeConnection> {
  installRuntime(config);
  return NativeConnection.connect({ address: config.temporal.address });
}

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  taskQueues: TaskQueues;
}

/**
 * Workflows, decision publishing, the hosted budget ledger's and replay's activities, and the local first pass
 * when a replay runs it as a local activity (bounded by the local model's capacity, like the local worker).
 */
export async function createOrchestrationWorker(
  deps: WorkerDeps & {
    producer: Producer;
    client: Client;
    models: ModelClients;
    featureStore: CardHistoryStore;
    assignments?: ModelAssignmentStore;
  },
): Promise<Worker> {
  const { scoreWithLocalModel } = createModelScoringActivities(deps);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    dataConverter: dataConverterFor(deps.config),
    taskQueue: deps.taskQueues.orchestration,
    workflowBundle: await workflowCodeFor(deps.config),
    activities: {
      ...createPublishingActivities({ producer: deps.producer }),
      ...createBudgetActivities({ client: deps.client, taskQueues: deps.taskQueues }),
      ...createReplayActivities({
        store: new ReplayStore(deps.config.replayDir),
        kafka: createKafka(deps.config, 'replay-reader'),
      }),
      ...createFeatureActivities({ store: deps.featureStore }),
      scoreWithLocalModel,
    },
    // The card-history step runs as a local activity for every transaction; replay bounds its own first passes.
    maxConcurrentLocalActivityExecutions: deps.config.orchestration.activitySlots,
    maxConcurrentWorkflowTaskExecutions: deps.config.orchestration.workflowTaskSlots,
    maxConcurrentActivityTaskExecutions: deps.config.orchestration.activitySlots,
    ...(deps.config.orchestration.cachedWorkflows !== undefined
      ? { maxCachedWorkflows: deps.config.orchestration.cachedWorkflows }
      : {}),
  });
}

/** First-pass scoring: as many activity slots as the local model server runs requests in parallel. */
export function createLocalScoringWorker(
  deps: WorkerDeps & { models: ModelClients; assignments?: ModelAssignmentStore },
): Promise<Worker> {
  const { scoreWithLocalModel } = createModelScoringActivities(deps);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    dataConverter: dataConverterFor(deps.config),
    taskQueue: deps.taskQueues.localScoring,
    activities: { scoreWithLocalModel },
    maxConcurrentActivityTaskExecutions: deps.config.localModel.concurrency,
  });
}

/**
 * Shadow scoring: a challenger's first passes, with slots of their own (SHADOW_SCORING_CONCURRENCY), so a slow or
 * failing challenger never takes a slot from the champion's first passes.
 */
export function createShadowScoringWorker(
  deps: WorkerDeps & { models: ModelClients; assignments?: ModelAssignmentStore },
): Promise<Worker> {
  const { scoreChallenger } = createShadowScoringActivities(deps);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    dataConverter: dataConverterFor(deps.config),
    taskQueue: deps.taskQueues.shadowScoring,
    activities: { scoreChallenger },
    maxConcurrentActivityTaskExecutions: deps.config.env.SHADOW_SCORING_CONCURRENCY,
  });
}

/** Escalation: the task queue's dispatch rate is limited server-side, shared by every hosted worker. */
export function createHostedScoringWorker(deps: WorkerDeps & { models: ModelClients }): Promise<Worker> {
  const { escalateToHostedModel } = createModelScoringActivities(deps);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    dataConverter: dataConverterFor(deps.config),
    taskQueue: deps.taskQueues.hostedScoring,
    activities: { escalateToHostedModel },
    maxConcurrentActivityTaskExecutions: deps.config.hosted.concurrency,
    maxTaskQueueActivitiesPerSecond: deps.config.hosted.taskQueueRps,
  });
}
