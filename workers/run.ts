/**
 * Entry point for every worker role: `fraudflow worker <orchestration|local-scoring|hosted-scoring|all>`.
 * `all` is the dev mode: every role in one process.
 */
import type { Worker } from '@temporalio/worker';
import { dataConverterFor } from '../src/codec';
import { loadConfigOrExit } from '../src/config';
import { createKafka } from '../src/kafka/client';
import { createModelClients } from '../src/models/clients';
import { createAssignmentStore } from '../src/models/assignment';
import { Client, Connection } from '@temporalio/client';
import { taskQueuesFor } from '../src/task-queues';
import { logger } from '../src/observability/logger';
import { startMetricsServer } from '../src/observability/metrics';
import {
  connectWorker,
  createHostedScoringWorker,
  createShadowScoringWorker,
  createLocalScoringWorker,
  createOrchestrationWorker,
  installRuntime,
  createFeatureStore,
} from './build';

export const workerRoles = ['orchestration', 'local-scoring', 'hosted-scoring', 'shadow-scoring', 'all'] as const;
export type WorkerRole = (typeof workerRoles)[number];

export async function runWorkers(role: WorkerRole): Promise<void> {
  const config = loadConfigOrExit();
  installRuntime(config, { sdkMetrics: true });
  const metricsServer = await startMetricsServer(config.env.METRICS_PORT, config.env.METRICS_HOST);
  const connection = await connectWorker(config);
  const producer = createKafka(config, 'publisher').producer({ allowAutoTopicCreation: false });
  const models = createModelClients(config);
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({
    connection: clientConnection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
  });
  const deps = { config, connection, taskQueues: taskQueuesFor(config.taskQueuePrefix) };
  const featureStore = createFeatureStore(config);
  const assignments = createAssignmentStore(config);
  try {
    const workers: Worker[] = [];
    if (role === 'orchestration' || role === 'all') {
      await producer.connect();
      workers.push(await createOrchestrationWorker({ ...deps, producer, client, models, featureStore, assignments }));
    }
    if (role === 'local-scoring' || role === 'all')
      workers.push(await createLocalScoringWorker({ ...deps, models, assignments }));
    if (role === 'hosted-scoring' || role === 'all') workers.push(await createHostedScoringWorker({ ...deps, models }));
    if (role === 'shadow-scoring' || role === 'all')
      workers.push(await createShadowScoringWorker({ ...deps, models, assignments }));
    logger.info(
      {
        role,
        workers: workers.map((w) => ({
          taskQueue: w.options.taskQueue,
          workflowTaskSlots: w.options.workflowBundle ? w.options.maxConcurrentWorkflowTaskExecutions : undefined,
          cachedWorkflows: w.options.workflowBundle ? w.options.maxCachedWorkflows : undefined,
          activitySlots: w.options.maxConcurrentActivityTaskExecutions,
        })),
        metrics: metricsServer?.url,
      },
      'fraudflow worker polling',
    );
    // Worker.run() installs SIGINT/SIGTERM handlers: in-flight tasks finish, then run() resolves.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await featureStore.close();
    await assignments.close();
    await producer.disconnect();
    await connection.close();
    await clientConnection.close();
    await metricsServer?.close();
  }
}
