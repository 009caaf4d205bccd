/**
 * What every replay source yields: one row per record, an event or an error row with its line number and raw text.
 * Rows never throw and are never dropped; only a file that cannot be opened or read throws.
 */
import { z } from 'zod';
import { readTransactionEvent, TransactionEvent } from '../../schemas/transaction-event';

/** One source record: `line` is 1-based (a CSV header is line 1, its first data row line 2). */
export type ReplayRow = { line: number; event: TransactionEvent } | { line: number; error: string; raw: string };

/** The row for a candidate event: the event if TransactionEvent accepts it, else an error row with zod's reasons. */
export function eventRow(line: number, raw: string, candidate: unknown): ReplayRow {
  const parsed = TransactionEvent.safeParse(candidate);
  return parsed.success ? { line, event: parsed.data } : { line, error: z.prettifyError(parsed.error), raw };
}

/** The row for one record of JSON text (a JSONL line, a Kafka message); `at` says where, in its error. */
export function jsonReplayRow(line: number, raw: string, at?: string): ReplayRow {
  const reading = readTransactionEvent(raw);
  if (reading.ok) return { line, event: reading.event };
  const error = reading.reason === 'invalid_json' ? `invalid JSON: ${reading.detail}` : reading.detail;
  return { line, error: at ? `${at}: ${error}` : error, raw };
}
