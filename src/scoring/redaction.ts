/**
 * Data residency: the view of a transaction that may leave the network. Hosted prompts are built only from this
 * view; the local model may see more.
 */
import type { TransactionEvent } from '../schemas/transaction-event';

/**
 * The default data-residency policy (HOSTED_REDACTED_FIELDS): dotted paths of the TransactionEvent that never
 * leave the network. Everything else may be sent to a hosted provider.
 */
export const defaultRedactedFields = [
  'customer',
  'cardToken',
  'customerId',
  'accountId',
  'ipAddress',
  'device.id',
  'device.userAgent',
  'geo.lat',
  'geo.lon',
  'attributes',
] as const;

function deletePath(target: Record<string, unknown>, dotted: string): void {
  const parts = dotted.split('.');
  let node: unknown = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string, unknown>)[part];
  }
  const last = parts.at(-1);
  if (last !== undefined && typeof node === 'object' && node !== null) delete (node as Record<string, unknown>)[last];
}

/**
 * The view of a transaction a hosted provider may see: a deep copy with every path of the policy removed, and
 * never the label (ground truth must not reach a model). Fields already in the prompt's summary line are dropped.
 */
export function redactForHosted(
  event: TransactionEvent,
  redactedFields: readonly string[] = defaultRedactedFields,
): Record<string, unknown> {
  const { label: _label, transactionId: _id, amount: _amount, merchant: _merchant, channel: _channel, ...rest } = event;
  const copy = structuredClone(rest) as Record<string, unknown>;
  for (const field of redactedFields) deletePath(copy, field);
  return copy;
}

/**
 * The local view: the fields that carry fraud signal, without the label (ground truth must never reach a model)
 * or contact details. Kept compact: prompt tokens are the local model's main cost on CPU.
 */
export function localView(event: TransactionEvent): Record<string, unknown> {
  return {
    occurredAt: event.occurredAt,
    cardholderCountry: event.cardholderCountry,
    device: event.device,
    ipAddress: event.ipAddress,
    geo: event.geo,
    velocity: event.velocity,
    attributes: event.attributes,
  };
}
