/** JSONL replay sources: one TransactionEvent per non-empty line. */
import readline from 'node:readline';
import { jsonReplayRow } from './replay-row';
import type { ReplayRow } from './replay-row';
import { openForReading } from './source-file';

/** Reads one TransactionEvent per non-empty line. Throws only when the file cannot be opened or read. */
export async function* readJsonl(file: string): AsyncGenerator<ReplayRow> {
  const input = await openForReading(file, 'utf8');
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      const raw = line === 1 ? text.replace(/^\uFEFF/, '') : text;
      if (raw.trim() === '') continue;
      yield jsonReplayRow(line, raw);
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
