/** One CSV record → TransactionEvent through a ColumnMapping. */
import { createHmac } from 'node:crypto';
import type { TransactionEventInput } from '../../schemas/transaction-event';
import { parseAmount, parseCoordinate, parseTimestamp } from './cell-values';
import type { ColumnMapping, TextSource } from './column-mapping';
import { eventRow } from './replay-row';
import type { ReplayRow } from './replay-row';

const defaultTokenKey = 'fraudflow-replay-token-v1';

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

export function createRowConverter(mapping: ColumnMapping) {
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
    return eventRow(line, raw, candidate);
  }

  return { columns, row };
}

/** A copy without the keys whose value is undefined, so optional fields are absent rather than undefined. */
function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
