/**
 * Batch replay of historical transactions through the same scoring code as streaming (`decideTransaction`).
 *
 * `replayWorkflow` (id `replay-<replayId>`) prepares the source once into numbered chunks, then runs one
 * `replayChunkWorkflow` child per chunk (id `replay-<replayId>-chunk-<n>`, never re-run once finished), a few
 * at a time, continuing as new to keep its history short. Each chunk scores its rows with bounded parallelism
 * and stores its decisions. A crash anywhere resumes where it stopped; re-running a replay id rescored nothing.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FraudflowActivities } from '../activities';
import type {
  ReplayChunkResult,
  ReplayProgress,
  ReplayResultRow,
  ReplaySource,
  ScoringWindow,
} from '../src/replay/contracts';
import { chunkProgressQuery, replayProgressQuery } from '../src/replay/contracts';
import { replayChunkWorkflowId } from '../src/workflow-ids';
import type { ScoringSettings } from '../src/scoring/settings';
import { decideTransaction, silentObserver } from './decide-transaction';
import { scoreInShadow, shadowScoringPatch } from './score-transaction';

export type { ReplayProgress } from '../src/replay/contracts';
export { chunkProgressQuery, replayProgressQuery } from '../src/replay/contracts';
export { replayChunkWorkflowId, replayWorkflowId } from '../src/workflow-ids';

export interface ReplayOptions {
  /** Rows per chunk workflow. */
  chunkSize: number;
  /** Chunk workflows running at once. */
  chunkParallelism: number;
  /** Transactions scored at once inside one chunk. */
  rowParallelism: number;
  /** Prepare the rows (events, card features, labels) and score none: enough for `fraudflow tune`. @default false */
  prepareOnly?: boolean;
}

export interface ReplayInput {
  replayId: string;
  source: ReplaySource;
  /** Rows outside it only build card history. @default every row is scored */
  window?: ScoringWindow;
  settings: ScoringSettings;
  options: ReplayOptions;
  /** Carried across continue-as-new. */
  progress?: ReplayProgress;
  nextChunk?: number;
}

const preparing = {
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
} as const;
const storing = { startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumInterval: '30s' } } as const;

/** Chunks finished per run before continuing as new. */
const chunksPerRun = 40;

export async function replayWorkflow(input: ReplayInput): Promise<ReplayProgress> {
  const { replayId, options } = input;
  const { prepareReplay } = proxyActivities<FraudflowActivities>({
    taskQueue: input.settings.taskQueues.orchestration,
    ...preparing,
  });
  const progress: ReplayProgress = input.progress ?? {
    replayId,
    prepared: false,
    chunksTotal: 0,
    chunksDone: 0,
    rowsTotal: 0,
    invalidRows: 0,
    scored: 0,
    done: false,
  };
  setHandler(replayProgressQuery, () => progress);

  if (!progress.prepared) {
    // Reads the source once into chunk files; idempotent, so a retry after a crash rewrites the same chunks.
    const prepared = await prepareReplay({
      replayId,
      source: input.source,
      chunkSize: options.chunkSize,
      window: input.window,
    });
    Object.assign(progress, { prepared: true, ...prepared });
  }
  if (options.prepareOnly) {
    progress.done = true;
    return progress;
  }

  let next = input.nextChunk ?? 0;
  let inFlight = 0;
  let finishedThisRun = 0;
  const record = (result: ReplayChunkResult) => {
    progress.chunksDone++;
    progress.scored += result.scored;
  };

  progress.inFlightChunks = [];
  const launch = async (chunk: number) => {
    inFlight++;
    progress.inFlightChunks?.push(chunk);
    try {
      const child = await startChild(replayChunkWorkflow, {
        workflowId: replayChunkWorkflowId(replayId, chunk),
        taskQueue: input.settings.taskQueues.orchestration,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ replayId, chunk, settings: input.settings, rowParallelism: options.rowParallelism }],
      });
      record(await child.result());
    } catch (err) {
      // Already finished in an earlier run of this replay: its decisions are stored; nothing is rescored.
      if (err instanceof WorkflowExecutionAlreadyStartedError) record({ chunk, scored: 0, alreadyDone: true });
      else if (err instanceof ChildWorkflowFailure)
        throw ApplicationFailure.nonRetryable(`chunk ${chunk} failed: ${err.message}`);
      else throw err;
    } finally {
      inFlight--;
      finishedThisRun++;
      progress.inFlightChunks = progress.inFlightChunks?.filter((c) => c !== chunk);
    }
  };

  const pending: Array<Promise<void>> = [];
  while (next < progress.chunksTotal && finishedThisRun + inFlight < chunksPerRun) {
    await condition(() => inFlight < options.chunkParallelism);
    pending.push(launch(next++));
  }
  await Promise.all(pending);

  if (next < progress.chunksTotal) {
    await continueAsNew<typeof replayWorkflow>({ ...input, progress, nextChunk: next });
  }
  progress.done = true;
  return progress;
}

export interface ReplayChunkInput {
  replayId: string;
  chunk: number;
  settings: ScoringSettings;
  rowParallelism: number;
}

/** Scores one chunk with the streaming workflow's logic, `rowParallelism` transactions at a time. */
export async function replayChunkWorkflow(input: ReplayChunkInput): Promise<ReplayChunkResult> {
  const { loadReplayChunk, storeReplayResults } = proxyActivities<FraudflowActivities>({
    taskQueue: input.settings.taskQueues.orchestration,
    ...storing,
  });
  const info = workflowInfo();
  const chunk = await loadReplayChunk({ replayId: input.replayId, chunk: input.chunk });
  const results: ReplayResultRow[] = [];
  setHandler(chunkProgressQuery, () => results.length);
  let cursor = 0;
  const worker = async () => {
    while (cursor < chunk.rows.length) {
      const row = chunk.rows[cursor++];
      if (!row) break;
      const { decision } = await decideTransaction(
        {
          event: row.event,
          source: { kind: 'replay', replayId: input.replayId, uri: chunk.uri, line: row.line },
          settings: input.settings,
          features: row.features,
        },
        silentObserver(),
        { workflowId: info.workflowId, runId: info.runId, spendKey: `${info.workflowId}:${row.event.transactionId}` },
      );
      // A challenger in shadow: scored after the champion's decision, beside it in the results (report --compare).
      if (input.settings.shadow && patched(shadowScoringPatch))
        decision.shadow = await scoreInShadow(row.event, input.settings, decision, row.features);
      results.push({
        line: row.line,
        decision,
        label: row.label ? { isFraud: row.label.isFraud, pattern: row.label.pattern } : undefined,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.rowParallelism) }, worker));
  await storeReplayResults({ replayId: input.replayId, chunk: input.chunk, results });
  return { chunk: input.chunk, scored: results.length, alreadyDone: false };
}
