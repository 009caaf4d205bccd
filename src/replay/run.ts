/**
 * `fraudflow replay <source>` and `fraudflow report`: start (or resume) a durable replay, show its progress,
 * and write the backtest report (JSON and a self-contained HTML page) next to its decisions.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import cliProgress from 'cli-progress';
import { dataConverterFor } from '../codec';
import type { Config } from '../config';
import { createKafka } from '../kafka/client';
import { createModelClients } from '../models/clients';
import { createAssignmentStore } from '../models/assignment';
import type { ScoringSettings } from '../scoring/settings';
import { scoringSettingsFromConfig } from '../scoring/settings';
import { stackUp } from '../stack';
import { taskQueuesFor } from '../task-queues';
import {
  connectWorker,
  createHostedScoringWorker,
  createShadowScoringWorker,
  createLocalScoringWorker,
  createOrchestrationWorker,
  createFeatureStore,
  installRuntime,
} from '../../workers/build';
import type { ReplayProgress, replayWorkflow } from '../../workflows/replay';
import {
  chunkProgressQuery,
  replayChunkWorkflowId,
  replayProgressQuery,
  replayWorkflowId,
} from '../../workflows/replay';
import type { ReplaySource } from './contracts';
import { describeSource } from './contracts';
import type { ScoringWindow } from './contracts';
import {
  BacktestReport,
  buildBacktestReport,
  challengerRows,
  compareReports,
  renderComparisonHtml,
  renderReportHtml,
} from './report';
import type { ColumnMapping, ReplayMappingName } from './sources';
import { detectFormat, mappingFor } from './sources';
import type { ReplayReportSettings } from './store';
import { ReplayStore } from './store';

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
      ? (JSON.parse(fs.readFileSync(opts.mappingFile, 'utf8')) as ColumnMapping)
      : mappingFor((opts.mapping ?? 'credit-card-transactions') as ReplayMappingName);
  }
  return { kind: 'file', path: file, format, mapping };
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

/** The thresholds and hosted prices a replay's report needs, from the settings the replay runs with. */
export function reportSettingsFor(config: Config, settings: ScoringSettings): ReplayReportSettings {
  const hosted = config.hosted.providers[0];
  return {
    policyHash: settings.policyHash,
    thresholds: { approveBelow: settings.policy.approveBelow, declineAt: settings.policy.declineAt },
    hostedPricing: { inputUsdPerMTok: hosted?.inputUsdPerMTok ?? 0, outputUsdPerMTok: hosted?.outputUsdPerMTok ?? 0 },
    recordedAt: new Date().toISOString(),
  };
}

function reportPaths(store: ReplayStore, replayId: string) {
  return { json: path.join(store.dir(replayId), 'report.json'), html: path.join(store.dir(replayId), 'report.html') };
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
  const log = opts.log ?? ((l: string) => console.log(l));
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
  const replayId =
    opts.replayId ??
    defaultReplayId(
      source,
      `${settings.policyHash}:${window?.from ?? ''}:${window?.until ?? ''}${opts.prepareOnly ? ':prepare' : ''}` +
        (settings.shadow ? `:shadow=${settings.shadow.model}/${settings.shadow.policyFileHash}` : ''),
    );
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({
    connection: clientConnection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
  });
  const workers: Worker[] = [];
  const running: Array<Promise<void>> = [];
  const producer = createKafka(config, 'replay').producer({ allowAutoTopicCreation: false });
  const connection = opts.workers ? await connectWorker(config) : undefined;
  // Replay computes card history from the replayed rows themselves; the live store is never read or written.
  const featureStore = createFeatureStore(config);
  const assignments = createAssignmentStore(config);
  try {
    if (connection) {
      await producer.connect();
      const models = createModelClients(config);
      const deps = { config, connection, taskQueues: taskQueuesFor(config.taskQueuePrefix) };
      workers.push(
        await createOrchestrationWorker({ ...deps, producer, client, models, featureStore, assignments }),
        await createLocalScoringWorker({ ...deps, models, assignments }),
        await createShadowScoringWorker({ ...deps, models, assignments }),
        await createHostedScoringWorker({ ...deps, models }),
      );
      running.push(...workers.map((w) => w.run()));
    }

    // Kept from the replay's first start: a resumed replay, or `report <id>` run later, prices and draws its report
    // with what the replay ran with, whatever the configuration says by then.
    const store = new ReplayStore(config.replayDir);
    if (!store.readReportSettings(replayId)) store.writeReportSettings(replayId, reportSettingsFor(config, settings));

    const workflowId = replayWorkflowId(replayId);
    let handle;
    try {
      handle = await client.workflow.start<typeof replayWorkflow>('replayWorkflow', {
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
              rowParallelism:
                opts.rowParallelism ??
                Math.max(1, Math.ceil((2 * config.localModel.concurrency) / Math.max(1, opts.chunkParallelism))),
            },
          },
        ],
      });
      log(`replay ${replayId}: ${describeSource(source)} (workflow ${workflowId})`);
      log(`  ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      log(`replay ${replayId} already finished: rebuilding its report from the stored decisions (nothing is rescored)`);
      handle = client.workflow.getHandle(workflowId);
    }

    const result = await watchProgress(handle, log, client);
    log(
      `replay ${replayId}: ${result.scored} scored, ${result.invalidRows} invalid rows, ${result.chunksTotal} chunks`,
    );
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await featureStore.close();
    await assignments.close();
    await producer.disconnect();
    await connection?.close();
  }

  const described = await client.workflow.getHandle(replayWorkflowId(replayId)).describe();
  await clientConnection.close();
  return writeReport(config, replayId, {
    startedAt: described.startTime.toISOString(),
    finishedAt: (described.closeTime ?? new Date()).toISOString(),
    policyHash: settings.policyHash,
    log,
  });
}

/** Polls the replay's progress query: a bar with rate and ETA on a TTY, a plain line every 5 s otherwise. */
async function watchProgress(
  handle: { query: (q: typeof replayProgressQuery) => Promise<ReplayProgress>; result: () => Promise<unknown> },
  log: (l: string) => void,
  client: Client,
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
  const t0 = Date.now();
  let lastLine = 0;
  let done = false;
  const finished = handle.result().finally(() => (done = true));
  let last: ReplayProgress | undefined;
  while (!done) {
    try {
      last = await handle.query(replayProgressQuery);
      const rows = await decided(last);
      const rate = (rows / Math.max(1, (Date.now() - t0) / 1000)).toFixed(1);
      if (bar && last.prepared) {
        if (!started) bar.start(last.rowsTotal, 0, { rate });
        started = true;
        bar.update(rows, { rate });
      } else if (!bar && Date.now() - lastLine > 5000) {
        log(
          `replay: ${last.prepared ? `${rows}/${last.rowsTotal} rows, ${last.chunksDone}/${last.chunksTotal} chunks, ${rate} rows/s` : 'preparing the source'}`,
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

export function writeReport(
  config: Config,
  replayId: string,
  meta: { startedAt: string; finishedAt: string; policyHash: string; log: (l: string) => void },
): BacktestReport {
  const store = new ReplayStore(config.replayDir);
  const rows = store.readResults(replayId);
  const first = rows[0]?.decision;
  const stored = store.readReportSettings(replayId);
  if (!stored) meta.log(`replay ${replayId} has no stored settings: its report uses today's thresholds and prices`);
  const { thresholds, hostedPricing } = stored ?? reportSettingsFor(config, scoringSettingsFromConfig(config));
  const report = buildBacktestReport(
    rows.map((r) => ({ decision: r.decision, label: r.label })),
    {
      replayId,
      policyHash: first?.policyHash ?? stored?.policyHash ?? meta.policyHash,
      thresholds,
      hostedPricing,
      startedAt: meta.startedAt,
      finishedAt: meta.finishedAt,
      invalidRows: store.readInvalid(replayId),
    },
  );
  const paths = reportPaths(store, replayId);
  fs.writeFileSync(paths.json, JSON.stringify(report, null, 2));
  fs.writeFileSync(paths.html, renderReportHtml(report));
  const op = report.operatingPoints.decline;
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  meta.log(`report ${replayId}:`);
  meta.log(
    `  decisions   approve ${report.decisions.byOutcome.approve}, review ${report.decisions.byOutcome.review}, decline ${report.decisions.byOutcome.decline}`,
  );
  meta.log(`  at decline  precision ${pct(op.precision)}, recall ${pct(op.recall)}, F1 ${pct(op.f1)}`);
  meta.log(
    `  escalation  ${pct(report.escalation.rate)}; cost $${report.cost.actualUsd.toFixed(4)} vs hosted-only $${report.cost.hostedOnlyUsd.toFixed(4)} (savings ${report.cost.savingsPct === null ? 'n/a' : `${report.cost.savingsPct.toFixed(1)}%`})`,
  );
  meta.log(`  throughput  ${report.throughput.rowsPerSecond?.toFixed(1) ?? 'n/a'} rows/s`);
  meta.log(`  ${paths.json}`);
  meta.log(`  ${paths.html}`);
  return report;
}

/** `fraudflow report --compare A B`: both reports side by side. */
export function compareCommand(config: Config, a: string, b: string, log: (l: string) => void = console.log): string {
  const store = new ReplayStore(config.replayDir);
  const load = (id: string) => JSON.parse(fs.readFileSync(reportPaths(store, id).json, 'utf8')) as BacktestReport;
  const [ra, rb] = [load(a), load(b)];
  const comparison = compareReports(ra, rb);
  const out = path.join(config.replayDir, `compare-${a}-vs-${b}.html`);
  fs.writeFileSync(out, renderComparisonHtml(ra, rb));
  for (const m of comparison.metrics) {
    log(
      `${m.label.padEnd(36)} ${String(m.a ?? 'n/a').padStart(12)} ${String(m.b ?? 'n/a').padStart(12)}  Δ ${m.delta ?? 'n/a'}`,
    );
  }
  log(out);
  return out;
}

/** `fraudflow report --compare <replayId>`: a replay's champion against the challenger it scored in shadow. */
export function compareShadowCommand(config: Config, replayId: string, log: (l: string) => void = console.log): string {
  const store = new ReplayStore(config.replayDir);
  const rows = store.readResults(replayId).map((r) => ({ decision: r.decision, label: r.label }));
  const challenger = rows.find((r) => r.decision.shadow)?.decision.shadow;
  if (!challenger) throw new Error(`replay ${replayId} scored no challenger in shadow (replay --shadow <tag>)`);
  const champion = BacktestReport.parse(JSON.parse(fs.readFileSync(reportPaths(store, replayId).json, 'utf8')));
  const { hostedPricing } =
    store.readReportSettings(replayId) ?? reportSettingsFor(config, scoringSettingsFromConfig(config));
  const shadowReport = buildBacktestReport(challengerRows(rows), {
    replayId: `${replayId} challenger ${challenger.model}`,
    policyHash: challenger.policyHash,
    thresholds: champion.thresholds,
    hostedPricing,
    startedAt: champion.startedAt,
    finishedAt: champion.finishedAt,
    invalidRows: [],
  });
  const out = path.join(config.replayDir, `compare-${replayId}-shadow.html`);
  fs.writeFileSync(out, renderComparisonHtml(champion, shadowReport));
  for (const m of compareReports(champion, shadowReport).metrics) {
    log(
      `${m.label.padEnd(36)} ${String(m.a ?? 'n/a').padStart(12)} ${String(m.b ?? 'n/a').padStart(12)}  Δ ${m.delta ?? 'n/a'}`,
    );
  }
  log(out);
  return out;
}

/** `fraudflow report <replayId>`: the report again from stored decisions, timed by the replay workflow. */
export async function rebuildReport(config: Config, replayId: string): Promise<BacktestReport> {
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterFor(config),
    });
    const described = await client.workflow.getHandle(replayWorkflowId(replayId)).describe();
    return writeReport(config, replayId, {
      startedAt: described.startTime.toISOString(),
      finishedAt: (described.closeTime ?? new Date()).toISOString(),
      policyHash: '',
      log: (l) => console.log(l),
    });
  } finally {
    await connection.close();
  }
}
