/**
 * Money arithmetic on the Money contract (src/schemas/money.ts). Free of zod and I/O, so workflow code can use it
 * without pulling the schema library into the workflow bundle.
 */
import type { Money } from './schemas/money';

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
