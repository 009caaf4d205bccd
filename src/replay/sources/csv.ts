/** CSV replay sources: a header row, then one transaction per record, read through a ColumnMapping. */
import { once } from 'node:events';
import { parse } from 'csv-parse';
import type { CsvError, InfoRecord } from 'csv-parse';
import type { ColumnMapping } from './column-mapping';
import type { ReplayRow } from './replay-row';
import { createRowConverter } from './row-conversion';
import { openForReading } from './source-file';

interface ParsedRecord {
  line: number;
  raw: string;
  fields?: string[];
  error?: string;
}

/**
 * Reads a CSV file with a header row, one ReplayRow per data record, streaming. A record the CSV parser rejects
 * (wrong field count, bad quoting) is an error row and parsing goes on from the next record; an unclosed quote can
 * swallow the rest of the file into that one error row. An error row's `raw` is the record's text as far as the
 * parser read it, with card-number-like digit runs masked. A header that lacks a mapped column yields one error row
 * for the header line and nothing else. Throws only when the file cannot be opened or read.
 */
export async function* readCsv(file: string, mapping: ColumnMapping): AsyncGenerator<ReplayRow> {
  const input = await openForReading(file);
  const pending: ParsedRecord[] = [];
  const push = (next: ParsedRecord): void => {
    // One broken record can be reported twice (a bad quote, then its field count): keep one row with both reasons.
    const last = pending.at(-1);
    if (next.error !== undefined && last?.error !== undefined && last.line === next.line) {
      last.error = `${last.error}\n${next.error}`;
      last.raw = next.raw.length > last.raw.length ? next.raw : last.raw;
    } else pending.push(next);
  };
  const parser = parse({
    bom: true,
    raw: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_record: (record: unknown, info: InfoRecord) => {
      const raw = info.raw ?? '';
      push({
        line: recordStartLine(info.lines, raw),
        raw: trimRaw(raw),
        fields: (record as { record: string[] }).record,
      });
      return null; // records reach the generator through `pending`, in file order with the errors
    },
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const lines = typeof err?.lines === 'number' ? err.lines : 1;
      push({ line: recordStartLine(lines, raw ?? ''), raw: trimRaw(raw ?? ''), error: csvErrorMessage(err) });
      return undefined;
    },
  });
  let parserError: unknown;
  parser.on('error', (err) => (parserError ??= err));

  let header: string[] | undefined;
  let lastLine = 1;
  const newlines = new NewlineNormalizer();
  const convert = createRowConverter(mapping);
  try {
    let stop = false;
    const drain = function* (): Generator<ReplayRow> {
      for (let next = pending.shift(); next !== undefined && !stop; next = pending.shift()) {
        lastLine = next.line;
        if (next.error !== undefined) {
          yield { line: next.line, error: next.error, raw: maskCardNumbers(next.raw) };
        } else if (header === undefined) {
          header = (next.fields ?? []).map((name) => name.trim());
          const missing = convert.columns.filter((column) => !header?.includes(column));
          if (missing.length > 0) {
            stop = true;
            yield {
              line: next.line,
              error: `the header lacks column(s) ${missing.map((c) => JSON.stringify(c)).join(', ')} that the ${mapping.name} mapping reads`,
              raw: next.raw,
            };
          }
        } else {
          const row = convert.row(next.line, next.raw, header, next.fields ?? []);
          yield 'error' in row ? { ...row, raw: maskCardNumbers(row.raw) } : row;
        }
      }
    };
    for await (const chunk of input) {
      if (!(await writeTo(parser, newlines.convert(chunk as Buffer)))) break;
      yield* drain();
      if (stop) return;
    }
    if (parserError === undefined) {
      await writeTo(parser, newlines.flush());
      parser.end();
      await Promise.race([once(parser, 'finish'), once(parser, 'close')]).catch(() => undefined);
    }
    yield* drain();
    if (stop) return;
    if (parserError !== undefined) {
      yield { line: lastLine, error: `CSV parsing stopped: ${csvErrorMessage(parserError)}`, raw: '' };
    }
  } finally {
    input.destroy();
    parser.destroy();
  }
}

/** Resolves false when the parser failed on this chunk (the failure is kept in `parserError`). */
function writeTo(parser: NodeJS.WritableStream, chunk: Buffer): Promise<boolean> {
  if (chunk.length === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    parser.write(chunk, (err) => resolve(!err));
  });
}

/**
 * Error rows carry their source text for diagnosis, and in card layouts that text holds the card number: runs of
 * 11 to 19 digits standing alone are masked to their last four.
 */
function maskCardNumbers(raw: string): string {
  return raw.replace(/(?<![\w.])\d{11,19}(?![\w.])/g, (digits) => '*'.repeat(digits.length - 4) + digits.slice(-4));
}

function csvErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : 'unreadable CSV record';
}

/**
 * The parser is fed LF-only text (see NewlineNormalizer) and counts lines itself; it reports the line a record
 * ends on, so the line breaks inside the record (quoted multi-line fields) are subtracted. Empty lines skipped
 * before the record lead its raw text and are not part of it.
 */
function recordStartLine(endLine: number, raw: string): number {
  const body = raw.replace(/^\n+/, '').replace(/\n$/, '');
  let breaks = 0;
  for (const ch of body) if (ch === '\n') breaks++;
  return Math.max(1, endLine - breaks);
}

function trimRaw(raw: string): string {
  return raw.replace(/^\n+/, '').replace(/\n$/, '');
}

/**
 * Turns CRLF and lone CR into LF, byte-wise across chunk boundaries. csv-parse counts a CRLF inside a quoted field
 * as two lines; on LF-only input its line numbers match an editor's. CR and LF never occur inside a multi-byte UTF-8
 * sequence, so working on bytes is safe.
 */
class NewlineNormalizer {
  private pendingCr = false;

  convert(chunk: Buffer): Buffer {
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

  flush(): Buffer {
    const rest = this.pendingCr ? Buffer.from('\n') : Buffer.alloc(0);
    this.pendingCr = false;
    return rest;
  }
}
