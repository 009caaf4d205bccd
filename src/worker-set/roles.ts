/**
 * One builder per worker role, each with the task queue and slot sizes its work needs. Every process that runs
 * workers starts them through `startWorkerSet` (index.ts), which uses these.
 */
import { Worker } from '@temporalio/worker';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
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
import type { HostedSpendLedger } from '../models/hosted-spend-ledger';
import type { CardHistoryStore } from '../features/store';
import { createKafka } from '../kafka/client';
import type { ModelAssignmentStore } from '../models/assignment';
import type { ModelClients } from '../models/clients';
import { ReplayStore } from '../replay/store';
import type { LiveRules } from '../rules/rule-store';
import type { TaskQueues } from '../task-queues';
import { workflowCodeFor } from './workflow-code';

/** The online feature store's client; it connects on first use, so a process that never reads it never connects. */
export function createFeatureStore(config: Config): RedisCardHistoryStore {
  return new RedisCardHistoryStore({ url: config.featureStore.url, redisOptions: { lazyConnect: true } });
}

export const workerRoles = ['orchestration', 'local-scoring', 'hosted-scoring', 'shadow-scoring', 'cases'] as const;
export type WorkerRole = (typeof workerRoles)[number];

/** What a worker of any role may need; each role takes its part. */
export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  taskQueues: TaskQueues;
  producer: Producer;
  client: Client;
  models: ModelClients;
  featureStore: CardHistoryStore;
  /** The day's hosted spend, shared by every worker (on the feature store's Redis). */
  hostedSpend: HostedSpendLedger;
  assignments: ModelAssignmentStore;
  /** The live rule set, evaluated in the card-history activity; without it the built-in rules apply in the workflow. */
  liveRules?: { live: LiveRules; keyPrefix: string };
}

/** What differs between roles: the task queue, the activities (and workflows), the slots. */
type RoleOptions = Omit<WorkerOptions, 'connection' | 'namespace' | 'dataConverter'>;

const roleOptions: Record<WorkerRole, (deps: WorkerDeps) => RoleOptions | Promise<RoleOptions>> = {
  orchestration: orchestrationOptions,
  /** First-pass scoring: as many activity slots as the local model server runs requests in parallel. */
  'local-scoring': (deps) => ({
    taskQueue: deps.taskQueues.localScoring,
    activities: { scoreWithLocalModel: createModelScoringActivities(deps).scoreWithLocalModel },
    maxConcurrentActivityTaskExecutions: deps.config.localModel.concurrency,
  }),
  /** Escalation: the task queue's dispatch rate is limited server-side, shared by every hosted worker. */
  'hosted-scoring': (deps) => ({
    taskQueue: deps.taskQueues.hostedScoring,
    activities: { escalateToHostedModel: createModelScoringActivities(deps).escalateToHostedModel },
    maxConcurrentActivityTaskExecutions: deps.config.hosted.concurrency,
    maxTaskQueueActivitiesPerSecond: deps.config.hosted.taskQueueRps,
  }),
  /**
   * Shadow scoring: a challenger's first passes, with slots of their own (SHADOW_SCORING_CONCURRENCY), so a slow
   * or failing challenger never takes a slot from the champion's first passes.
   */
  'shadow-scoring': (deps) => ({
    taskQueue: deps.taskQueues.shadowScoring,
    activities: { scoreChallenger: createShadowScoringActivities(deps).scoreChallenger },
    maxConcurrentActivityTaskExecutions: deps.config.env.SHADOW_SCORING_CONCURRENCY,
  }),
  cases: casesOptions,
};

/** A worker of one role, on the configured namespace with the payload codec. */
export async function createRoleWorker(role: WorkerRole, deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    dataConverter: dataConverterFor(deps.config),
    ...(await roleOptions[role](deps)),
  });
}

/**
 * Workflows, decision publishing, the hosted-spend ledger's and replay's activities, and the local first pass
 * when a replay runs it as a local activity (bounded by the local model's capacity, like the local worker).
 */
async function orchestrationOptions(deps: WorkerDeps): Promise<RoleOptions> {
  const { config } = deps;
  return {
    taskQueue: deps.taskQueues.orchestration,
    workflowBundle: await workflowCodeFor(config),
    activities: {
      ...createPublishingActivities({ producer: deps.producer }),
      ...createBudgetActivities({ ledger: deps.hostedSpend, hosted: config.hosted }),
      ...createReplayActivities({
        store: new ReplayStore(config.replayDir),
        kafka: createKafka(config, 'replay-reader'),
      }),
      ...createFeatureActivities({ store: deps.featureStore, rules: deps.liveRules }),
      scoreWithLocalModel: createModelScoringActivities(deps).scoreWithLocalModel,
    },
    // The card-history step runs as a local activity for every transaction; replay bounds its own first passes.
    maxConcurrentLocalActivityExecutions: config.orchestration.activitySlots,
    maxConcurrentWorkflowTaskExecutions: config.orchestration.workflowTaskSlots,
    maxConcurrentActivityTaskExecutions: config.orchestration.activitySlots,
    ...(config.orchestration.cachedWorkflows !== undefined
      ? { maxCachedWorkflows: config.orchestration.cachedWorkflows }
      : {}),
  };
}

/**
 * Open cases (workflows/work-case.ts) and their publishing: a cache of their own (CASE_WORKER_CACHED_WORKFLOWS), so
 * thousands of cases waiting for analysts never evict scoring workflows from the orchestration worker's cache. An
 * evicted case costs one replay of its few events when an analyst touches it.
 */
async function casesOptions(deps: WorkerDeps): Promise<RoleOptions> {
  return {
    taskQueue: deps.taskQueues.cases,
    workflowBundle: await workflowCodeFor(deps.config),
    // The final decision and the analyst's label.
    activities: createPublishingActivities({ producer: deps.producer }),
    maxCachedWorkflows: deps.config.cases.cachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: 10,
    maxConcurrentActivityTaskExecutions: 10,
  };
}
