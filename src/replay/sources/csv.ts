/** CSV replay sources: a header row, then one transaction per record, read through a ColumnMapping. */
import type { ColumnMapping } from './column-mapping';
import { readCsvRecords } from './csv-records';
import type { ReplayRow } from './replay-row';
import { createRowConverter } from './row-conversion';

/**
 * Reads a CSV file with a header row, one ReplayRow per data record, streaming. A record the CSV parser rejects
 * (wrong field count, bad quoting) is an error row and parsing goes on from the next record; an unclosed quote can
 * swallow the rest of the file into that one error row. An error row's `raw` is the record's text as far as the
 * parser read it, with card-number-like digit runs masked. A header that lacks a mapped column yields one error row
 * for the header line and nothing else. Throws only when the file cannot be opened or read.
 */
export async function* readCsv(file: string, mapping: ColumnMapping): AsyncGenerator<ReplayRow> {
  const converter = createRowConverter(mapping);
  let header: string[] | undefined;
  for await (const record of readCsvRecords(file)) {
    if ('error' in record) {
      yield { line: record.line, error: record.error, raw: maskCardNumbers(record.raw) };
    } else if (header === undefined) {
      header = record.fields.map((name) => name.trim());
      const missing = converter.columns.filter((column) => !header?.includes(column));
      if (missing.length > 0) {
        yield { line: record.line, error: missingColumnsError(missing, mapping), raw: record.raw };
        return;
      }
    } else {
      const row = converter.convert(record.line, record.raw, header, record.fields);
      yield 'error' in row ? { ...row, raw: maskCardNumbers(row.raw) } : row;
    }
  }
}

function missingColumnsError(missing: string[], mapping: ColumnMapping): string {
  const columns = missing.map((column) => JSON.stringify(column)).join(', ');
  return `the header lacks column(s) ${columns} that the ${mapping.name} mapping reads`;
}

/**
 * Error rows carry their source text for diagnosis, and in card layouts that text holds the card number: runs of
 * 11 to 19 digits standing alone are masked to their last four.
 */
function maskCardNumbers(raw: string): string {
  return raw.replace(/(?<![\w.])\d{11,19}(?![\w.])/g, (digits) => '*'.repeat(digits.length - 4) + digits.slice(-4));
}
