/**
 * Data residency: the view of a transaction that may leave the network. Hosted prompts are built only from this
 * view; the local model may see more.
 */
import type { TransactionEvent } from '../schemas/transaction-event';
import type { MaskCounts, MaskOptions } from './pii';
import { addMaskCounts, emptyMaskCounts, maskPersonalData, maskPersonalDataDeep } from './pii';

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

/** National phone formats are read as the merchant's or the cardholder's country would write them. */
export function maskOptionsFor(event: TransactionEvent): MaskOptions {
  return { phoneCountries: [event.merchant.country, ...(event.cardholderCountry ? [event.cardholderCountry] : [])] };
}

/**
 * The view of a transaction a hosted provider may see, and how many personal-data finds were masked in it: a
 * deep copy with every path of the policy removed, never the label (ground truth must not reach a model), and
 * personal data masked inside every string that is kept (pii.ts). Fields already in the prompt's summary line are
 * dropped; `hostedMerchantText` gives their masked form.
 */
export function hostedView(
  event: TransactionEvent,
  redactedFields: readonly string[] = defaultRedactedFields,
): { view: Record<string, unknown>; masks: MaskCounts } {
  const { label: _label, transactionId: _id, amount: _amount, merchant: _merchant, channel: _channel, ...rest } = event;
  const copy = structuredClone(rest) as Record<string, unknown>;
  for (const field of redactedFields) deletePath(copy, field);
  const masked = maskPersonalDataDeep(copy, maskOptionsFor(event));
  return { view: masked.value, masks: masked.counts };
}

/** The hosted view alone (see `hostedView`). */
export function redactForHosted(
  event: TransactionEvent,
  redactedFields: readonly string[] = defaultRedactedFields,
): Record<string, unknown> {
  return hostedView(event, redactedFields).view;
}

/** The merchant's free text (name, category) as a hosted prompt's summary line may show it: personal data masked. */
export function hostedMerchantText(event: TransactionEvent): {
  name: string;
  category: string | undefined;
  masks: MaskCounts;
} {
  const opts = maskOptionsFor(event);
  const name = maskPersonalData(event.merchant.name, opts);
  const category = event.merchant.category === undefined ? undefined : maskPersonalData(event.merchant.category, opts);
  const masks = addMaskCounts(emptyMaskCounts(), name.counts);
  if (category) addMaskCounts(masks, category.counts);
  return { name: name.text, category: category?.text, masks };
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
