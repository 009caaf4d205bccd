import { z } from 'zod';

const isoCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** ISO 4217 alphabetic code, checked against the runtime's ICU currency list. */
export const CurrencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as "USD"')
  .refine((c) => isoCurrencies.has(c), { message: 'unknown ISO 4217 currency code' });

/**
 * Money as an integer count of the currency's minor units (cents for USD, yen for JPY): no floating point.
 * @example { "minor": 129999, "currency": "USD" } // 1,299.99 USD
 */
export const Money = z.object({
  minor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  currency: CurrencyCode,
});
export type Money = z.infer<typeof Money>;

/** ISO 4217 exponent (2 for USD, 0 for JPY, 3 for BHD), from ICU. */
export function currencyExponent(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Major units as a number, for thresholds and display only; money itself stays integral. */
export function toMajorUnits(money: Money): number {
  return money.minor / 10 ** currencyExponent(money.currency);
}

export function formatMoney(money: Money): string {
  const exp = currencyExponent(money.currency);
  return `${toMajorUnits(money).toFixed(exp)} ${money.currency}`;
}
