/** What a replay reads and what it keeps, shared by the replay workflows, activities and the CLI. */
import type { Decision } from '../schemas/decision';
import type { TransactionEvent } from '../schemas/transaction-event';
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

/** What `prepareReplay` learned about the source. */
export interface PreparedReplay {
  uri: string;
  rowsTotal: number;
  chunksTotal: number;
  invalidRows: number;
}

export interface ReplayChunk {
  uri: string;
  rows: Array<{ line: number; event: TransactionEvent }>;
}

export interface ReplayResultRow {
  line: number;
  decision: Decision;
  label?: { isFraud: boolean };
}

export interface ReplayChunkResult {
  chunk: number;
  scored: number;
  /** Finished in an earlier run of the same replay id; not rescored. */
  alreadyDone: boolean;
}

export function describeSource(source: ReplaySource): string {
  if (source.kind === 'file') return `file://${source.path}`;
  const range = (r?: { offset: string } | { time: string }) =>
    r ? ('offset' in r ? `offset ${r.offset}` : r.time) : '';
  return `kafka://${source.topic}${source.from ? ` from ${range(source.from)}` : ''}${source.to ? ` to ${range(source.to)}` : ''}`;
}
