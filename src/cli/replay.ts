/**
 * `fraudflow replay <source>`: starts (or resumes) a durable replay, shows its progress, and writes the backtest
 * report (JSON and a self-contained HTML page) next to its decisions.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import cliProgress from 'cli-progress';
import { formatDuration, progressLine } from '../observability/step-progress';
import type { Config } from '../config';
import { createAssignmentStore } from '../models/assignment';
import type { ReplayProgress, ReplaySource, ScoringWindow } from '../replay/contracts';
import { chunkBounds, chunkProgressQuery, describeSource, replayProgressQuery } from '../replay/contracts';
import type { BacktestReport } from '../replay/report';
import { rateOrigin } from '../replay/report';
import type { ColumnMapping, ReplayMappingName } from '../replay/sources';
import { detectFormat, mappingFor, parseColumnMapping } from '../replay/sources';
import { readJson } from '../schemas/json';
import { ReplayStore } from '../replay/store';
import type { ScoringSettings } from '../scoring/settings';
import { scoringSettingsFromConfig } from '../scoring/settings';
import { stackUp } from '../stack';
import { connectClient } from '../temporal/client';
import { replayChunkWorkflowId, replayWorkflowId } from '../workflow-ids';
import { installRuntime, startWorkerSet } from '../worker-set';
import type { replayWorkflow } from '../../workflows/replay';
import { configuredPolicyIfRanWith, replayWorkflowTimes, reportSettingsFor, writeReport } from './report';

export interface ReplayCommandOptions {
  /** A file path, or `kafka:<topic>`. */
  source: string;
  replayId?: string;
  mapping?: string;
  mappingFile?: string;
  from?: string;
  to?: string;
  /** Score only rows from / before these ISO times; the others build card history. */
  scoreFrom?: string;
  scoreUntil?: string;
  chunkSize: number;
  chunkParallelism: number;
  /** @default enough to keep the local model's slots busy: 2 × its capacity across the running chunks */
  rowParallelism?: number;
  /** Run the first pass as a local activity. @default true */
  localActivities?: boolean;
  /** Prepare rows (events, features, labels) without scoring them. @default false */
  prepareOnly?: boolean;
  /** A challenger scored in shadow beside every decision: its model and its policy file (report --compare). */
  shadow?: { model: string; policyFile: string };
  /** Run workers in this process (the default); off when a worker fleet serves the task queues. */
  workers: boolean;
  log?: (line: string) => void;
}

function bound(value: string | undefined): { offset: string } | { time: string } | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return { offset: value };
  if (Number.isNaN(Date.parse(value))) throw new Error(`'${value}' is neither an offset nor an ISO time`);
  return { time: new Date(value).toISOString() };
}

export function parseReplaySource(
  opts: Pick<ReplayCommandOptions, 'source' | 'mapping' | 'mappingFile' | 'from' | 'to'>,
): ReplaySource {
  if (opts.source.startsWith('kafka:')) {
    return { kind: 'kafka', topic: opts.source.slice('kafka:'.length), from: bound(opts.from), to: bound(opts.to) };
  }
  const file = path.resolve(opts.source);
  if (!fs.existsSync(file)) throw new Error(`replay source ${file} does not exist`);
  const format = detectFormat(file);
  let mapping: ColumnMapping | undefined;
  if (format === 'csv') {
    mapping = opts.mappingFile
      ? readColumnMappingFile(opts.mappingFile)
      : mappingFor((opts.mapping ?? 'credit-card-transactions') as ReplayMappingName);
  }
  return { kind: 'file', path: file, format, mapping };
}

/** A user's column mapping file: JSON, parsed against ColumnMapping; an error names the file either way. */
function readColumnMappingFile(file: string): ColumnMapping {
  return parseColumnMapping(readJson(fs.readFileSync(file, 'utf8'), `Column mapping ${file}`), file);
}

function scoringWindow(opts: Pick<ReplayCommandOptions, 'scoreFrom' | 'scoreUntil'>): ScoringWindow | undefined {
  const iso = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    if (Number.isNaN(Date.parse(v))) throw new Error(`${flag} '${v}' is not an ISO time`);
    return new Date(v).toISOString();
  };
  const window = { from: iso(opts.scoreFrom, '--score-from'), until: iso(opts.scoreUntil, '--score-until') };
  return window.from || window.until ? window : undefined;
}

/** The same source and policy give the same id, so re-running a replay resumes or reuses it. */
export function defaultReplayId(source: ReplaySource, policyHash: string): string {
  const identity =
    source.kind === 'file'
      ? (() => {
          const st = fs.statSync(source.path);
          return `${source.path}:${st.size}:${st.mtimeMs}`;
        })()
      : describeSource(source);
  const base = source.kind === 'file' ? path.basename(source.path).replace(/[^A-Za-z0-9._-]/g, '_') : source.topic;
  return `${base}-${createHash('sha256').update(`${identity}:${policyHash}`).digest('hex').slice(0, 10)}`;
}

/** The challenger's policy goes to the model store, where the shadow-scoring worker finds it by hash. */
async function shadowFor(
  config: Config,
  challenger: { model: string; policyFile: string },
): Promise<NonNullable<ScoringSettings['shadow']>> {
  const store = createAssignmentStore(config);
  try {
    const policyFileHash = await store.storePolicy(fs.readFileSync(challenger.policyFile, 'utf8'));
    return { model: challenger.model, policyFileHash, timeoutMs: config.env.SHADOW_TIMEOUT_MS };
  } finally {
    await store.close();
  }
}

export async function runReplayCommand(config: Config, opts: ReplayCommandOptions): Promise<BacktestReport> {
  // The report's throughput counts from here: the user waits for the stack and the preparation too.
  const commandStartedAt = new Date().toISOString();
  const log = opts.log ?? ((l: string) => console.log(l));
  if (!(opts.chunkSize >= 1 && opts.chunkSize <= chunkBounds.maxRows)) {
    throw new Error(`chunk size ${opts.chunkSize} is outside 1–${chunkBounds.maxRows} rows (Temporal's payload limit)`);
  }
  await stackUp(config, { log: () => undefined });
  installRuntime(config, { quiet: true });
  // Same scoring code and policy as streaming; the first pass runs as a local activity so orchestration does
  // not throttle the batch (see ScoringSettings.localFirstPassAsLocalActivity).
  const settings = {
    ...scoringSettingsFromConfig(config),
    localFirstPassAsLocalActivity: opts.localActivities ?? true,
    shadow: opts.shadow ? await shadowFor(config, opts.shadow) : undefined,
  };
  const source = parseReplaySource(opts);
  const window = scoringWindow(opts);
  const replayId = opts.replayId ?? defaultReplayId(source, replayIdentity(settings, window, opts.prepareOnly));
  const client = await connectClient(config);
  try {
    const assignments = createAssignmentStore(config);
    const workerSet = opts.workers
      ? await startWorkerSet({ config, client, assignments, publisherId: 'replay' })
      : undefined;
    try {
      // Kept from the replay's first start: a resumed replay, or `report <id>` run later, prices and draws its
      // report with what the replay ran with, whatever the configuration says by then.
      const store = new ReplayStore(config.replayDir);
      if (!store.readReportSettings(replayId)) store.writeReportSettings(replayId, reportSettingsFor(config, settings));
      const handle = await startOrResume(client, config, { replayId, source, window, settings, opts, log });
      const { replayStartedAt } = await replayWorkflowTimes(client, replayId);
      const preparation = preparationProgress(store, replayId, source, opts.chunkSize);
      const origin = rateOrigin(commandStartedAt, replayStartedAt);
      const result = await watchProgress(handle, log, client, origin, preparation);
      log(
        `replay ${replayId}: ${result.scored} scored, ${result.invalidRows} invalid rows, ${result.chunksTotal} chunks`,
      );
    } finally {
      await workerSet?.close();
      await assignments.close();
    }
    return writeReport(config, replayId, {
      times: { commandStartedAt, ...(await replayWorkflowTimes(client, replayId)) },
      policyHash: settings.policyHash,
      policy: configuredPolicyIfRanWith(config, replayId),
      log,
    });
  } finally {
    await client.connection.close();
  }
}

/** What tells one replay of a source from another: its policy, window, challenger, and whether it scores. */
function replayIdentity(settings: ScoringSettings, window: ScoringWindow | undefined, prepareOnly?: boolean): string {
  return (
    `${settings.policyHash}:${window?.from ?? ''}:${window?.until ?? ''}${prepareOnly ? ':prepare' : ''}` +
    (settings.shadow ? `:shadow=${settings.shadow.model}/${settings.shadow.policyFileHash}` : '')
  );
}

interface ReplayStart {
  replayId: string;
  source: ReplaySource;
  window: ScoringWindow | undefined;
  settings: ScoringSettings;
  opts: ReplayCommandOptions;
  log: (line: string) => void;
}

/** Starts the replay workflow, or follows the one already running or finished under this id. */
async function startOrResume(
  client: Client,
  config: Config,
  { replayId, source, window, settings, opts, log }: ReplayStart,
): Promise<WorkflowHandle<typeof replayWorkflow>> {
  const workflowId = replayWorkflowId(replayId);
  const rowParallelism =
    opts.rowParallelism ??
    Math.max(1, Math.ceil((2 * config.localModel.concurrency) / Math.max(1, opts.chunkParallelism)));
  try {
    const handle = await client.workflow.start<typeof replayWorkflow>('replayWorkflow', {
      workflowId,
      taskQueue: settings.taskQueues.orchestration,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      staticSummary: `replay ${replayId}: ${describeSource(source)}`,
      args: [
        {
          replayId,
          source,
          window,
          settings,
          options: {
            chunkSize: opts.chunkSize,
            chunkParallelism: opts.chunkParallelism,
            prepareOnly: opts.prepareOnly,
            rowParallelism,
          },
        },
      ],
    });
    log(`replay ${replayId}: ${describeSource(source)} (workflow ${workflowId})`);
    log(`  ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`);
    return handle;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log(`replay ${replayId} already finished: rebuilding its report from the stored decisions (nothing is rescored)`);
    return client.workflow.getHandle<typeof replayWorkflow>(workflowId);
  }
}

/**
 * How far preparation has read: the chunk files written so far (each `chunkSize` rows) against the source's row
 * count, when it is a file (its lines, less a CSV header); a Kafka range has no count ahead of reading.
 */
function preparationProgress(
  store: ReplayStore,
  replayId: string,
  source: ReplaySource,
  chunkSize: number,
): () => { rows: number; total?: number } {
  let total: number | undefined;
  if (source.kind === 'file') total = countLines(source.path) - (source.format === 'csv' ? 1 : 0);
  const chunks = path.join(store.dir(replayId), 'chunks');
  return () => ({ rows: (fs.existsSync(chunks) ? fs.readdirSync(chunks).length : 0) * chunkSize, total });
}

function countLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let lines = 0;
  let last = 10;
  try {
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) {
      for (let i = 0; i < n; i++) if (buffer[i] === 10) lines++;
      last = buffer[n - 1]!;
    }
  } finally {
    fs.closeSync(fd);
  }
  return last === 10 ? lines : lines + 1;
}

function preparationLine(p: { rows: number; total?: number }, elapsedMs: number): string {
  if (p.total === undefined)
    return `replay: preparing the source, ${p.rows} rows read (${formatDuration(elapsedMs / 1000)})`;
  return `${progressLine('replay: preparing the source', Math.min(p.rows, p.total), p.total, elapsedMs)}`;
}

/**
 * Polls the replay's progress query: a bar with rate and ETA on a TTY, a plain line every 5 s otherwise. The rate is
 * rows decided over the wall time since `since` (ms), as the report's throughput counts them.
 */
async function watchProgress(
  handle: { query: (q: typeof replayProgressQuery) => Promise<ReplayProgress>; result: () => Promise<unknown> },
  log: (l: string) => void,
  client: Client,
  since: number,
  preparation: () => { rows: number; total?: number },
): Promise<ReplayProgress> {
  // Rows decided so far: finished chunks, plus what each chunk being scored has decided.
  const decided = async (p: ReplayProgress) => {
    const inFlight = await Promise.all(
      (p.inFlightChunks ?? []).map((chunk) =>
        client.workflow
          .getHandle(replayChunkWorkflowId(p.replayId, chunk))
          .query(chunkProgressQuery)
          .catch(() => 0),
      ),
    );
    return p.scored + inFlight.reduce((a, b) => a + b, 0);
  };
  const tty = Boolean(process.stdout.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: 'replay [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  let lastLine = 0;
  let done = false;
  const finished = handle.result().finally(() => (done = true));
  let last: ReplayProgress | undefined;
  while (!done) {
    try {
      last = await handle.query(replayProgressQuery);
      const rows = await decided(last);
      const rate = (rows / Math.max(1, (Date.now() - since) / 1000)).toFixed(1);
      if (bar && last.prepared) {
        if (!started) bar.start(last.rowsTotal, 0, { rate });
        started = true;
        bar.update(rows, { rate });
      } else if ((!bar || !last.prepared) && Date.now() - lastLine > 5000) {
        log(
          last.prepared
            ? `${progressLine('replay', rows, last.rowsTotal, Date.now() - since)}, ${last.chunksDone}/${last.chunksTotal} chunks`
            : preparationLine(preparation(), Date.now() - since),
        );
        lastLine = Date.now();
      }
    } catch {
      // Between continue-as-new runs a query can miss; the next poll finds the new run.
    }
    await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  }
  bar?.stop();
  const result = (await finished) as ReplayProgress;
  return result ?? last;
}
