import { z } from 'zod';
import { iso4217MinorUnits } from '../iso-4217';

/**
 * ISO 4217 alphabetic code, checked against the fixed table in src/iso-4217.ts (not the runtime's ICU list, which
 * changes with Node): an event valid once stays valid on every release, and its exponent is always known.
 */
export const CurrencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as "USD"')
  .refine((c) => iso4217MinorUnits.has(c), { message: 'unknown ISO 4217 currency code' });

/**
 * Money as an integer count of the currency's minor units (cents for USD, yen for JPY): no floating point.
 * @example { "minor": 129999, "currency": "USD" } // 1,299.99 USD
 */
export const Money = z.object({
  minor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  currency: CurrencyCode,
});
export type Money = z.infer<typeof Money>;
