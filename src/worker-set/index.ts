/**
 * The worker set: every process that runs fraudflow's workers (`fraudflow worker`, the main job, replay, the tests
 * and benchmarks) starts them here, so roles, slot sizes and shutdown order are written once.
 */
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Config } from '../config';
import { createKafka } from '../kafka/client';
import type { ModelAssignmentStore } from '../models/assignment';
import { createModelClients } from '../models/clients';
import { HostedSpendLedger } from '../models/hosted-spend-ledger';
import type { TaskQueues } from '../task-queues';
import { taskQueuesFor } from '../task-queues';
import type { WorkerRole } from './roles';
import { createFeatureStore, createRoleWorker, workerRoles } from './roles';
import { connectWorker } from './runtime';
import type { RedisCardHistoryStore } from '../features/store';
import type { CompiledRuleSet } from '../rules/compile';
import { LiveRules, RedisRuleSetStore } from '../rules/rule-store';
import { compileShippedRules } from '../rules/shipped';

export { installRuntime, processNodeOptions, connectWorker } from './runtime';
export { quietBundlerLogger, workflowBundle, workflowCodeFor, writeWorkflowBundle } from './workflow-code';

export { workerRoles } from './roles';
export type { WorkerRole } from './roles';

export interface WorkerSetOptions {
  config: Config;
  /** The budget ledger's activities signal its workflow through this client. */
  client: Client;
  /** Which model and policy new workflows get; the caller owns it (the ingest reads it too). */
  assignments: ModelAssignmentStore;
  /** @default every role */
  roles?: readonly WorkerRole[];
  /** @default the queues of TASK_QUEUE_PREFIX */
  taskQueues?: TaskQueues;
  /** The Kafka client id of the decision publisher. @default 'publisher' */
  publisherId?: string;
}

export interface WorkerSet {
  workers: Worker[];
  /** Settles when every worker has stopped: after `close()`, or after SIGINT/SIGTERM (Worker.run's handlers). */
  finished: Promise<void>;
  /** Shuts every worker down, lets in-flight tasks finish, then closes what the set opened. */
  close(): Promise<void>;
}

/** Connects, builds a worker per role, and runs them. */
export async function startWorkerSet(opts: WorkerSetOptions): Promise<WorkerSet> {
  const { config, client, assignments } = opts;
  const roles = opts.roles ?? workerRoles;
  const connection = await connectWorker(config);
  const producer = createKafka(config, opts.publisherId ?? 'publisher').producer({ allowAutoTopicCreation: false });
  const featureStore = createFeatureStore(config);
  const taskQueues = opts.taskQueues ?? taskQueuesFor(config.taskQueuePrefix);
  const hostedSpend = new HostedSpendLedger({ url: config.featureStore.url, scope: taskQueues.orchestration });
  const deps = {
    config,
    connection,
    taskQueues,
    producer,
    client,
    models: createModelClients(config),
    featureStore,
    hostedSpend,
    assignments,
    liveRules: liveRulesFor(config, featureStore),
  };
  if (roles.includes('orchestration') || roles.includes('cases')) await producer.connect();
  const workers: Worker[] = [];
  // In this order, whatever order the caller named them in.
  for (const role of workerRoles.filter((r) => roles.includes(r))) workers.push(await createRoleWorker(role, deps));
  const running = workers.map((w) => w.run());
  const finished = Promise.all(running).then(() => undefined);
  const close = async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await featureStore.close();
    hostedSpend.close();
    await producer.disconnect();
    await connection.close();
  };
  return { workers, finished, close };
}

/** The live rule set in the feature store's Redis, falling back to the shipped rules with this config's RULE_* limits. */
function liveRulesFor(config: Config, featureStore: RedisCardHistoryStore): { live: LiveRules; keyPrefix: string } {
  let shipped: Promise<CompiledRuleSet> | undefined;
  const shippedRules = () => (shipped ??= compileShippedRules(config.policy.rules));
  const live = new LiveRules(new RedisRuleSetStore(featureStore.client, featureStore.prefix), shippedRules);
  return { live, keyPrefix: featureStore.prefix };
}
