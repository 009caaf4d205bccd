/**
 * Where a worker process's memory goes before it does any work: RSS after the imports, after the workflow bundle
 * (built in process with webpack, as workers/build.ts does, or read from a file built beforehand), and once the
 * three workers are polling. Run each mode in a fresh process:
 *
 *   npx tsx bench/rss-probe.ts                                  # bundle in process (what the workers do today)
 *   npx tsx bench/rss-probe.ts --write-bundle /tmp/wf.js        # build the bundle once, in another process
 *   npx tsx bench/rss-probe.ts --bundle-file /tmp/wf.js         # workers from the prebuilt bundle
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createBudgetActivities, createPublishingActivities } from '../activities';
import { loadConfig } from '../src/config';
import { dataConverterFor } from '../src/codec';
import { createKafka } from '../src/kafka/client';
import { createModelClients } from '../src/models/clients';
import { taskQueuesFor } from '../src/task-queues';
import {
  connectWorker,
  createHostedScoringWorker,
  createLocalScoringWorker,
  installRuntime,
  workflowBundle,
} from '../workers/build';
import { shortId, sleep } from './harness';

const mb = () => Math.round(process.memoryUsage().rss / 1024 ** 2);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'write-bundle': { type: 'string' }, 'bundle-file': { type: 'string' } },
  });
  if (values['write-bundle']) {
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
    fs.writeFileSync(values['write-bundle'], code);
    console.log(`wrote ${values['write-bundle']} (${Math.round(code.length / 1024)} KB)`);
    return;
  }
  const stages: Record<string, number> = { afterImports: mb() };
  const config = loadConfig();
  installRuntime(config, { quiet: true });
  const bundle = values['bundle-file']
    ? { code: fs.readFileSync(values['bundle-file'], 'utf8') }
    : await workflowBundle();
  stages.afterBundle = mb();
  const taskQueues = taskQueuesFor(`bench-rss-${shortId()}`);
  const connection = await connectWorker(config);
  const client = new Client({ namespace: config.temporal.namespace, dataConverter: dataConverterFor(config) });
  const producer = createKafka(config, 'bench-rss').producer();
  const models = createModelClients(config);
  const deps = { config, connection, taskQueues };
  // The orchestration worker exactly as workers/build.ts creates it, bar where the bundle comes from.
  const workers = [
    await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterFor(config),
      taskQueue: taskQueues.orchestration,
      workflowBundle: bundle,
      activities: {
        ...createPublishingActivities({ producer }),
        ...createBudgetActivities({ client, taskQueues }),
      },
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentActivityTaskExecutions: 100,
    }),
    await createLocalScoringWorker({ ...deps, models }),
    await createHostedScoringWorker({ ...deps, models }),
  ];
  const running = workers.map((w) => w.run());
  await sleep(5000);
  stages.workersPolling = mb();
  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await connection.close();
  console.log(
    JSON.stringify({ mode: values['bundle-file'] ? 'prebuilt bundle' : 'bundled in process', rssMb: stages }),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
