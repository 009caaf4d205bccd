/**
 * What a rule's condition can read: the transaction (`txn`), the card's point-in-time history (`card`), the
 * lists the rule set declares (`lists`, one boolean per list) and its parameters (`params`). Every number is a
 * CEL `double` (a literal `5000` compares with it as written); an attribute that is unknown for a transaction
 * reads as a documented neutral value, so a condition never fails on a missing field.
 */
import type { CardFeatures } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';
import { toMajorUnits } from '../money';
import { amountInUsd } from '../features/usd-rates';

/** The CEL type of each `txn` attribute. */
export const transactionAttributes = {
  /** The amount in the event's currency, major units. */
  amount: 'double',
  /** The amount at the static reference rates (src/features/usd-rates.ts). */
  amountUsd: 'double',
  currency: 'string',
  channel: 'string',
  mcc: 'string',
  /** '' when the event has none. */
  category: 'string',
  merchantId: 'string',
  merchantCountry: 'string',
  /** The transaction's location country; '' when unknown. */
  geoCountry: 'string',
  /** '' when unknown. */
  cardholderCountry: 'string',
  cardToken: 'string',
  /** '' when the event has none. */
  ipAddress: 'string',
  /** The customer's e-mail domain, lower case; '' when unknown. */
  emailDomain: 'string',
  /** The card BIN from `attributes.bin` (digits); '' when absent. */
  bin: 'string',
  /** Upstream velocity (`velocity.cardTxnLastHour`); -1 when absent. */
  upstreamTxnLastHour: 'double',
} as const;

/** The CEL type of each `card` attribute: the features of src/schemas/card-features.ts and two derived ones. */
export const cardAttributes = {
  /** False when the card history could not be read: every other `card` attribute is then its neutral value. */
  known: 'bool',
  /**
   * Card transactions in the last hour including this one: the history's count + 1, or the upstream count when
   * that is higher (the velocity rule's reading since 0.1.0); 0 when neither is known.
   */
  txnLastHour: 'double',
  txnCount1h: 'double',
  txnCount24h: 'double',
  txnCount7d: 'double',
  amountSum1hUsd: 'double',
  amountSum24hUsd: 'double',
  amountSum7dUsd: 'double',
  historyCount: 'double',
  /** -1 without history. */
  amountRatioToMean: 'double',
  /** 0 with fewer than two entries. */
  amountZScore: 'double',
  /** -1 without history. */
  secondsSincePrevious: 'double',
  distinctMerchants24h: 'double',
  distinctCountries24h: 'double',
  firstTimeMerchant: 'bool',
  firstTimeCategory: 'bool',
  firstTimeCountry: 'bool',
  /** -1 when either transaction has no location. */
  distanceKmFromPrevious: 'double',
  /** -1 when either transaction has no location. */
  speedKmhFromPrevious: 'double',
  localHour: 'double',
  smallAmountCount10m: 'double',
} as const;

export type TransactionAttributes = { [K in keyof typeof transactionAttributes]: number | string };
export type CardAttributes = { [K in keyof typeof cardAttributes]: number | boolean };

/** The `txn` attributes of an event. */
export function transactionAttributesOf(event: TransactionEvent): TransactionAttributes {
  const bin = event.attributes?.bin;
  return {
    amount: toMajorUnits(event.amount),
    amountUsd: amountInUsd(event.amount),
    currency: event.amount.currency,
    channel: event.channel,
    mcc: event.merchant.mcc,
    category: event.merchant.category ?? '',
    merchantId: event.merchant.id,
    merchantCountry: event.merchant.country,
    geoCountry: event.geo?.country ?? '',
    cardholderCountry: event.cardholderCountry ?? '',
    cardToken: event.cardToken,
    ipAddress: event.ipAddress ?? '',
    emailDomain: emailDomainOf(event),
    bin: typeof bin === 'string' && /^\d{1,19}$/.test(bin) ? bin : typeof bin === 'number' ? String(bin) : '',
    upstreamTxnLastHour: event.velocity?.cardTxnLastHour ?? -1,
  };
}

export function emailDomainOf(event: TransactionEvent): string {
  const email = event.customer?.email;
  return email ? (email.split('@').pop() ?? '').toLowerCase() : '';
}

/** The `card` attributes of an event's features (`undefined`: the history could not be read). */
export function cardAttributesOf(event: TransactionEvent, f: CardFeatures | undefined): CardAttributes {
  const upstream = event.velocity?.cardTxnLastHour;
  const computed = f ? f.txnCount1h + 1 : undefined;
  const txnLastHour = computed === undefined ? (upstream ?? 0) : Math.max(computed, upstream ?? computed);
  return {
    known: f !== undefined,
    txnLastHour,
    txnCount1h: f?.txnCount1h ?? 0,
    txnCount24h: f?.txnCount24h ?? 0,
    txnCount7d: f?.txnCount7d ?? 0,
    amountSum1hUsd: f?.amountSum1hUsd ?? 0,
    amountSum24hUsd: f?.amountSum24hUsd ?? 0,
    amountSum7dUsd: f?.amountSum7dUsd ?? 0,
    historyCount: f?.historyCount ?? 0,
    amountRatioToMean: f?.amountRatioToMean ?? -1,
    amountZScore: f?.amountZScore ?? 0,
    secondsSincePrevious: f?.secondsSincePrevious ?? -1,
    distinctMerchants24h: f?.distinctMerchants24h ?? 0,
    distinctCountries24h: f?.distinctCountries24h ?? 0,
    firstTimeMerchant: f?.firstTimeMerchant ?? true,
    firstTimeCategory: f?.firstTimeCategory ?? true,
    firstTimeCountry: f?.firstTimeCountry ?? true,
    distanceKmFromPrevious: f?.distanceKmFromPrevious ?? -1,
    speedKmhFromPrevious: f?.speedKmhFromPrevious ?? -1,
    localHour: f?.localHour ?? 0,
    smallAmountCount10m: f?.smallAmountCount10m ?? 0,
  };
}
