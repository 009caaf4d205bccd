/**
 * fraudflow's streaming pipeline for one scenario, deployed as production deploys it: a worker process
 * (`fraudflow worker all`: the three roles) and an ingest process (`fraudflow ingest`), each started from the
 * compiled CLI (`dist/`, as the Docker image runs it) with the scenario's configuration, so their memory and CPU
 * are measured apart from the benchmark's own.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { scoringSettingsFromConfig } from '../src/scoring/settings';
import type { ScoringSettings } from '../src/scoring/settings';
import type { ScenarioSetup } from './harness';
import { sleep } from './harness';

const repoRoot = path.join(__dirname, '..');
/** The compiled CLI; bench/main.ts compiles the project before any scenario that runs it. */
export const compiledCli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** A fraudflow CLI command running as a child process, its output in a log file. */
export interface PipelineProcess {
  role: 'worker' | 'ingest';
  pid: number;
  logFile: string;
  /** SIGTERM, then the exit (SIGKILL after `graceMs`). Resolves with what the process wrote last. */
  stop(graceMs?: number): Promise<string>;
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts `fraudflow <args>` with `env`, and resolves once its output contains `ready` (a line the command prints
 * when it is serving). Fails with the log's tail if the process exits first or is not ready within `timeoutMs`.
 */
/** Pipeline processes still running: killed when the bench exits or is interrupted, so none outlives it. */
const liveChildren = new Set<ChildProcess>();
const killLiveChildren = () => {
  for (const child of liveChildren) child.kill('SIGKILL');
};
process.once('exit', killLiveChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killLiveChildren();
    process.exit(130);
  });
}

async function startCli(
  role: PipelineProcess['role'],
  args: string[],
  env: Record<string, string>,
  logFile: string,
  ready: string,
  nodeArgs: string[] = [],
  timeoutMs = 120_000,
): Promise<PipelineProcess> {
  const out = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, compiledCli, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  liveChildren.add(child);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      exit = { code, signal };
      resolve();
    }),
  );
  const deadline = Date.now() + timeoutMs;
  while (!fs.readFileSync(logFile, 'utf8').includes(ready)) {
    if (exit || Date.now() > deadline) {
      if (!exit) child.kill('SIGKILL');
      const why = exit ? `exited (${exit.signal ?? `code ${exit.code}`})` : `not ready after ${timeoutMs / 1000}s`;
      throw new Error(`fraudflow ${args.join(' ')} ${why}; ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
  return {
    role,
    pid: child.pid ?? -1,
    logFile,
    async stop(graceMs = 30_000) {
      if (!exit) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(killer);
      }
      return tail(logFile, 3);
    },
  };
}

export interface RunningPipeline {
  settings: ScoringSettings;
  worker: PipelineProcess;
  ingest: PipelineProcess;
  /** Stops the ingest (draining its in-flight starts), then the workers. Resolves with the ingest's counters. */
  close(): Promise<{ startRetries?: number }>;
}

/**
 * Starts the worker process, then the ingest; `logDir` receives `<scenario>-worker.log` and `<scenario>-ingest.log`.
 * The workers load the bundle at `setup.env.WORKFLOW_BUNDLE_PATH` when set (as a production image does).
 */
export async function startPipeline(
  setup: ScenarioSetup,
  logDir: string,
  opts: { profileDir?: string } = {},
): Promise<RunningPipeline> {
  // `--profile DIR`: V8 CPU profiles of both processes, written when they exit (bench/profile-summary.ts reads them).
  const nodeArgs = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  const { config, topics, taskQueues } = setup;
  const env: Record<string, string> = {
    ...setup.env,
    // Several processes on one host: fraudflow's /metrics on a free port, no SDK metrics endpoint.
    METRICS_PORT: '0',
    // Production's level: a log line per decision is part of the cost (and the worker's ready line is info).
    LOG_LEVEL: 'info',
    SDK_METRICS_PORT: '0',
  };
  const worker = await startCli(
    'worker',
    ['worker', 'all'],
    env,
    path.join(logDir, `${setup.id}-worker.log`),
    'fraudflow worker polling',
    nodeArgs,
  );
  let ingest: PipelineProcess;
  try {
    ingest = await startCli(
      'ingest',
      ['ingest'],
      env,
      path.join(logDir, `${setup.id}-ingest.log`),
      'fraudflow ingest:',
      nodeArgs,
    );
  } catch (err) {
    await worker.stop();
    throw err;
  }
  const settings = scoringSettingsFromConfig(config, { taskQueues, decisionsTopic: topics.decisions });
  return {
    settings,
    worker,
    ingest,
    async close() {
      const last = await ingest.stop();
      await worker.stop();
      // The ingest's last line: `fraudflow ingest: stopped {"started":…,"startRetries":…}`.
      const counters = /stopped (\{.*\})/.exec(last)?.[1];
      try {
        return counters ? (JSON.parse(counters) as { startRetries?: number }) : {};
      } catch {
        return {};
      }
    },
  };
}
