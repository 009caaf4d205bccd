/**
 * Replay sources: historical transactions read from JSONL or CSV files, streamed one record at a time. Every
 * record becomes a ReplayRow: an event, or an error row with its line number and raw text. Rows never throw and are
 * never dropped; only a file that cannot be opened or read throws.
 */
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { ReadStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parse } from 'csv-parse';
import type { CsvError, InfoRecord } from 'csv-parse';
import { z } from 'zod';
import { currencyExponent } from '../money';
import { TransactionEvent } from '../schemas/transaction-event';
import type { Channel, TransactionEventInput } from '../schemas/transaction-event';

/** One source record: `line` is 1-based (a CSV header is line 1, its first data row line 2). */
export type ReplayRow = { line: number; event: TransactionEvent } | { line: number; error: string; raw: string };

export type ReplayFormat = 'jsonl' | 'csv';

/** The format a replay source is read as, from its extension. Throws on any other extension. */
export function detectFormat(file: string): ReplayFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new Error(`cannot tell the format of ${file}: expected .jsonl, .ndjson, .json or .csv`);
}

// ---------------------------------------------------------------------------------------------------------------
// JSONL

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
      yield parseJsonLine(raw, line);
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

function parseJsonLine(raw: string, line: number): ReplayRow {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { line, error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}`, raw };
  }
  const parsed = TransactionEvent.safeParse(json);
  return parsed.success ? { line, event: parsed.data } : { line, error: z.prettifyError(parsed.error), raw };
}

/** Opens a file stream and waits for the open, so a missing file throws here rather than inside a consumer. */
async function openForReading(file: string, encoding?: BufferEncoding): Promise<ReadStream> {
  const input = createReadStream(file, encoding ? { encoding } : {});
  await once(input, 'open');
  return input;
}

// ---------------------------------------------------------------------------------------------------------------
// CSV column mapping

/**
 * Where a text value comes from, then how it is transformed, in this order: trim, `stripPrefix`, `lookup`,
 * `tokenize`. A bare string is shorthand for `{ column }`. An empty result counts as absent: optional fields are
 * then left out and required ones reported.
 */
export type TextSource = string | (TextOrigin & TextTransform);

export type TextOrigin =
  /** The value of one column. */
  | { column: string }
  /** Columns interpolated into a template: `'{first} {last}'`. */
  | { template: string }
  /** A constant. */
  | { value: string };

export interface TextTransform {
  /** Removed from the start of the value when present (the credit-card dataset's `fraud_` merchant prefix). */
  stripPrefix?: string;
  /** Maps the value through a table; a value missing from it is an error row unless `fallback` is set. */
  lookup?: Readonly<Record<string, string>>;
  /** Used for values missing from `lookup`. @default undefined (missing is an error) */
  fallback?: string;
  /**
   * Replaces the value with a non-reversible token: this prefix plus the first 24 hex digits of
   * HMAC-SHA256(`ColumnMapping.tokenKey`, value). Equal inputs give equal tokens, so a card stays one card.
   */
  tokenize?: string;
}

export type TimestampFormat = 'iso' | 'unix-seconds' | 'YYYY-MM-DD HH:mm:ss';

/** A declarative map from CSV columns to TransactionEvent fields. Column names are the header's, trimmed. */
export interface ColumnMapping {
  /** Short name of the layout, for messages. */
  name: string;
  /**
   * HMAC key for `tokenize`. The default gives stable tokens but anyone can recompute them from a guessed value: a
   * PAN has few enough unknown digits to be guessed, so set a secret key when the source holds real card numbers.
   * @default 'fraudflow-replay-token-v1'
   */
  tokenKey?: string;
  transactionId: TextSource;
  occurredAt: {
    column: string;
    /** `YYYY-MM-DD HH:mm:ss` (a `T` separator and fractional seconds are accepted too) is read as UTC. @default 'iso' */
    format?: TimestampFormat;
  };
  amount: {
    column: string;
    /** ISO 4217 code, usually `{ value: 'USD' }`; its exponent turns major units into minor units. */
    currency: TextSource;
    /** `major`: a decimal string such as `1077.69`; `minor`: an integer count of minor units. @default 'major' */
    unit?: 'major' | 'minor';
  };
  cardToken: TextSource;
  customerId: TextSource;
  accountId?: TextSource;
  merchant: { id: TextSource; name: TextSource; mcc: TextSource; category?: TextSource; country: TextSource };
  /** Must yield one of the Channel values. */
  channel: TextSource;
  cardholderCountry?: TextSource;
  /** Left out when latitude or longitude is empty. */
  geo?: { lat: string; lon: string; city?: TextSource; country?: TextSource };
  customer?: {
    name?: TextSource;
    email?: TextSource;
    phone?: TextSource;
    address?: TextSource;
    dateOfBirth?: TextSource;
  };
  /** Extra string attributes by name. */
  attributes?: Readonly<Record<string, TextSource>>;
  /**
   * Ground truth. Values in `truthy` mean fraud; with `falsy` set, a value in neither list is an error row
   * (otherwise it means legitimate). An empty cell leaves the row unlabelled.
   */
  label?: {
    column: string;
    truthy: readonly string[];
    falsy?: readonly string[];
    source?: string;
    pattern?: TextSource;
  };
}

const defaultTokenKey = 'fraudflow-replay-token-v1';

// ---------------------------------------------------------------------------------------------------------------
// The public credit-card transactions layout

/** ISO 18245 merchant category codes for the dataset's 14 categories. */
export const creditCardCategoryMcc: Readonly<Record<string, string>> = {
  entertainment: '7999', // recreation services
  food_dining: '5812', // eating places, restaurants
  gas_transport: '5541', // service stations
  grocery_net: '5411', // grocery stores, supermarkets
  grocery_pos: '5411',
  health_fitness: '7997', // clubs: athletic, membership
  home: '5712', // furniture and home furnishings
  kids_pets: '5641', // children's and infants' wear
  misc_net: '5999', // miscellaneous and specialty retail
  misc_pos: '5999',
  personal_care: '7298', // health and beauty spas
  shopping_net: '5311', // department stores
  shopping_pos: '5311',
  travel: '4722', // travel agencies, tour operators
};

/** `*_net` categories are online purchases, the others in person. */
export const creditCardCategoryChannel: Readonly<Record<string, Channel>> = Object.fromEntries(
  Object.keys(creditCardCategoryMcc).map((category) => [
    category,
    category.endsWith('_net') ? 'ecommerce' : 'card_present',
  ]),
);

/**
 * The widely used public credit-card transactions layout (`fraudTrain.csv` / `fraudTest.csv`: `trans_date_trans_time,
 * cc_num, merchant, category, amt, ..., trans_num, unix_time, merch_lat, merch_long, is_fraud`, often behind an
 * unnamed index column, which is ignored). `trans_date_trans_time` is read as UTC; `unix_time` is not used because it
 * is offset from it by years in the published files. The card number only ever leaves as a token.
 */
export const creditCardTransactionsMapping: ColumnMapping = {
  name: 'credit-card-transactions',
  transactionId: 'trans_num',
  occurredAt: { column: 'trans_date_trans_time', format: 'YYYY-MM-DD HH:mm:ss' },
  amount: { column: 'amt', currency: { value: 'USD' } },
  cardToken: { column: 'cc_num', tokenize: 'tok_' },
  customerId: { column: 'cc_num', tokenize: 'cus_' },
  merchant: {
    id: { column: 'merchant', stripPrefix: 'fraud_', tokenize: 'mer_' },
    name: { column: 'merchant', stripPrefix: 'fraud_' },
    mcc: { column: 'category', lookup: creditCardCategoryMcc },
    category: 'category',
    country: { value: 'US' },
  },
  channel: { column: 'category', lookup: creditCardCategoryChannel },
  cardholderCountry: { value: 'US' },
  geo: { lat: 'lat', lon: 'long', city: 'city', country: { value: 'US' } },
  customer: {
    name: { template: '{first} {last}' },
    address: { template: '{street}, {city}, {state} {zip}' },
    dateOfBirth: 'dob',
  },
  label: { column: 'is_fraud', truthy: ['1'], falsy: ['0'], source: 'credit-card-transactions' },
};

export type ReplayMappingName = 'credit-card-transactions';

const mappings: Record<ReplayMappingName, ColumnMapping> = {
  'credit-card-transactions': creditCardTransactionsMapping,
};

export function mappingFor(name: ReplayMappingName): ColumnMapping {
  return mappings[name];
}

// ---------------------------------------------------------------------------------------------------------------
// CSV reading

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

// ---------------------------------------------------------------------------------------------------------------
// Record → TransactionEvent

type Issues = string[];

function issue(issues: Issues, at: string, message: string): void {
  issues.push(`✖ ${message}\n  → at ${at}`);
}

function templateColumns(template: string): string[] {
  return [...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1] as string);
}

function sourceColumns(source: TextSource | undefined): string[] {
  if (source === undefined) return [];
  if (typeof source === 'string') return [source];
  if ('column' in source) return [source.column];
  if ('template' in source) return templateColumns(source.template);
  return [];
}

function describeSource(source: TextSource): string {
  if (typeof source === 'string') return `column "${source}"`;
  if ('column' in source) return `column "${source.column}"`;
  if ('template' in source) return `template "${source.template}"`;
  return 'a constant';
}

function createRowConverter(mapping: ColumnMapping) {
  const tokenKey = mapping.tokenKey ?? defaultTokenKey;
  const tokenCache = new Map<string, string>();
  const tokenFor = (prefix: string, value: string): string => {
    const key = `${prefix}\u0000${value}`;
    let token = tokenCache.get(key);
    if (token === undefined) {
      token = prefix + createHmac('sha256', tokenKey).update(value).digest('hex').slice(0, 24);
      // Cards, customers and merchants repeat across millions of rows; the cache stays bounded.
      if (tokenCache.size >= 100_000) tokenCache.clear();
      tokenCache.set(key, token);
    }
    return token;
  };

  const m = mapping;
  const columns = [
    ...new Set(
      [
        m.transactionId,
        m.amount.currency,
        m.cardToken,
        m.customerId,
        m.accountId,
        m.merchant.id,
        m.merchant.name,
        m.merchant.mcc,
        m.merchant.category,
        m.merchant.country,
        m.channel,
        m.cardholderCountry,
        m.geo?.city,
        m.geo?.country,
        m.customer?.name,
        m.customer?.email,
        m.customer?.phone,
        m.customer?.address,
        m.customer?.dateOfBirth,
        m.label?.pattern,
        ...Object.values(m.attributes ?? {}),
      ]
        .flatMap(sourceColumns)
        .concat(
          [m.occurredAt.column, m.amount.column, m.geo?.lat, m.geo?.lon, m.label?.column].filter(
            (c): c is string => c !== undefined,
          ),
        ),
    ),
  ];

  function row(line: number, raw: string, header: string[], fields: string[]): ReplayRow {
    const cells = new Map<string, string>();
    header.forEach((name, i) => cells.set(name, fields[i] ?? ''));
    const cell = (column: string): string => (cells.get(column) ?? '').trim();
    const issues: Issues = [];

    const text = (source: TextSource | undefined, at: string, required: boolean): string | undefined => {
      if (source === undefined) return undefined;
      const spec = typeof source === 'string' ? { column: source } : source;
      let value: string;
      if ('column' in spec) value = cell(spec.column);
      else if ('template' in spec) {
        const parts = templateColumns(spec.template);
        value = parts.every((c) => cell(c) === '')
          ? ''
          : spec.template.replace(/\{([^{}]+)\}/g, (_, c: string) => cell(c)).trim();
      } else value = spec.value.trim();
      if (value === '') {
        if (required) issue(issues, at, `${describeSource(source)} is empty`);
        return undefined;
      }
      if ('stripPrefix' in spec && spec.stripPrefix && value.startsWith(spec.stripPrefix)) {
        value = value.slice(spec.stripPrefix.length);
      }
      if ('lookup' in spec && spec.lookup) {
        const mapped = Object.hasOwn(spec.lookup, value) ? spec.lookup[value] : spec.fallback;
        if (mapped === undefined) {
          issue(issues, at, `${JSON.stringify(value)} (${describeSource(source)}) has no entry in the mapping's table`);
          return undefined;
        }
        value = mapped;
      }
      if ('tokenize' in spec && spec.tokenize !== undefined) value = tokenFor(spec.tokenize, value);
      return value;
    };

    const occurredAt = parseTimestamp(cell(m.occurredAt.column), m.occurredAt.format ?? 'iso');
    if (typeof occurredAt !== 'string')
      issue(issues, 'occurredAt', `column "${m.occurredAt.column}": ${occurredAt.error}`);

    const currency = text(m.amount.currency, 'amount.currency', true);
    let minor: number | undefined;
    if (currency !== undefined) {
      const amount = parseAmount(cell(m.amount.column), currency, m.amount.unit ?? 'major');
      if (typeof amount === 'number') minor = amount;
      else issue(issues, 'amount.minor', `column "${m.amount.column}": ${amount.error}`);
    }

    let geo: TransactionEventInput['geo'];
    if (m.geo && cell(m.geo.lat) !== '' && cell(m.geo.lon) !== '') {
      const lat = parseCoordinate(cell(m.geo.lat));
      const lon = parseCoordinate(cell(m.geo.lon));
      if (lat === undefined)
        issue(issues, 'geo.lat', `column "${m.geo.lat}": ${JSON.stringify(cell(m.geo.lat))} is not a number`);
      if (lon === undefined)
        issue(issues, 'geo.lon', `column "${m.geo.lon}": ${JSON.stringify(cell(m.geo.lon))} is not a number`);
      if (lat !== undefined && lon !== undefined) {
        geo = compact({
          lat,
          lon,
          city: text(m.geo.city, 'geo.city', false),
          country: text(m.geo.country, 'geo.country', false),
        });
      }
    }

    let label: TransactionEventInput['label'];
    if (m.label && cell(m.label.column) !== '') {
      const value = cell(m.label.column);
      const isFraud = m.label.truthy.includes(value);
      if (!isFraud && m.label.falsy && !m.label.falsy.includes(value)) {
        issue(
          issues,
          'label.isFraud',
          `column "${m.label.column}": ${JSON.stringify(value)} is neither ${[...m.label.truthy, ...m.label.falsy].map((v) => JSON.stringify(v)).join(' nor ')}`,
        );
      } else {
        label = compact({ isFraud, pattern: text(m.label.pattern, 'label.pattern', false), source: m.label.source });
      }
    }

    let attributes: Record<string, string> | undefined;
    for (const [name, source] of Object.entries(m.attributes ?? {})) {
      const value = text(source, `attributes.${name}`, false);
      if (value !== undefined) (attributes ??= {})[name] = value;
    }

    const customer = m.customer
      ? compact({
          name: text(m.customer.name, 'customer.name', false),
          email: text(m.customer.email, 'customer.email', false),
          phone: text(m.customer.phone, 'customer.phone', false),
          address: text(m.customer.address, 'customer.address', false),
          dateOfBirth: text(m.customer.dateOfBirth, 'customer.dateOfBirth', false),
        })
      : undefined;

    const candidate = compact({
      transactionId: text(m.transactionId, 'transactionId', true),
      occurredAt: typeof occurredAt === 'string' ? occurredAt : undefined,
      amount: minor !== undefined && currency !== undefined ? { minor, currency } : undefined,
      cardToken: text(m.cardToken, 'cardToken', true),
      accountId: text(m.accountId, 'accountId', false),
      customerId: text(m.customerId, 'customerId', true),
      merchant: compact({
        id: text(m.merchant.id, 'merchant.id', true),
        name: text(m.merchant.name, 'merchant.name', true),
        mcc: text(m.merchant.mcc, 'merchant.mcc', true),
        category: text(m.merchant.category, 'merchant.category', false),
        country: text(m.merchant.country, 'merchant.country', true),
      }),
      channel: text(m.channel, 'channel', true),
      cardholderCountry: text(m.cardholderCountry, 'cardholderCountry', false),
      geo,
      customer: customer && Object.keys(customer).length > 0 ? customer : undefined,
      attributes,
      label,
    });
    if (issues.length > 0) return { line, error: issues.join('\n'), raw };
    const parsed = TransactionEvent.safeParse(candidate);
    return parsed.success ? { line, event: parsed.data } : { line, error: z.prettifyError(parsed.error), raw };
  }

  return { columns, row };
}

/** A copy without the keys whose value is undefined, so optional fields are absent rather than undefined. */
function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

function parseCoordinate(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return undefined;
  return Number(text);
}

const dateTimePattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;

/** An ISO 8601 string with an offset, or why not. */
export function parseTimestamp(text: string, format: TimestampFormat): string | { error: string } {
  if (text === '') return { error: 'empty timestamp' };
  if (format === 'iso') return text; // TransactionEvent checks it, offset included
  if (format === 'unix-seconds') {
    if (!/^-?\d+(\.\d+)?$/.test(text)) return { error: `${JSON.stringify(text)} is not a count of Unix seconds` };
    const date = new Date(Math.round(Number(text) * 1000));
    return Number.isNaN(date.getTime()) ? { error: `${JSON.stringify(text)} is out of range` } : date.toISOString();
  }
  const m = dateTimePattern.exec(text);
  if (!m) return { error: `${JSON.stringify(text)} does not match YYYY-MM-DD HH:mm:ss` };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] ? Number(m[7].slice(1, 4).padEnd(3, '0')) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC rolls 2019-02-30 over to March: a changed field means the input was no real date.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return { error: `${JSON.stringify(text)} is not a valid date and time` };
  }
  return date.toISOString();
}

/**
 * Integer minor units from a decimal string, without floating point: `"1077.69"` USD is 107769 and `"500"` JPY is
 * 500. Digits beyond the currency's exponent are accepted only when they are zeros; nothing is rounded.
 */
export function parseAmount(
  text: string,
  currency: string,
  unit: 'major' | 'minor' = 'major',
): number | { error: string } {
  let exponent: number;
  try {
    exponent = unit === 'minor' ? 0 : currencyExponent(currency);
  } catch {
    return { error: `${JSON.stringify(currency)} is not an ISO 4217 currency code` };
  }
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  const whole = m?.[1] ?? '';
  const fraction = m?.[2] ?? '';
  if (!m || (whole === '' && fraction === '')) {
    return { error: `${JSON.stringify(text)} is not a non-negative decimal amount` };
  }
  if (/[^0]/.test(fraction.slice(exponent))) {
    return unit === 'minor'
      ? { error: `${JSON.stringify(text)} is not a whole number of minor units` }
      : { error: `${JSON.stringify(text)} has more decimal places than ${currency} allows (${exponent})` };
  }
  const minor =
    BigInt(whole || '0') * 10n ** BigInt(exponent) + BigInt(fraction.slice(0, exponent).padEnd(exponent, '0') || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return { error: `${JSON.stringify(text)} is too large` };
  return Number(minor);
}
