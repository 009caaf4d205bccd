/**
 * fraudflow's streaming pipeline, in this process, for one scenario: the three workers from workers/build.ts, the
 * Kafka ingest, and a Temporal client with the project's data converter (as test/support/pipeline.ts builds it).
 */
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
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
} from '../workers/build';
import type { ScenarioSetup } from './harness';

/**
 * Bench-only experiments on Worker options that workers/build.ts fixes for the orchestration worker. The project's
 * builder always builds the worker; options set here replace its values, unset ones leave them alone.
 */
export interface OrchestrationTuning {
  /** @default 40 (workers/build.ts) */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** @default 100 (workers/build.ts) */
  maxConcurrentActivityTaskExecutions?: number;
  /** @default the SDK's, from the heap limit: about 600 workflows per GB above 200 MB (~2,300 with a 4 GB heap) */
  maxCachedWorkflows?: number;
}

export interface RunningPipeline {
  client: Client;
  settings: ScoringSettings;
  ingest: Ingest;
  close(): Promise<void>;
}

/**
 * Runs a worker builder with some Worker options overridden: the builder stays the project's own (same bundle,
 * activities, data converter), only the options named here differ. For bench experiments only.
 */
async function withWorkerOptions<T>(overrides: Partial<WorkerOptions>, build: () => Promise<T>): Promise<T> {
  const create = Worker.create.bind(Worker);
  Worker.create = (options: WorkerOptions) => create({ ...options, ...overrides });
  try {
    return await build();
  } finally {
    Worker.create = create;
  }
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
  const overrides: Partial<WorkerOptions> = Object.fromEntries(
    Object.entries(tuning).filter(([, v]) => v !== undefined),
  );
  const workers: Worker[] = [
    await withWorkerOptions(overrides, () => createOrchestrationWorker({ ...deps, producer, client, models })),
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
