/**
 * Amounts in US dollars for card features: a card's history can mix currencies (a trip abroad, a foreign web shop),
 * and sums, means and thresholds need one unit. Free of zod and I/O, so workflow code can use it.
 */
import { toMajorUnits } from '../money';
import type { Money } from '../schemas/money';

/**
 * Units of each currency per US dollar: approximate, static reference rates (rounded, early 2025 levels). Features
 * need the order of magnitude right, not an accounting rate, and a fixed table keeps features reproducible: the same
 * history gives the same features on every replay. EUR, GBP and JPY match the synthetic generator's rates.
 */
export const usdReferenceRates: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 0.92,
  GBP: 0.79,
  JPY: 150,
  CHF: 0.88,
  CAD: 1.36,
  AUD: 1.52,
  NZD: 1.65,
  SEK: 10.5,
  NOK: 10.6,
  DKK: 6.9,
  PLN: 4,
  CZK: 23,
  HUF: 360,
  RON: 4.6,
  TRY: 32,
  RUB: 90,
  UAH: 40,
  ILS: 3.7,
  AED: 3.67,
  SAR: 3.75,
  INR: 83,
  CNY: 7.2,
  HKD: 7.8,
  SGD: 1.35,
  KRW: 1350,
  THB: 36,
  MYR: 4.7,
  IDR: 15_800,
  PHP: 56,
  VND: 25_000,
  MXN: 17,
  BRL: 5,
  ZAR: 18.5,
  NGN: 1500,
};

/**
 * The amount in US dollars at {@link usdReferenceRates}, rounded to 1/100 cent. A currency missing from the table
 * counts 1:1, as if it were dollars: wrong for most currencies, but it keeps the transaction in the card's counts,
 * and the table covers every currency the generator and the public replay layouts produce.
 */
export function amountInUsd(money: Money): number {
  const unitsPerUsd = usdReferenceRates[money.currency] ?? 1;
  return Math.round((toMajorUnits(money) / unitsPerUsd) * 10_000) / 10_000;
}
