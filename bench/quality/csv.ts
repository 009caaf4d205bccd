/**
 * A public dataset in the built-in card-transactions CSV layout (fraudTest.csv): its transaction times, so the
 * benchmark can split it by time, and optionally its first rows as a file of their own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { parseTimestamp } from '../../src/replay/sources';

export async function csvTimes(file: string, rows?: number): Promise<{ file: string; times: number[] }> {
  const source = path.resolve(file);
  const times: number[] = [];
  const kept: string[] = [];
  const parser = fs.createReadStream(source).pipe(parse({ columns: true, relax_column_count: true }));
  const header = fs.readFileSync(source, 'utf8').slice(0, 4096).split('\n')[0] ?? '';
  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    const at = parseTimestamp(record.trans_date_trans_time ?? '', 'YYYY-MM-DD HH:mm:ss');
    if (typeof at === 'string') times.push(Date.parse(at));
    if (rows !== undefined) {
      kept.push(
        Object.values(record)
          .map((v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v))
          .join(','),
      );
      if (kept.length >= rows) break;
    }
  }
  if (rows === undefined) return { file: source, times };
  const out = path.join(path.dirname(source), `${path.basename(source, '.csv')}-first-${rows}.csv`);
  fs.writeFileSync(out, `${header}\n${kept.join('\n')}\n`);
  return { file: out, times };
}
