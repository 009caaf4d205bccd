/**
 * TransactionEvent v1: one card or account transaction as it arrives on the transactions topic.
 * Documented with examples in docs/contracts.md.
 */
import { z } from 'zod';
import { Money } from './money';

export const transactionEventVersion = 1;

export const Channel = z.enum(['card_present', 'ecommerce', 'mail_phone', 'atm', 'transfer', 'wallet']);
export type Channel = z.infer<typeof Channel>;

/** ISO 3166-1 alpha-2 country code. */
const CountryCode = z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 country code such as "US"');

export const Merchant = z.object({
  id: z.string().min(1).max(128),
  name: z.string().min(1).max(256),
  /** ISO 18245 merchant category code, four digits. */
  mcc: z.string().regex(/^\d{4}$/, 'expected a four-digit ISO 18245 merchant category code'),
  /** Human-readable category, e.g. "grocery_pos". */
  category: z.string().max(64).optional(),
  country: CountryCode,
});
export type Merchant = z.infer<typeof Merchant>;

export const Geo = z.object({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  city: z.string().max(128).optional(),
  country: CountryCode.optional(),
});

/** Velocity features computed upstream (the feature store or the issuer); rules read them when present. */
export const Velocity = z.object({
  cardTxnLastHour: z.number().int().nonnegative().optional(),
  cardTxnLast24h: z.number().int().nonnegative().optional(),
  cardAmountLast24hMinor: z.number().int().nonnegative().optional(),
  distinctMerchantsLastHour: z.number().int().nonnegative().optional(),
});

/** Ground truth for historical data, used by replay and backtests; never read by the scoring policy. */
export const Label = z.object({
  isFraud: z.boolean(),
  pattern: z.string().max(64).optional(),
  source: z.string().max(64).optional(),
});

const id = z.string().min(1).max(128);

export const TransactionEvent = z.object({
  schemaVersion: z.literal(transactionEventVersion).default(transactionEventVersion),
  /** Business key; the scoring workflow id derives from it, so redelivery never double-scores. */
  transactionId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected 1-128 chars of [A-Za-z0-9._:-]'),
  occurredAt: z.iso.datetime({ offset: true }),
  amount: Money,
  /** Tokenized card reference (never a PAN). */
  cardToken: id,
  accountId: id.optional(),
  customerId: id,
  merchant: Merchant,
  channel: Channel,
  cardholderCountry: CountryCode.optional(),
  device: z
    .object({ id: id.optional(), type: z.string().max(64).optional(), userAgent: z.string().max(512).optional() })
    .optional(),
  ipAddress: z.union([z.ipv4(), z.ipv6()]).optional(),
  geo: Geo.optional(),
  velocity: Velocity.optional(),
  /** Personal data the issuer attached (names, e-mail, phone, address); redacted before any hosted call. */
  customer: z
    .object({
      name: z.string().max(256).optional(),
      email: z.email().optional(),
      phone: z.string().max(32).optional(),
      address: z.string().max(512).optional(),
      dateOfBirth: z.iso.date().optional(),
    })
    .optional(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  label: Label.optional(),
});
export type TransactionEvent = z.infer<typeof TransactionEvent>;
export type TransactionEventInput = z.input<typeof TransactionEvent>;

/** A transaction event read from text (a Kafka message, a JSON line), or exactly why the text is not one. */
export type TransactionEventReading =
  { ok: true; event: TransactionEvent } | { ok: false; reason: 'invalid_json' | 'schema_violation'; detail: string };

/** Parses JSON text against the TransactionEvent contract; the one place events are read from text. */
export function readTransactionEvent(text: string): TransactionEventReading {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: err instanceof Error ? err.message : String(err) };
  }
  const parsed = TransactionEvent.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'schema_violation', detail: z.prettifyError(parsed.error) };
  return { ok: true, event: parsed.data };
}
