/**
 * Money arithmetic on the Money contract (src/schemas/money.ts). Free of zod and I/O, so workflow code can use it
 * without pulling the schema library into the workflow bundle.
 */
import type { Money } from './schemas/money';

const exponents = new Map<string, number>();

/** ISO 4217 exponent (2 for USD, 0 for JPY, 3 for BHD), from ICU; memoized, an Intl.NumberFormat is costly to build. */
export function currencyExponent(currency: string): number {
  let exponent = exponents.get(currency);
  if (exponent === undefined) {
    exponent =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    exponents.set(currency, exponent);
  }
  return exponent;
}

/** Major units as a number, for thresholds and display only; money itself stays integral. */
export function toMajorUnits(money: Money): number {
  return money.minor / 10 ** currencyExponent(money.currency);
}

export function formatMoney(money: Money): string {
  const exp = currencyExponent(money.currency);
  return `${toMajorUnits(money).toFixed(exp)} ${money.currency}`;
}
