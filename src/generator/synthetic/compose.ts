/** Turns a chosen purchase, legitimate or fraudulent, into an event draft, and records it on the card. */
import type { Money } from '../../schemas/money';
import type { Channel, TransactionEvent } from '../../schemas/transaction-event';
import type { Cardholder, Device } from './cardholders';
import type { MerchantRecord } from './merchants';
import type { Random } from './random';
import { DAY_MS, usdOf } from './reference';
import type { City, FraudPattern } from './tables';

/** An event without the fields the stream fills in when it emits it. */
export type Draft = Omit<TransactionEvent, 'schemaVersion' | 'transactionId' | 'occurredAt'>;

/** Authorisation attempts a feature store saw but this stream does not carry (declines elsewhere, other acquirers). */
export interface UnseenActivity {
  lastHour: number;
  merchantsLastHour: number;
  usdLast24h: number;
}

export interface ComposeInput {
  at: number;
  holder: Cardholder;
  merchant: MerchantRecord;
  channel: Channel;
  amount: Money;
  device?: Device;
  ipAddress?: string;
  geo?: { city: City; country: string };
  withVelocity: boolean;
  unseen?: UnseenActivity;
  withAccount: boolean;
  customer?: Draft['customer'];
  attributes: Record<string, string | number | boolean | null>;
  pattern?: FraudPattern;
}

/** Builds the draft and records the use on the card, so later velocity features see it. */
export function composeDraft(r: Random, input: ComposeInput): Draft {
  const { at, holder, merchant, amount } = input;
  const since24h = at - DAY_MS;
  while (holder.history.length > 0 && (holder.history[0]?.at ?? at) < since24h) holder.history.shift();
  holder.history.push({ at, usd: usdOf(amount), merchantId: merchant.id });

  const draft: Draft = {
    amount,
    cardToken: holder.cardToken,
    ...(input.withAccount ? { accountId: holder.accountId } : {}),
    customerId: holder.customerId,
    merchant: {
      id: merchant.id,
      name: merchant.name,
      mcc: merchant.mcc,
      category: merchant.category,
      country: merchant.country,
    },
    channel: input.channel,
    cardholderCountry: holder.home,
  };
  if (input.device) draft.device = { id: input.device.id, type: input.device.type, userAgent: input.device.userAgent };
  if (input.ipAddress) draft.ipAddress = input.ipAddress;
  if (input.geo) draft.geo = jitteredGeo(r, input.geo.city, input.geo.country);
  if (input.customer) draft.customer = input.customer;
  const attributes = { ...input.attributes };
  if (input.device) attributes.deviceAgeDays = input.device.ageDays;
  draft.attributes = attributes;
  draft.label = input.pattern
    ? { isFraud: true, pattern: input.pattern, source: 'synthetic' }
    : { isFraud: false, source: 'synthetic' };
  return draft;
}

/** The customer details a merchant passes on: the name always, the rest only sometimes. */
export function customerDetails(r: Random, holder: Cardholder): Draft['customer'] {
  return {
    name: holder.name,
    ...(r.chance(0.8) ? { email: holder.email } : {}),
    ...(r.chance(0.5) ? { phone: holder.phone } : {}),
    ...(r.chance(0.4) ? { address: holder.address } : {}),
    ...(r.chance(0.25) ? { dateOfBirth: holder.dateOfBirth } : {}),
  };
}

function jitteredGeo(r: Random, city: City, country: string): NonNullable<Draft['geo']> {
  return {
    lat: Math.round((city.lat + r.range(-0.05, 0.05)) * 1e4) / 1e4,
    lon: Math.round((city.lon + r.range(-0.05, 0.05)) * 1e4) / 1e4,
    city: city.name,
    country,
  };
}
