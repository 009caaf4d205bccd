/** What a replay reads and what it keeps, shared by the replay workflows, activities and the CLI. */
import { defineQuery } from '@temporalio/workflow';
import type { Decision } from '../schemas/decision';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { CardFeatures } from '../schemas/card-features';

/** Ground truth of a replayed row, kept apart from the event the workflow scores. */
export interface Label {
  isFraud: boolean;
  pattern?: string;
}
import type { ColumnMapping } from './sources';

export type ReplaySource =
  | { kind: 'file'; path: string; format: 'jsonl' | 'csv'; mapping?: ColumnMapping }
  | {
      kind: 'kafka';
      topic: string;
      /** Inclusive start: an offset (applied to every partition) or an ISO time. @default the earliest */
      from?: { offset: string } | { time: string };
      /** Exclusive end: an offset or an ISO time. @default the latest at prepare time */
      to?: { offset: string } | { time: string };
    };

/**
 * Which rows are scored, by occurredAt: rows outside [from, until) only build card history, so a later period
 * is scored with its full history behind it. @default every row
 */
export interface ScoringWindow {
  from?: string;
  until?: string;
}

/** What `prepareReplay` learned about the source. */
export interface PreparedReplay {
  uri: string;
  rowsTotal: number;
  chunksTotal: number;
  invalidRows: number;
}

/**
 * Bounds on one chunk, so its rows (the load activity's result) and its decisions (the store activity's input)
 * stay well under Temporal's 2 MB payload limit: at most `maxRows` rows, and a chunk is cut early once its rows'
 * JSON passes `maxRowBytes` (an event may carry large attributes). A decision is 1.5–2 KB, so 500 are ~1 MB.
 */
export const chunkBounds = { maxRows: 500, maxRowBytes: 1024 * 1024 } as const;

export interface ReplayChunk {
  uri: string;
  /** Events without their label; `features` are the card's point-in-time history from the earlier rows. */
  rows: Array<{ line: number; event: TransactionEvent; features: CardFeatures; label?: Label }>;
}

export interface ReplayResultRow {
  line: number;
  decision: Decision;
  label?: Label;
}

export interface ReplayChunkResult {
  chunk: number;
  scored: number;
  /** Finished in an earlier run of the same replay id; not rescored. */
  alreadyDone: boolean;
}

export function inScoringWindow(occurredAt: string, window: ScoringWindow | undefined): boolean {
  const t = Date.parse(occurredAt);
  if (window?.from !== undefined && t < Date.parse(window.from)) return false;
  if (window?.until !== undefined && t >= Date.parse(window.until)) return false;
  return true;
}

export function describeSource(source: ReplaySource): string {
  if (source.kind === 'file') return `file://${source.path}`;
  const range = (r?: { offset: string } | { time: string }) =>
    r ? ('offset' in r ? `offset ${r.offset}` : r.time) : '';
  return `kafka://${source.topic}${source.from ? ` from ${range(source.from)}` : ''}${source.to ? ` to ${range(source.to)}` : ''}`;
}

export interface ReplayProgress {
  replayId: string;
  prepared: boolean;
  chunksTotal: number;
  chunksDone: number;
  rowsTotal: number;
  invalidRows: number;
  scored: number;
  /** Chunks being scored now; each answers `chunkProgressQuery` with its rows decided so far. */
  inFlightChunks?: number[];
  done: boolean;
}

/** A replay's progress, asked of `replayWorkflow` by the CLI's progress bar. */
export const replayProgressQuery = defineQuery<ReplayProgress>('progress');

/** Rows a chunk workflow has decided so far: progress per row, not per finished chunk. */
export const chunkProgressQuery = defineQuery<number>('chunkProgress');
