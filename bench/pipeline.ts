/**
 * fraudflow's streaming pipeline, in this process, for one scenario: the three workers from workers/build.ts, the
 * Kafka ingest, and a Temporal client with the project's data converter (as test/support/pipeline.ts builds it).
 */
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { Producer } from 'kafkajs';
import { createBudgetActivities, createPublishingActivities } from '../activities';
import { dataConverterFor } from '../src/codec';
import { createKafka } from '../src/kafka/client';
import type { Ingest } from '../src/kafka/ingest';
import { startIngest } from '../src/kafka/ingest';
import { createModelClients } from '../src/models/clients';
import type { ScoringSettings } from '../src/scoring/settings';
import { scoringSettingsFromConfig } from '../src/scoring/settings';
import {
  connectWorker,
  createHostedScoringWorker,
  createLocalScoringWorker,
  createOrchestrationWorker,
  workflowBundle,
} from '../workers/build';
import type { WorkerDeps } from '../workers/build';
import type { ScenarioSetup } from './harness';

/**
 * Bench-only experiments on the orchestration worker's slot sizes, which workers/build.ts fixes. Unset: the
 * project's own builder is used unchanged.
 */
export interface OrchestrationTuning {
  /** @default 40 (workers/build.ts) */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** @default 100 (workers/build.ts) */
  maxConcurrentActivityTaskExecutions?: number;
}

export interface RunningPipeline {
  client: Client;
  settings: ScoringSettings;
  ingest: Ingest;
  close(): Promise<void>;
}

/** createOrchestrationWorker with other slot sizes: the same bundle, activities and data converter. */
async function createTunedOrchestrationWorker(
  deps: WorkerDeps & { producer: Producer; client: Client },
  tuning: OrchestrationTuning,
): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    dataConverter: dataConverterFor(deps.config),
    taskQueue: deps.taskQueues.orchestration,
    workflowBundle: await workflowBundle(),
    activities: {
      ...createPublishingActivities({ producer: deps.producer }),
      ...createBudgetActivities({ client: deps.client, taskQueues: deps.taskQueues }),
    },
    maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTaskExecutions ?? 40,
    maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions ?? 100,
  });
}

export async function startPipeline(
  setup: ScenarioSetup,
  tuning: OrchestrationTuning = {},
  log: (line: string) => void = () => undefined,
): Promise<RunningPipeline> {
  const { config, taskQueues, topics } = setup;
  const connection: NativeConnection = await connectWorker(config);
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({
    connection: clientConnection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
  });
  const producer = createKafka(config, 'bench-publish').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const models = createModelClients(config);
  const deps = { config, connection, taskQueues };
  const tuned =
    tuning.maxConcurrentWorkflowTaskExecutions !== undefined ||
    tuning.maxConcurrentActivityTaskExecutions !== undefined;
  const workers: Worker[] = [
    tuned
      ? await createTunedOrchestrationWorker({ ...deps, producer, client }, tuning)
      : await createOrchestrationWorker({ ...deps, producer, client }),
    await createLocalScoringWorker({ ...deps, models }),
    await createHostedScoringWorker({ ...deps, models }),
  ];
  const running = workers.map((w) => w.run());
  const settings = scoringSettingsFromConfig(config, { taskQueues, decisionsTopic: topics.decisions });
  const ingest = await startIngest({
    config,
    client,
    settings,
    topic: topics.transactions,
    deadLetterTopic: topics.deadLetter,
    groupId: setup.ingestGroupId,
    log,
  });
  return {
    client,
    settings,
    ingest,
    async close() {
      await ingest.stop();
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await producer.disconnect();
      await connection.close();
      await clientConnection.close();
    },
  };
}
