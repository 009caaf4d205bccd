/** A replay source file: its format, and opening it. */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { ReadStream } from 'node:fs';
import path from 'node:path';

export type ReplayFormat = 'jsonl' | 'csv';

/** The format a replay source is read as, from its extension. Throws on any other extension. */
export function detectFormat(file: string): ReplayFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new Error(`cannot tell the format of ${file}: expected .jsonl, .ndjson, .json or .csv`);
}

/** Opens a file stream and waits for the open, so a missing file throws here rather than inside a consumer. */
export async function openForReading(file: string, encoding?: BufferEncoding): Promise<ReadStream> {
  const input = createReadStream(file, encoding ? { encoding } : {});
  await once(input, 'open');
  return input;
}
