/**
 * One builder per worker role, each with the task queue and slot sizes its work needs. Every process that runs
 * workers starts them through `startWorkerSet` (index.ts), which uses these.
 */
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { Producer } from 'kafkajs';
import type { Client } from '@temporalio/client';
import {
  createBudgetActivities,
  createFeatureActivities,
  createModelScoringActivities,
  createPublishingActivities,
  createReplayActivities,
  createShadowScoringActivities,
} from '../../activities';
import { dataConverterFor } from '../codec';
import type { Config } from '../config';
import { RedisCardHistoryStore } from '../features/store';
import type { CardHistoryStore } from '../features/store';
import { createKafka } from '../kafka/client';
import type { ModelAssignmentStore } from '../models/assignment';
import type { ModelClients } from '../models/clients';
import { ReplayStore } from '../replay/store';
import type { TaskQueues } from '../task-queues';
import { workflowCodeFor } from './workflow-code';

/** The online feature store's client; it connects on first use, so a process that never reads it never connects. */
export function createFeatureStore(config: Config): RedisCardHistoryStore {
  return new RedisCardHistoryStore({ url: config.featureStore.url, redisOptions: { lazyConnect: true } });
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
