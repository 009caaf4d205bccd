/**
 * Data residency: the view of a transaction that may leave the network. Hosted prompts are built only from this
 * view; the local model may see more.
 */
import type { TransactionEvent } from '../schemas/transaction-event';

/** Fields that never leave the network. @default every personal field the contract carries */
export const neverLeaves = [
  'customer',
  'ipAddress',
  'device.userAgent',
  'geo.exact',
  'cardToken',
  'customerId',
  'accountId',
] as const;

/** A copy of the event with personal data removed and location coarsened to city/country. */
export function redactForHosted(event: TransactionEvent): Record<string, unknown> {
  return {
    occurredAt: event.occurredAt,
    cardholderCountry: event.cardholderCountry,
    device: event.device?.type ? { type: event.device.type } : undefined,
    geo: event.geo ? { city: event.geo.city, country: event.geo.country } : undefined,
    velocity: event.velocity,
  };
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
