/**
 * What every replay source yields: one row per record, an event or an error row with its line number and raw text.
 * Rows never throw and are never dropped; only a file that cannot be opened or read throws.
 */
import { z } from 'zod';
import { TransactionEvent } from '../../schemas/transaction-event';

/** One source record: `line` is 1-based (a CSV header is line 1, its first data row line 2). */
export type ReplayRow = { line: number; event: TransactionEvent } | { line: number; error: string; raw: string };

/** The row for a candidate event: the event if TransactionEvent accepts it, else an error row with zod's reasons. */
export function eventRow(line: number, raw: string, candidate: unknown): ReplayRow {
  const parsed = TransactionEvent.safeParse(candidate);
  return parsed.success ? { line, event: parsed.data } : { line, error: z.prettifyError(parsed.error), raw };
}
