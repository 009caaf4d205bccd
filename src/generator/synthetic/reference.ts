/** Lookups over the reference tables: a country, a category, amounts in each currency, spending by local hour. */
import type { Money } from '../../schemas/money';
import { currencyExponent } from '../../money';
import type { Weighted } from './random';
import { categories, countries, hourlyActivity, unitsPerUsd } from './tables';
import type { Category, CountryInfo } from './tables';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export function countryInfo(code: string): CountryInfo {
  const info = countries[code];
  if (!info) throw new Error(`no reference data for country ${code}`);
  return info;
}

export function usdRate(currency: string): number {
  return unitsPerUsd[currency] ?? 1;
}

export function moneyFromMajor(major: number, currency: string): Money {
  return { minor: Math.max(1, Math.round(major * 10 ** currencyExponent(currency))), currency };
}

export function moneyFromUsd(usd: number, currency: string): Money {
  return moneyFromMajor(usd * usdRate(currency), currency);
}

export function usdOf(money: Money): number {
  return money.minor / 10 ** currencyExponent(money.currency) / usdRate(money.currency);
}

export function category(name: string): Category {
  const found = categories.find((c) => c.name === name);
  if (!found) throw new Error(`no category ${name}`);
  return found;
}

export const homeCategoryWeights: Weighted<Category> = categories.map((c) => [c, c.homeWeight] as const);
export const travelCategoryWeights: Weighted<Category> = categories
  .filter((c) => c.travelWeight > 0)
  .map((c) => [c, c.travelWeight] as const);

export const meanHourlyActivity = hourlyActivity.reduce((a, b) => a + b, 0) / hourlyActivity.length;

export function activityAt(timeMs: number, utcOffsetHours: number): number {
  const hour = Math.floor((timeMs / HOUR_MS + utcOffsetHours + 48) % 24);
  return hourlyActivity[hour] ?? meanHourlyActivity;
}
