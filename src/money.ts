/**
 * Money arithmetic on the Money contract (src/schemas/money.ts). Free of zod and I/O, so workflow code can use it
 * without pulling the schema library into the workflow bundle.
 */
import { iso4217MinorUnits } from './iso-4217';
import type { Money } from './schemas/money';

/**
 * ISO 4217 exponent (2 for USD, 0 for JPY, 3 for BHD), from the fixed table in src/iso-4217.ts, never the runtime's
 * ICU data: the same amount means the same on every Node release. Throws a RangeError for a code outside the table;
 * the event schema refuses those codes, so a parsed event never reaches it.
 */
export function currencyExponent(currency: string): number {
  const exponent = iso4217MinorUnits.get(currency);
  if (exponent === undefined) {
    throw new RangeError(`${JSON.stringify(currency)} is not an ISO 4217 currency code with minor units`);
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
