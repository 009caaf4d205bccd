/**
 * One CSV record → TransactionEvent through a ColumnMapping. Every problem in a record is collected, so its error row
 * lists them all; a record without any is then checked by the TransactionEvent schema.
 */
import { createHmac } from 'node:crypto';
import type { TransactionEventInput } from '../../schemas/transaction-event';
import { parseAmount, parseCoordinate, parseTimestamp } from './cell-values';
import type { ColumnMapping, TextSource } from './column-mapping';
import { eventRow } from './replay-row';
import type { ReplayRow } from './replay-row';

const defaultTokenKey = 'fraudflow-replay-token-v1';

/** Cards, customers and merchants repeat across millions of rows; the token cache is cleared at this size. */
const tokenCacheLimit = 100_000;

const templatePlaceholder = /\{([^{}]+)\}/g;

export interface RowConverter {
  /** Every column the mapping reads, each once: the header must hold them all. */
  columns: string[];
  convert(line: number, raw: string, header: readonly string[], fields: readonly string[]): ReplayRow;
}

export function createRowConverter(mapping: ColumnMapping): RowConverter {
  const tokenize = createTokenizer(mapping.tokenKey ?? defaultTokenKey);
  return {
    columns: mappedColumns(mapping),
    convert(line, raw, header, fields) {
      const cells = new Map<string, string>();
      header.forEach((name, i) => cells.set(name, fields[i] ?? ''));
      const record = new MappedRecord(cells, tokenize);
      const candidate = readEvent(record, mapping);
      if (record.issues.length > 0) return { line, error: record.issues.join('\n'), raw };
      return eventRow(line, raw, candidate);
    },
  };
}

type Tokenizer = (prefix: string, value: string) => string;

function createTokenizer(tokenKey: string): Tokenizer {
  const cache = new Map<string, string>();
  return (prefix, value) => {
    const key = `${prefix}\u0000${value}`;
    let token = cache.get(key);
    if (token === undefined) {
      token = prefix + createHmac('sha256', tokenKey).update(value).digest('hex').slice(0, 24);
      if (cache.size >= tokenCacheLimit) cache.clear();
      cache.set(key, token);
    }
    return token;
  };
}

/** A TextSource with the bare-column shorthand spelt out. */
type TextSpec = Exclude<TextSource, string>;

function specOf(source: TextSource): TextSpec {
  return typeof source === 'string' ? { column: source } : source;
}

function templateColumns(template: string): string[] {
  return [...template.matchAll(templatePlaceholder)].map((m) => m[1] as string);
}

function sourceColumns(source: TextSource | undefined): string[] {
  if (source === undefined) return [];
  const spec = specOf(source);
  if ('column' in spec) return [spec.column];
  if ('template' in spec) return templateColumns(spec.template);
  return [];
}

function describeSource(spec: TextSpec): string {
  if ('column' in spec) return `column "${spec.column}"`;
  if ('template' in spec) return `template "${spec.template}"`;
  return 'a constant';
}

function mappedColumns(m: ColumnMapping): string[] {
  const textSources = [
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
  ];
  const plainColumns = [m.occurredAt.column, m.amount.column, m.geo?.lat, m.geo?.lon, m.label?.column];
  return [
    ...new Set([...textSources.flatMap(sourceColumns), ...plainColumns.filter((c): c is string => c !== undefined)]),
  ];
}

/** One CSV record read through a mapping: its cells by header name, and every problem found so far. */
class MappedRecord {
  readonly issues: string[] = [];

  constructor(
    private readonly cells: ReadonlyMap<string, string>,
    private readonly tokenize: Tokenizer,
  ) {}

  /** A cell's trimmed text; empty for a column the header lacks. */
  cell(column: string): string {
    return (this.cells.get(column) ?? '').trim();
  }

  report(at: string, message: string): void {
    this.issues.push(`✖ ${message}\n  → at ${at}`);
  }

  /** What `source` yields, or undefined when that is empty (reported if `required`) or missing from its lookup. */
  text(source: TextSource | undefined, at: string, required: boolean): string | undefined {
    if (source === undefined) return undefined;
    const spec = specOf(source);
    const value = this.originValue(spec);
    if (value === '') {
      if (required) this.report(at, `${describeSource(spec)} is empty`);
      return undefined;
    }
    return this.transform(value, spec, at);
  }

  private originValue(spec: TextSpec): string {
    if ('column' in spec) return this.cell(spec.column);
    if ('template' in spec) return this.fillTemplate(spec.template);
    return spec.value.trim();
  }

  /** Empty when every column the template names is. */
  private fillTemplate(template: string): string {
    if (templateColumns(template).every((column) => this.cell(column) === '')) return '';
    return template.replace(templatePlaceholder, (_, column: string) => this.cell(column)).trim();
  }

  private transform(value: string, spec: TextSpec, at: string): string | undefined {
    let out = spec.stripPrefix && value.startsWith(spec.stripPrefix) ? value.slice(spec.stripPrefix.length) : value;
    if (spec.lookup) {
      const mapped = Object.hasOwn(spec.lookup, out) ? spec.lookup[out] : spec.fallback;
      if (mapped === undefined) {
        this.report(at, `${JSON.stringify(out)} (${describeSource(spec)}) has no entry in the mapping's table`);
        return undefined;
      }
      out = mapped;
    }
    return spec.tokenize !== undefined ? this.tokenize(spec.tokenize, out) : out;
  }
}

/**
 * The candidate event, for TransactionEvent to accept or reject. Error rows list problems in the order they are found,
 * so the reads run in this order.
 */
function readEvent(record: MappedRecord, m: ColumnMapping): Record<string, unknown> {
  const occurredAt = readOccurredAt(record, m.occurredAt);
  const amount = readAmount(record, m.amount);
  const geo = readGeo(record, m.geo);
  const label = readLabel(record, m.label);
  const attributes = readAttributes(record, m.attributes);
  const customer = readCustomer(record, m.customer);
  return compact({
    transactionId: record.text(m.transactionId, 'transactionId', true),
    occurredAt,
    amount,
    cardToken: record.text(m.cardToken, 'cardToken', true),
    accountId: record.text(m.accountId, 'accountId', false),
    customerId: record.text(m.customerId, 'customerId', true),
    merchant: readMerchant(record, m.merchant),
    channel: record.text(m.channel, 'channel', true),
    cardholderCountry: record.text(m.cardholderCountry, 'cardholderCountry', false),
    geo,
    customer,
    attributes,
    label,
  });
}

function readOccurredAt(record: MappedRecord, occurredAt: ColumnMapping['occurredAt']): string | undefined {
  const parsed = parseTimestamp(record.cell(occurredAt.column), occurredAt.format ?? 'iso');
  if (typeof parsed === 'string') return parsed;
  record.report('occurredAt', `column "${occurredAt.column}": ${parsed.error}`);
  return undefined;
}

function readAmount(
  record: MappedRecord,
  amount: ColumnMapping['amount'],
): TransactionEventInput['amount'] | undefined {
  const currency = record.text(amount.currency, 'amount.currency', true);
  if (currency === undefined) return undefined;
  const minor = parseAmount(record.cell(amount.column), currency, amount.unit ?? 'major');
  if (typeof minor === 'number') return { minor, currency };
  record.report('amount.minor', `column "${amount.column}": ${minor.error}`);
  return undefined;
}

function readGeo(record: MappedRecord, geo: ColumnMapping['geo']): TransactionEventInput['geo'] {
  if (!geo || record.cell(geo.lat) === '' || record.cell(geo.lon) === '') return undefined;
  const lat = readCoordinate(record, geo.lat, 'geo.lat');
  const lon = readCoordinate(record, geo.lon, 'geo.lon');
  if (lat === undefined || lon === undefined) return undefined;
  return compact({
    lat,
    lon,
    city: record.text(geo.city, 'geo.city', false),
    country: record.text(geo.country, 'geo.country', false),
  });
}

function readCoordinate(record: MappedRecord, column: string, at: string): number | undefined {
  const coordinate = parseCoordinate(record.cell(column));
  if (coordinate === undefined) {
    record.report(at, `column "${column}": ${JSON.stringify(record.cell(column))} is not a number`);
  }
  return coordinate;
}

function readLabel(record: MappedRecord, label: ColumnMapping['label']): TransactionEventInput['label'] {
  if (!label) return undefined;
  const value = record.cell(label.column);
  if (value === '') return undefined;
  const isFraud = label.truthy.includes(value);
  if (!isFraud && label.falsy && !label.falsy.includes(value)) {
    const known = [...label.truthy, ...label.falsy].map((v) => JSON.stringify(v)).join(' nor ');
    record.report('label.isFraud', `column "${label.column}": ${JSON.stringify(value)} is neither ${known}`);
    return undefined;
  }
  return compact({ isFraud, pattern: record.text(label.pattern, 'label.pattern', false), source: label.source });
}

function readAttributes(
  record: MappedRecord,
  sources: ColumnMapping['attributes'],
): Record<string, string> | undefined {
  let attributes: Record<string, string> | undefined;
  for (const [name, source] of Object.entries(sources ?? {})) {
    const value = record.text(source, `attributes.${name}`, false);
    if (value !== undefined) (attributes ??= {})[name] = value;
  }
  return attributes;
}

/** Left out when no personal field has a value. */
function readCustomer(record: MappedRecord, customer: ColumnMapping['customer']): TransactionEventInput['customer'] {
  if (!customer) return undefined;
  const read = compact({
    name: record.text(customer.name, 'customer.name', false),
    email: record.text(customer.email, 'customer.email', false),
    phone: record.text(customer.phone, 'customer.phone', false),
    address: record.text(customer.address, 'customer.address', false),
    dateOfBirth: record.text(customer.dateOfBirth, 'customer.dateOfBirth', false),
  });
  return Object.keys(read).length > 0 ? read : undefined;
}

function readMerchant(
  record: MappedRecord,
  merchant: ColumnMapping['merchant'],
): Partial<TransactionEventInput['merchant']> {
  return compact({
    id: record.text(merchant.id, 'merchant.id', true),
    name: record.text(merchant.name, 'merchant.name', true),
    mcc: record.text(merchant.mcc, 'merchant.mcc', true),
    category: record.text(merchant.category, 'merchant.category', false),
    country: record.text(merchant.country, 'merchant.country', true),
  });
}

/** A copy without the keys whose value is undefined, so optional fields are absent rather than undefined. */
function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
