/**
 * A burst: N events produced at once onto a scaled-out pipeline (two ingest processes in one consumer group, two
 * worker processes, as a user scaling out on one host would), one ingest and one worker SIGKILLed halfway. It
 * reports the peak of running scoring workflows against INGEST_MAX_RUNNING_WORKFLOWS, the drain time, consumer lag
 * over time, the Temporal dev server's store errors ("context deadline exceeded" in its log) and what was lost.
 */
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Config } from '../../src/config';
import { connectClient } from '../../src/temporal/client';
import { produceTransactions } from '../../src/generator/produce';
import { createKafka } from '../../src/kafka/client';
import { partitionLag } from '../../src/kafka/stall-watchdog';
import { Decision } from '../../src/schemas/decision';
import { stackServices } from '../../src/stack';
import {
  Cleanup,
  createBenchTopics,
  scenarioSetup,
  sleep,
  startInstantModel,
  waitForCount,
  waitForStableGroup,
  watchGroupId,
  watchTopic,
} from '../harness';
import { startPipeline } from '../pipeline';
import type { RunningPipeline } from '../pipeline';
import type { BurstFigures, ScenarioResult } from '../report';
import { settingsOf } from './streaming';

export interface BurstOptions {
  count: number;
  /** The user's `--env` overrides. */
  env: Record<string, string>;
  logDir: string;
  /** Give up once no decision has arrived for this long. @default 180 s */
  stallMs?: number;
  log: (line: string) => void;
  /** CPU seconds the Temporal server (with its store) has used so far; read at the first send and at the drain. */
  serverCpuSeconds?: () => number;
  /** Checks on the server once drained; what they found goes in the note, a failed check throws. */
  verify?: (run: BurstRun) => Promise<string>;
}

/** What `verify` gets: the burst's configuration, client and task queue, and the transactions decided. */
export interface BurstRun {
  config: Config;
  client: Client;
  taskQueue: string;
  decided: ReadonlySet<string>;
}

const deadlineExceeded = /context deadline exceeded/g;

/** Occurrences of "context deadline exceeded" in the Temporal dev server's log so far. */
function serverDeadlineErrors(logFile: string | undefined): number {
  if (!logFile) return 0;
  try {
    return fs.readFileSync(logFile, 'utf8').match(deadlineExceeded)?.length ?? 0;
  } catch {
    return 0;
  }
}

const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

export async function runBurst(opts: BurstOptions): Promise<ScenarioResult> {
  const cleanup = new Cleanup(opts.log);
  try {
    const instant = await startInstantModel(0);
    cleanup.add('stop the stand-in model', () => instant.close());
    const setup = scenarioSetup(
      'burst',
      {
        HOSTED_ESCALATION_ENABLED: 'false',
        HOSTED_PROVIDERS: '[]',
        LOCAL_MODEL_BASE_URL: instant.server.baseURL,
        LOCAL_SCORING_CONCURRENCY: '100',
        // Two ingests, two workers and the dev server on one small host: at the default bound (200) the dev server's
        // store falls seconds behind under a sustained burst; 50 keeps it healthy (docs/performance.md).
        INGEST_MAX_RUNNING_WORKFLOWS: '50',
      },
      opts.env,
    );
    const { config, topics } = setup;
    const bound = config.ingest.maxRunningWorkflows;
    const kafkaTopics = await createBenchTopics(setup);
    cleanup.add('delete topics and groups', () =>
      kafkaTopics.remove([setup.ingestGroupId, watchGroupId(topics.decisions)]),
    );
    const decided = new Set<string>();
    let invalidDecisions = 0;
    const watcher = await watchTopic(config, topics.decisions, (value) => {
      const parsed = Decision.safeParse(JSON.parse(value.toString('utf8')));
      if (parsed.success) decided.add(parsed.data.transactionId);
      else invalidDecisions++;
    });
    cleanup.add('stop the decisions watcher', () => watcher.stop());

    // Two of each, their logs apart: burst-<id>-a-worker.log, burst-<id>-b-ingest.log, ...
    const pipelines: RunningPipeline[] = [];
    cleanup.add('stop the pipelines', () => Promise.all(pipelines.map((p) => p.close())));
    for (const suffix of ['a', 'b'])
      pipelines.push(await startPipeline({ ...setup, id: `${setup.id}-${suffix}` }, opts.logDir));
    const [survivor, victim] = pipelines as [RunningPipeline, RunningPipeline];
    await waitForStableGroup(kafkaTopics.admin, setup.ingestGroupId);
    await waitForStableGroup(kafkaTopics.admin, watcher.groupId);

    const client = await connectClient(config);
    cleanup.add('close the Temporal connection', () => client.connection.close());
    const runningQuery =
      `TaskQueue = '${setup.taskQueues.orchestration}' AND WorkflowType = 'scoreTransactionWorkflow' ` +
      `AND ExecutionStatus = 'Running'`;
    const temporalLog = stackServices(config).find((s) => s.name.startsWith('temporal'))?.logFile;
    const errorsBefore = serverDeadlineErrors(temporalLog);
    const admin = createKafka(config, 'bench-burst-lag').admin();
    await admin.connect();
    cleanup.add('disconnect the lag reader', () => admin.disconnect());

    const cpuAtStart = opts.serverCpuSeconds?.();
    const sendStart = Date.now();
    const timeline: BurstFigures['timeline'] = [];
    let peakRunning = 0;
    let killedAtSeconds: number | undefined;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const at = Math.round((Date.now() - sendStart) / 100) / 10;
        const [running, lag] = await Promise.all([
          client.workflow.count(runningQuery).then(
            (r) => r.count,
            () => undefined,
          ),
          partitionLag(admin, setup.ingestGroupId, topics.transactions).then(
            (m) => [...m.values()].reduce((a, b) => a + b, 0),
            () => undefined,
          ),
        ]);
        if (running !== undefined) peakRunning = Math.max(peakRunning, running);
        timeline.push({ atSeconds: at, running, lag, decided: decided.size });
        await sleep(1000);
      }
    })();

    opts.log(`burst: producing ${opts.count} events at once (bound ${bound} running workflows)`);
    const production = produceTransactions(config, { rate: 0, count: opts.count, topic: topics.transactions });
    // Halfway, SIGKILL one ingest and one worker: their partitions and tasks move to the survivors.
    const killer = (async () => {
      while (decided.size < opts.count / 2 && sampling) await sleep(200);
      if (!sampling) return;
      killedAtSeconds = Math.round((Date.now() - sendStart) / 100) / 10;
      opts.log(`burst: ${decided.size} decided; SIGKILL ingest ${victim.ingest.pid} and worker ${victim.worker.pid}`);
      kill(victim.ingest.pid);
      kill(victim.worker.pid);
    })();
    const complete = await waitForCount(() => decided.size, opts.count, {
      stallMs: opts.stallMs ?? 180_000,
      log: opts.log,
      label: 'decisions',
    });
    const drainSeconds = (Date.now() - sendStart) / 1000;
    const serverCpu = cpuAtStart === undefined ? undefined : (opts.serverCpuSeconds?.() ?? 0) - cpuAtStart;
    const produced = await production;
    sampling = false;
    await Promise.all([sampler, killer]);
    const serverErrors = serverDeadlineErrors(temporalLog) - errorsBefore;
    const lost = produced.transactionIds.filter((t) => !decided.has(t)).length;
    const verified = opts.verify
      ? await opts.verify({ config, client, taskQueue: setup.taskQueues.orchestration, decided })
      : undefined;
    const survivorCounters = await survivor.close();
    pipelines.length = 0;
    await victim.close();

    const burst: BurstFigures = {
      bound,
      peakRunning,
      drainSeconds: Math.round(drainSeconds * 10) / 10,
      serverDeadlineErrors: serverErrors,
      lost,
      killedAtSeconds,
      timeline,
    };
    if (serverCpu !== undefined) {
      burst.serverCpuSeconds = Math.round(serverCpu * 100) / 100;
      burst.serverCpuMsPerDecision = Math.round((serverCpu * 1000 * 100) / Math.max(1, decided.size)) / 100;
    }
    const notes = [`produced in ${produced.seconds.toFixed(1)}s`];
    if (verified) notes.push(verified);
    if (invalidDecisions > 0) notes.push(`${invalidDecisions} decisions failed the Decision schema`);
    if (survivorCounters.startRetries) notes.push(`${survivorCounters.startRetries} start retries (surviving ingest)`);
    return {
      id: 'burst',
      description: `${opts.count} events at once; 2 ingests + 2 workers, one of each SIGKILLed halfway`,
      status: complete ? 'measured' : 'incomplete',
      note: notes.join('; '),
      expected: opts.count,
      completed: decided.size,
      endToEndPerSec: Math.round((decided.size / drainSeconds) * 100) / 100,
      burst,
      settings: { ...settingsOf(config), INGEST_MAX_RUNNING_WORKFLOWS: bound },
    };
  } finally {
    await cleanup.run();
  }
}
