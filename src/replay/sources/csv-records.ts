/**
 * A CSV file as a stream of records, in file order with the ones csv-parse rejects. File → NewlineNormalizer →
 * parser, consumed with `for await`: the parser's object buffer and pipe() hold the file back while the consumer is
 * busy, so memory stays at a few chunks whatever the file's size.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { parse } from 'csv-parse';
import type { CsvError, InfoRecord, Parser } from 'csv-parse';
import { openForReading } from './source-file';

/** One record as parsed, or why the parser rejected it. `line` is where it starts, `raw` its text. */
export type CsvRecord = { line: number; raw: string; fields: string[] } | { line: number; raw: string; error: string };
type RejectedRecord = Extract<CsvRecord, { error: string }>;

/**
 * The records of a CSV file. A rejected record (wrong field count, bad quoting) is yielded with its error and
 * parsing goes on from the next one; an unclosed quote can swallow the rest of the file into that one record.
 * Throws only when the file cannot be opened or read.
 */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const input = await openForReading(file);
  const newlines = new NewlineNormalizer();
  const parser = createRecordParser();
  input.on('error', (err) => parser.destroy(err)); // pipe() does not pass a read failure on
  input.pipe(newlines).pipe(parser);
  let lastLine = 1;
  try {
    for await (const record of mergeRepeatedRejections(parser as AsyncIterable<CsvRecord>)) {
      lastLine = record.line;
      yield record;
    }
  } catch (err) {
    if (input.errored) throw err;
    yield { line: lastLine, raw: '', error: `CSV parsing stopped: ${csvErrorMessage(err)}` };
  } finally {
    input.destroy();
    newlines.destroy();
    parser.destroy();
  }
}

/**
 * A parser whose output is CsvRecords. Records it rejects reach only `on_skip`, so both callbacks push into its
 * output themselves: synchronous within one parse, the pushes keep file order.
 */
function createRecordParser(): Parser {
  const parser: Parser = parse({
    bom: true,
    raw: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_record: (record: unknown, info: InfoRecord) => {
      const fields = (record as { record: string[] }).record; // `raw: true` wraps the fields
      parser.push({ ...located(info.lines, info.raw), fields } satisfies CsvRecord);
      return null;
    },
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const endLine = typeof err?.lines === 'number' ? err.lines : 1;
      parser.push({ ...located(endLine, raw), error: csvErrorMessage(err) } satisfies CsvRecord);
      return undefined;
    },
  });
  return parser;
}

/**
 * The parser is fed LF-only text (see NewlineNormalizer) and counts lines itself; it reports the line a record
 * ends on, so the line breaks inside the record (quoted multi-line fields) are subtracted. Empty lines skipped
 * before the record lead its raw text and are not part of it.
 */
function located(endLine: number, raw = ''): { line: number; raw: string } {
  const body = raw.replace(/^\n+/, '').replace(/\n$/, '');
  let breaks = 0;
  for (const ch of body) if (ch === '\n') breaks++;
  return { line: Math.max(1, endLine - breaks), raw: body };
}

/** One broken record can be rejected twice (a bad quote, then its field count): one record with both reasons. */
async function* mergeRepeatedRejections(records: AsyncIterable<CsvRecord>): AsyncGenerator<CsvRecord> {
  let held: RejectedRecord | undefined; // held back until the next record shows it is not rejected again
  try {
    for await (const record of records) {
      if (held !== undefined && 'error' in record && record.line === held.line) {
        held = {
          line: held.line,
          raw: record.raw.length > held.raw.length ? record.raw : held.raw,
          error: `${held.error}\n${record.error}`,
        };
        continue;
      }
      if (held !== undefined) yield held;
      held = 'error' in record ? record : undefined;
      if (held === undefined) yield record;
    }
  } catch (err) {
    if (held !== undefined) yield held;
    throw err;
  }
  if (held !== undefined) yield held;
}

function csvErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : 'unreadable CSV record';
}

/**
 * Turns CRLF and lone CR into LF, byte-wise across chunk boundaries. csv-parse counts a CRLF inside a quoted field
 * as two lines; on LF-only input its line numbers match an editor's. CR and LF never occur inside a multi-byte UTF-8
 * sequence, so working on bytes is safe.
 */
class NewlineNormalizer extends Transform {
  private pendingCr = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    done(null, this.convert(chunk));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pendingCr ? Buffer.from('\n') : undefined);
  }

  private convert(chunk: Buffer): Buffer {
    if (!this.pendingCr && !chunk.includes(0x0d)) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let i = 0;
    if (this.pendingCr) {
      out[n++] = 0x0a;
      if (chunk[0] === 0x0a) i = 1;
      this.pendingCr = false;
    }
    for (; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte !== 0x0d) {
        out[n++] = byte;
      } else if (i === chunk.length - 1) {
        this.pendingCr = true; // the LF that may complete it is in the next chunk
      } else {
        out[n++] = 0x0a;
        if (chunk[i + 1] === 0x0a) i++;
      }
    }
    return out.subarray(0, n);
  }
}
