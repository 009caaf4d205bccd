/**
 * The content hash of a transaction event: the idempotency-key rule payment APIs use. A redelivery of the same
 * transactionId with the same content is a no-op; the same transactionId with other content is a conflict.
 */
import { createHash } from 'node:crypto';
import type { TransactionEvent } from '../schemas/transaction-event';

/** JSON with object keys sorted at every depth, so equal values serialize equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * `sha256:<hex>` of the canonical JSON of the parsed event (defaults applied, unknown fields dropped, the label
 * already removed by the parser): two messages that mean the same event hash the same.
 */
export function eventContentHash(event: TransactionEvent): string {
  return `sha256:${createHash('sha256').update(canonicalJson(event)).digest('hex')}`;
}
