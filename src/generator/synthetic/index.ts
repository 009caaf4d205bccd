/**
 * Synthetic card transactions for demos, load tests and backtests.
 *
 * The generator is pure: no clock, no I/O, no global randomness. Everything comes from one seeded PRNG, so a seed
 * reproduces the exact stream and a surprising backtest can be replayed event for event.
 *
 * The stream simulates a few hundred cardholders spending at a realistic pace (a couple of purchases a day each,
 * following the local time of day), so per-card velocity features stay believable. Fraud arrives as episodes on a
 * victim's card (a card-testing run, a burst of purchases, ...) whose steps are merged into the stream by time.
 */
import type { Money } from '../../schemas/money';
import { currencyExponent } from '../../money';
import type { Channel, TransactionEvent } from '../../schemas/transaction-event';

export const fraudPatterns = ['card_testing', 'high_value_foreign', 'burst_on_card', 'account_takeover'] as const;
export type FraudPattern = (typeof fraudPatterns)[number];

export interface TransactionGeneratorOptions {
  /** PRNG seed: the same seed always yields the same sequence. @default 1 */
  seed?: number;
  /** Share of events that belong to a fraud pattern, between 0 and 1. @default 0.05 */
  fraudShare?: number;
  /** occurredAt of the start of the stream; a fixed default keeps the generator pure. @default 2025-01-06T00:00:00Z */
  startTime?: Date;
  /** transactionId prefix; ids read `${idPrefix}-${seed}-${counter}`. @default 'txn' */
  idPrefix?: string;
}

export interface TransactionGenerator {
  /** The next event in occurredAt order; it always passes `TransactionEvent.parse`. */
  next(): TransactionEvent;
}

// ---------------------------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------------------------

/** mulberry32: a tiny 32-bit seeded PRNG returning floats in [0, 1). Fine for synthetic data, never for secrets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to derive stable sub-seeds from names (the merchant catalogue is the same for every seed). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

type Weighted<T> = ReadonlyArray<readonly [T, number]>;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

class Random {
  private readonly next01: () => number;

  constructor(seed: number) {
    this.next01 = mulberry32(seed);
  }

  float(): number {
    return this.next01();
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.next01();
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next01() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next01() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next01() * items.length)];
    if (item === undefined) throw new Error('cannot pick from an empty list');
    return item;
  }

  weighted<T>(items: Weighted<T>): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let u = this.next01() * total;
    for (const [item, w] of items) {
      u -= w;
      if (u < 0) return item;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new Error('cannot pick from an empty list');
    return last[0];
  }

  /** Standard normal, Box-Muller. */
  normal(): number {
    const u = 1 - this.next01();
    const v = this.next01();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next01());
  }

  chars(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet.charAt(Math.floor(this.next01() * alphabet.length));
    return out;
  }

  hex(length: number): string {
    return this.chars('0123456789abcdef', length);
  }

  digits(length: number): string {
    return this.chars('0123456789', length);
  }
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const clamp = (x: number, min: number, max: number): number => Math.min(max, Math.max(min, x));

// ---------------------------------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------------------------------

interface City {
  name: string;
  lat: number;
  lon: number;
}

interface CountryInfo {
  /** Currency merchants there charge in. Outside the four core currencies we assume prices in USD. */
  currency: 'USD' | 'EUR' | 'GBP' | 'JPY';
  /** Standard-time offset; daylight saving does not matter for spending curves. */
  utcOffsetHours: number;
  cities: readonly City[];
}

const countries: Readonly<Record<string, CountryInfo>> = {
  US: {
    currency: 'USD',
    utcOffsetHours: -5,
    cities: [
      { name: 'New York', lat: 40.7128, lon: -74.006 },
      { name: 'Chicago', lat: 41.8781, lon: -87.6298 },
      { name: 'Los Angeles', lat: 34.0522, lon: -118.2437 },
      { name: 'Houston', lat: 29.7604, lon: -95.3698 },
      { name: 'Seattle', lat: 47.6062, lon: -122.3321 },
      { name: 'Atlanta', lat: 33.749, lon: -84.388 },
      { name: 'Denver', lat: 39.7392, lon: -104.9903 },
      { name: 'Boston', lat: 42.3601, lon: -71.0589 },
    ],
  },
  GB: {
    currency: 'GBP',
    utcOffsetHours: 0,
    cities: [
      { name: 'London', lat: 51.5074, lon: -0.1278 },
      { name: 'Manchester', lat: 53.4808, lon: -2.2426 },
      { name: 'Birmingham', lat: 52.4862, lon: -1.8904 },
      { name: 'Edinburgh', lat: 55.9533, lon: -3.1883 },
      { name: 'Bristol', lat: 51.4545, lon: -2.5879 },
    ],
  },
  DE: {
    currency: 'EUR',
    utcOffsetHours: 1,
    cities: [
      { name: 'Berlin', lat: 52.52, lon: 13.405 },
      { name: 'Munich', lat: 48.1351, lon: 11.582 },
      { name: 'Hamburg', lat: 53.5511, lon: 9.9937 },
      { name: 'Cologne', lat: 50.9375, lon: 6.9603 },
      { name: 'Frankfurt', lat: 50.1109, lon: 8.6821 },
    ],
  },
  FR: {
    currency: 'EUR',
    utcOffsetHours: 1,
    cities: [
      { name: 'Paris', lat: 48.8566, lon: 2.3522 },
      { name: 'Lyon', lat: 45.764, lon: 4.8357 },
      { name: 'Marseille', lat: 43.2965, lon: 5.3698 },
      { name: 'Toulouse', lat: 43.6047, lon: 1.4442 },
      { name: 'Bordeaux', lat: 44.8378, lon: -0.5792 },
    ],
  },
  ES: {
    currency: 'EUR',
    utcOffsetHours: 1,
    cities: [
      { name: 'Madrid', lat: 40.4168, lon: -3.7038 },
      { name: 'Barcelona', lat: 41.3874, lon: 2.1686 },
    ],
  },
  IT: {
    currency: 'EUR',
    utcOffsetHours: 1,
    cities: [
      { name: 'Rome', lat: 41.9028, lon: 12.4964 },
      { name: 'Milan', lat: 45.4642, lon: 9.19 },
    ],
  },
  NL: { currency: 'EUR', utcOffsetHours: 1, cities: [{ name: 'Amsterdam', lat: 52.3676, lon: 4.9041 }] },
  IE: { currency: 'EUR', utcOffsetHours: 0, cities: [{ name: 'Dublin', lat: 53.3498, lon: -6.2603 }] },
  LU: { currency: 'EUR', utcOffsetHours: 1, cities: [{ name: 'Luxembourg', lat: 49.6116, lon: 6.1319 }] },
  MT: { currency: 'EUR', utcOffsetHours: 1, cities: [{ name: 'Valletta', lat: 35.8989, lon: 14.5146 }] },
  JP: {
    currency: 'JPY',
    utcOffsetHours: 9,
    cities: [
      { name: 'Tokyo', lat: 35.6762, lon: 139.6503 },
      { name: 'Osaka', lat: 34.6937, lon: 135.5023 },
    ],
  },
  NG: { currency: 'USD', utcOffsetHours: 1, cities: [{ name: 'Lagos', lat: 6.5244, lon: 3.3792 }] },
  RO: { currency: 'USD', utcOffsetHours: 2, cities: [{ name: 'Bucharest', lat: 44.4268, lon: 26.1025 }] },
  BR: { currency: 'USD', utcOffsetHours: -3, cities: [{ name: 'Sao Paulo', lat: -23.5505, lon: -46.6333 }] },
  ID: { currency: 'USD', utcOffsetHours: 7, cities: [{ name: 'Jakarta', lat: -6.2088, lon: 106.8456 }] },
  VN: { currency: 'USD', utcOffsetHours: 7, cities: [{ name: 'Ho Chi Minh City', lat: 10.8231, lon: 106.6297 }] },
  RU: { currency: 'USD', utcOffsetHours: 3, cities: [{ name: 'Moscow', lat: 55.7558, lon: 37.6173 }] },
  UA: { currency: 'USD', utcOffsetHours: 2, cities: [{ name: 'Kyiv', lat: 50.4501, lon: 30.5234 }] },
  TH: { currency: 'USD', utcOffsetHours: 7, cities: [{ name: 'Bangkok', lat: 13.7563, lon: 100.5018 }] },
  AE: { currency: 'USD', utcOffsetHours: 4, cities: [{ name: 'Dubai', lat: 25.2048, lon: 55.2708 }] },
  HK: { currency: 'USD', utcOffsetHours: 8, cities: [{ name: 'Hong Kong', lat: 22.3193, lon: 114.1694 }] },
  TR: { currency: 'USD', utcOffsetHours: 3, cities: [{ name: 'Istanbul', lat: 41.0082, lon: 28.9784 }] },
  PH: { currency: 'USD', utcOffsetHours: 8, cities: [{ name: 'Manila', lat: 14.5995, lon: 120.9842 }] },
  MY: { currency: 'USD', utcOffsetHours: 8, cities: [{ name: 'Kuala Lumpur', lat: 3.139, lon: 101.6869 }] },
};

function countryInfo(code: string): CountryInfo {
  const info = countries[code];
  if (!info) throw new Error(`no reference data for country ${code}`);
  return info;
}

const homeCountries: Weighted<string> = [
  ['US', 0.55],
  ['GB', 0.15],
  ['DE', 0.15],
  ['FR', 0.15],
];

/** Where legitimate cardholders travel. */
const travelDestinations: Weighted<string> = [
  ['US', 3],
  ['GB', 2],
  ['FR', 2],
  ['ES', 2],
  ['IT', 2],
  ['DE', 1.5],
  ['JP', 1.5],
  ['NL', 1],
  ['IE', 1],
];

/** Where cloned cards and stolen credentials get cashed out; never a cardholder's home. */
const fraudCountries = ['NG', 'RO', 'BR', 'ID', 'VN', 'RU', 'UA', 'TH', 'AE', 'HK', 'TR', 'PH', 'MY'] as const;

/** Units of each currency per USD. Fixed, illustrative rates: this is synthetic data, not accounting. */
const unitsPerUsd: Readonly<Record<string, number>> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 150 };

function usdRate(currency: string): number {
  return unitsPerUsd[currency] ?? 1;
}

const exponents = new Map<string, number>();
function exponentOf(currency: string): number {
  let exp = exponents.get(currency);
  if (exp === undefined) {
    exp = currencyExponent(currency);
    exponents.set(currency, exp);
  }
  return exp;
}

function moneyFromMajor(major: number, currency: string): Money {
  return { minor: Math.max(1, Math.round(major * 10 ** exponentOf(currency))), currency };
}

function moneyFromUsd(usd: number, currency: string): Money {
  return moneyFromMajor(usd * usdRate(currency), currency);
}

function usdOf(money: Money): number {
  return money.minor / 10 ** exponentOf(money.currency) / usdRate(money.currency);
}

interface Category {
  /** The event's `merchant.category`. */
  name: string;
  /** ISO 18245 merchant category code. */
  mcc: string;
  /** Relative share of everyday spending at home. */
  homeWeight: number;
  /** Relative share of spending while travelling abroad. */
  travelWeight: number;
  /** Log-normal amount in USD-equivalent: median, spread and hard bounds. */
  medianUsd: number;
  sigma: number;
  minUsd: number;
  maxUsd: number;
  /** Fixed price points in major units (subscriptions, app stores) instead of a log-normal amount. */
  pricePoints?: readonly number[];
  /** Cash comes out in notes. */
  cash?: boolean;
  channels: Partial<Record<Channel, number>>;
  /** Has storefronts: an in-store event happens at a merchant in the cardholder's city. */
  physical: boolean;
  /** Countries online merchants of this kind trade from, besides the cardholder's own. */
  onlineHubs?: readonly string[];
  names: readonly string[];
}

const categories: readonly Category[] = [
  {
    name: 'grocery',
    mcc: '5411',
    homeWeight: 20,
    travelWeight: 6,
    medianUsd: 42,
    sigma: 0.75,
    minUsd: 1.5,
    maxUsd: 600,
    channels: { card_present: 0.82, wallet: 0.12, ecommerce: 0.06 },
    physical: true,
    names: ['Harvest Foods', 'Green Valley Market', 'Corner Pantry', 'Fresh Basket', 'Daily Greens Grocers'],
  },
  {
    name: 'fuel',
    mcc: '5541',
    homeWeight: 9,
    travelWeight: 2,
    medianUsd: 45,
    sigma: 0.4,
    minUsd: 5,
    maxUsd: 180,
    channels: { card_present: 0.9, wallet: 0.1 },
    physical: true,
    names: ['Northline Fuel', 'Roadstar Gas', 'Blue Pump Station', 'Crossway Petrol'],
  },
  {
    name: 'restaurant',
    mcc: '5812',
    homeWeight: 11,
    travelWeight: 14,
    medianUsd: 36,
    sigma: 0.6,
    minUsd: 6,
    maxUsd: 900,
    channels: { card_present: 0.85, wallet: 0.1, ecommerce: 0.05 },
    physical: true,
    names: ['The Copper Pot', 'Luna Trattoria', 'Saffron House', 'Harbor Grill', 'Little Bistro'],
  },
  {
    name: 'fast_food',
    mcc: '5814',
    homeWeight: 12,
    travelWeight: 8,
    medianUsd: 11,
    sigma: 0.45,
    minUsd: 2,
    maxUsd: 80,
    channels: { card_present: 0.7, wallet: 0.2, ecommerce: 0.1 },
    physical: true,
    names: ['Burger Barn', 'Quick Wok', 'Taco Corner', 'Daily Bagel', 'Crispy Chicken Co'],
  },
  {
    name: 'electronics',
    mcc: '5732',
    homeWeight: 3,
    travelWeight: 0.5,
    medianUsd: 120,
    sigma: 1,
    minUsd: 8,
    maxUsd: 4000,
    channels: { card_present: 0.45, ecommerce: 0.5, wallet: 0.05 },
    physical: true,
    names: ['Volt Electronics', 'PixelPoint', 'Circuit Hub', 'Gadget Garage'],
  },
  {
    name: 'online_marketplace',
    mcc: '5999',
    homeWeight: 10,
    travelWeight: 1,
    medianUsd: 32,
    sigma: 0.9,
    minUsd: 1,
    maxUsd: 1500,
    channels: { ecommerce: 0.9, wallet: 0.1 },
    physical: false,
    onlineHubs: ['US', 'IE', 'GB', 'DE', 'LU'],
    names: ['ShopSphere Marketplace', 'Bazaar Online', 'Everything Depot', 'Parcelio'],
  },
  {
    name: 'books',
    mcc: '5942',
    homeWeight: 2,
    travelWeight: 1,
    medianUsd: 19,
    sigma: 0.5,
    minUsd: 3,
    maxUsd: 200,
    channels: { ecommerce: 0.6, card_present: 0.4 },
    physical: true,
    names: ['Page Turner Books', 'Chapter and Verse', 'The Reading Nook'],
  },
  {
    name: 'airline',
    mcc: '4511',
    homeWeight: 1.5,
    travelWeight: 1,
    medianUsd: 380,
    sigma: 0.75,
    minUsd: 40,
    maxUsd: 9000,
    channels: { ecommerce: 0.92, mail_phone: 0.08 },
    physical: false,
    names: ['SkyBridge Airways', 'Northwind Air', 'Atlas Airlines', 'BlueHorizon Air'],
  },
  {
    name: 'hotel',
    mcc: '7011',
    homeWeight: 1.5,
    travelWeight: 8,
    medianUsd: 170,
    sigma: 0.7,
    minUsd: 40,
    maxUsd: 5000,
    channels: { card_present: 0.55, ecommerce: 0.4, mail_phone: 0.05 },
    physical: true,
    names: ['Grand Meridian Hotel', 'Harborview Inn', 'Parkside Suites', 'Old Town Lodge'],
  },
  {
    name: 'digital_goods',
    mcc: '5818',
    homeWeight: 6,
    travelWeight: 2,
    medianUsd: 8,
    sigma: 0.9,
    minUsd: 0.99,
    maxUsd: 250,
    pricePoints: [0.99, 1.99, 2.99, 4.99, 9.99, 14.99, 19.99, 49.99, 99.99],
    channels: { ecommerce: 0.8, wallet: 0.2 },
    physical: false,
    onlineHubs: ['US', 'IE', 'LU', 'JP'],
    names: ['AppVault', 'PlayGrid Store', 'CloudCart Digital', 'TuneBox'],
  },
  {
    name: 'streaming',
    mcc: '4899',
    homeWeight: 3,
    travelWeight: 0,
    medianUsd: 12,
    sigma: 0.3,
    minUsd: 5,
    maxUsd: 30,
    pricePoints: [6.99, 9.99, 11.99, 15.49, 17.99, 22.99],
    channels: { ecommerce: 1 },
    physical: false,
    onlineHubs: ['US', 'IE', 'NL'],
    names: ['StreamFlix', 'Auralis Music', 'CineCloud'],
  },
  {
    name: 'money_transfer',
    mcc: '4829',
    homeWeight: 1.2,
    travelWeight: 0.2,
    medianUsd: 180,
    sigma: 1,
    minUsd: 10,
    maxUsd: 8000,
    channels: { transfer: 0.6, ecommerce: 0.4 },
    physical: false,
    names: ['SendWave Transfer', 'GlobeRemit', 'QuickWire Money'],
  },
  {
    name: 'quasi_cash',
    mcc: '6051',
    homeWeight: 0.4,
    travelWeight: 0,
    medianUsd: 150,
    sigma: 1.1,
    minUsd: 10,
    maxUsd: 10000,
    channels: { ecommerce: 0.9, card_present: 0.1 },
    physical: false,
    onlineHubs: ['US', 'GB', 'MT', 'LU'],
    names: ['CoinHarbor Exchange', 'BitLedger', 'FX Corner'],
  },
  {
    name: 'gambling',
    mcc: '7995',
    homeWeight: 0.8,
    travelWeight: 0.5,
    medianUsd: 40,
    sigma: 1,
    minUsd: 5,
    maxUsd: 3000,
    channels: { ecommerce: 0.85, card_present: 0.15 },
    physical: false,
    onlineHubs: ['GB', 'MT', 'US'],
    names: ['LuckyStar Bets', 'Royal Spin Casino', 'PuntPoint'],
  },
  {
    name: 'jewelry',
    mcc: '5944',
    homeWeight: 0.4,
    travelWeight: 1,
    medianUsd: 220,
    sigma: 1,
    minUsd: 20,
    maxUsd: 15000,
    channels: { card_present: 0.7, ecommerce: 0.3 },
    physical: true,
    names: ['Aurum Jewellers', 'Silverline Watches', 'Gemcraft'],
  },
  {
    name: 'department_store',
    mcc: '5311',
    homeWeight: 5,
    travelWeight: 3,
    medianUsd: 65,
    sigma: 0.85,
    minUsd: 3,
    maxUsd: 2000,
    channels: { card_present: 0.7, ecommerce: 0.25, wallet: 0.05 },
    physical: true,
    names: ['Metro Department Store', 'Sterling and Co', 'Kensington Place'],
  },
  {
    name: 'pharmacy',
    mcc: '5912',
    homeWeight: 5,
    travelWeight: 2,
    medianUsd: 22,
    sigma: 0.7,
    minUsd: 2,
    maxUsd: 400,
    channels: { card_present: 0.85, wallet: 0.1, ecommerce: 0.05 },
    physical: true,
    names: ['CareWell Pharmacy', 'GreenCross Chemist', 'HealthFirst Drugs'],
  },
  {
    name: 'atm_cash',
    mcc: '6011',
    homeWeight: 4,
    travelWeight: 6,
    medianUsd: 120,
    sigma: 0.6,
    minUsd: 20,
    maxUsd: 800,
    cash: true,
    channels: { atm: 1 },
    physical: true,
    names: ['First Civic Bank ATM', 'Metro Savings ATM', 'Union Street Bank ATM'],
  },
  {
    name: 'rideshare',
    mcc: '4121',
    homeWeight: 4,
    travelWeight: 7,
    medianUsd: 16,
    sigma: 0.6,
    minUsd: 4,
    maxUsd: 250,
    channels: { wallet: 0.6, ecommerce: 0.3, card_present: 0.1 },
    physical: true,
    names: ['RideNow', 'CityCab', 'Zoomer Rides'],
  },
  {
    name: 'stored_value',
    mcc: '6540',
    homeWeight: 0.4,
    travelWeight: 0,
    medianUsd: 90,
    sigma: 0.8,
    minUsd: 10,
    maxUsd: 2000,
    channels: { ecommerce: 0.6, card_present: 0.4 },
    physical: false,
    names: ['GiftLoad', 'PrepaidPlus', 'ReloadIt'],
  },
];

function category(name: string): Category {
  const found = categories.find((c) => c.name === name);
  if (!found) throw new Error(`no category ${name}`);
  return found;
}

const homeCategoryWeights: Weighted<Category> = categories.map((c) => [c, c.homeWeight] as const);
const travelCategoryWeights: Weighted<Category> = categories
  .filter((c) => c.travelWeight > 0)
  .map((c) => [c, c.travelWeight] as const);

/** Relative spending by local hour of day: quiet at night, peaks at lunch and early evening. */
const hourlyActivity = [
  0.15, 0.1, 0.08, 0.07, 0.08, 0.15, 0.35, 0.6, 0.8, 0.9, 1, 1.1, 1.2, 1.1, 1, 1, 1.05, 1.15, 1.2, 1.1, 0.95, 0.75, 0.5,
  0.3,
] as const;
const meanHourlyActivity = hourlyActivity.reduce((a, b) => a + b, 0) / hourlyActivity.length;

function activityAt(timeMs: number, utcOffsetHours: number): number {
  const hour = Math.floor((timeMs / HOUR_MS + utcOffsetHours + 48) % 24);
  return hourlyActivity[hour] ?? meanHourlyActivity;
}

const words = (text: string): string[] => text.split(' ');
const firstNames = words(
  'Alex Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Robin Emma Liam Olivia Noah Mia Lucas Sophie Leon Hannah Hugo Manon Oliver Amelia Jonas',
);
const lastNames = words(
  'Doe Roe Bloggs Mustermann Dupont Durand Sample Example Testington Placeholder Specimen Mockridge',
);

const userAgents = {
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
    'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36',
  ],
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  ],
  tablet: [
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  ],
} as const;
const headlessUserAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/122.0.0.0 Safari/537.36';

// ---------------------------------------------------------------------------------------------------------------
// Simulation state
// ---------------------------------------------------------------------------------------------------------------

const CARDHOLDERS = 400;
const DEFAULT_START = Date.parse('2025-01-06T00:00:00.000Z');

interface Device {
  id: string;
  type: 'mobile' | 'desktop' | 'tablet';
  userAgent: string;
  ageDays: number;
}

interface CardUse {
  at: number;
  usd: number;
  merchantId: string;
}

interface Cardholder {
  customerId: string;
  cardToken: string;
  accountId: string;
  home: string;
  city: City;
  /** Purchases per day on average. */
  activityPerDay: number;
  devices: Device[];
  ipAddress: string;
  name: string;
  email: string;
  phone: string;
  address: string;
  dateOfBirth: string;
  /** This card's uses in the last 24 hours of simulated time, oldest first. */
  history: CardUse[];
  trip?: { country: string; city: City; until: number };
}

interface MerchantRecord {
  id: string;
  name: string;
  mcc: string;
  category: string;
  country: string;
  city?: City;
}

/** Authorisation attempts a feature store saw but this stream does not carry (declines elsewhere, other acquirers). */
interface UnseenActivity {
  lastHour: number;
  merchantsLastHour: number;
  usdLast24h: number;
}

type Draft = Omit<TransactionEvent, 'schemaVersion' | 'transactionId' | 'occurredAt'>;

interface PendingStep {
  at: number;
  order: number;
  emit: (at: number) => Draft;
}

/**
 * Share of fraud events per pattern, and the mean steps of one episode (they follow from the schedulers below).
 * Episode starts are weighted by share / steps so that short and long patterns end up with these event shares.
 */
const patternMix: ReadonlyArray<{ pattern: FraudPattern; eventShare: number; meanSteps: number }> = [
  { pattern: 'card_testing', eventShare: 0.3, meanSteps: 6.5 },
  { pattern: 'burst_on_card', eventShare: 0.3, meanSteps: 6 },
  { pattern: 'high_value_foreign', eventShare: 0.2, meanSteps: 1.3 },
  { pattern: 'account_takeover', eventShare: 0.2, meanSteps: 2 },
];
const patternStartWeights: Weighted<FraudPattern> = patternMix.map(
  (p) => [p.pattern, p.eventShare / p.meanSteps] as const,
);
/** Mean steps per episode start, which paces episode starts against the fraud share. */
const MEAN_EPISODE_STEPS =
  patternMix.reduce((sum, p) => sum + p.eventShare, 0) /
  patternMix.reduce((sum, p) => sum + p.eventShare / p.meanSteps, 0);

interface ComposeInput {
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

class SyntheticStream implements TransactionGenerator {
  private readonly rng: Random;
  private readonly seed: number;
  private readonly fraudShare: number;
  private readonly idPrefix: string;
  private readonly holders: Cardholder[] = [];
  /** Cardholders grouped by home country, each with cumulative activity for weighted picks. */
  private readonly regions: Array<{
    country: string;
    offset: number;
    total: number;
    cumulative: number[];
    holders: Cardholder[];
  }> = [];
  private readonly merchants = new Map<string, MerchantRecord[]>();
  private readonly pending: PendingStep[] = [];
  private clock: number;
  private emitted = 0;
  private fraudEmitted = 0;
  private stepOrder = 0;

  constructor(opts: TransactionGeneratorOptions) {
    const seed = opts.seed ?? 1;
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.seed = Math.trunc(seed) >>> 0;
    const fraudShare = opts.fraudShare ?? 0.05;
    if (!(fraudShare >= 0 && fraudShare <= 1))
      throw new RangeError(`fraudShare must be within [0, 1], got ${fraudShare}`);
    this.fraudShare = fraudShare;
    this.idPrefix = opts.idPrefix ?? 'txn';
    if (!/^[A-Za-z0-9._:-]{1,80}$/.test(this.idPrefix)) {
      throw new RangeError('idPrefix must be 1-80 chars of [A-Za-z0-9._:-] so transactionIds stay valid');
    }
    const start = opts.startTime?.getTime() ?? DEFAULT_START;
    if (!Number.isFinite(start)) throw new RangeError('startTime is an invalid Date');
    this.clock = start;
    this.rng = new Random(this.seed);
    for (let i = 0; i < CARDHOLDERS; i++) this.holders.push(this.createCardholder());
    for (const [country] of homeCountries) {
      const holders = this.holders.filter((h) => h.home === country);
      let total = 0;
      const cumulative = holders.map((h) => (total += h.activityPerDay));
      this.regions.push({ country, offset: countryInfo(country).utcOffsetHours, total, cumulative, holders });
    }
  }

  next(): TransactionEvent {
    const legitAt = this.clock + this.sampleGapMs();
    if (!this.isDue(legitAt) && this.shouldStartEpisode()) this.scheduleEpisode(legitAt);
    let draft: Draft;
    const step = this.pending[0];
    if (step && step.at <= legitAt) {
      this.pending.shift();
      this.clock = Math.max(this.clock, step.at);
      draft = step.emit(this.clock);
      this.fraudEmitted++;
    } else {
      this.clock = legitAt;
      draft = this.legitimate(legitAt);
    }
    this.emitted++;
    return {
      schemaVersion: 1,
      transactionId: `${this.idPrefix}-${this.seed}-${this.emitted}`,
      occurredAt: new Date(this.clock).toISOString(),
      ...draft,
    };
  }

  // -- pacing ---------------------------------------------------------------------------------------------------

  /** Gap to the next legitimate purchase: a Poisson process whose rate follows each region's local time of day. */
  private sampleGapMs(): number {
    let perDay = 0;
    for (const r of this.regions) perDay += (r.total * activityAt(this.clock, r.offset)) / meanHourlyActivity;
    return Math.max(50, this.rng.exponential(DAY_MS / Math.max(perDay, 1)));
  }

  private isDue(at: number): boolean {
    const head = this.pending[0];
    return head !== undefined && head.at <= at;
  }

  /**
   * Starts fraud episodes so that fraud steps committed so far track `fraudShare` of the events emitted, with some
   * randomness in the spacing: the chance grows with the deficit, so the share holds over short runs as well.
   */
  private shouldStartEpisode(): boolean {
    if (this.fraudShare <= 0) return false;
    if (this.fraudShare >= 1) return true;
    const deficit = this.fraudShare * (this.emitted + 1) - (this.fraudEmitted + this.pending.length);
    return deficit > 0 && this.rng.float() * MEAN_EPISODE_STEPS < deficit;
  }

  private schedule(at: number, emit: (at: number) => Draft): void {
    const step: PendingStep = { at, order: this.stepOrder++, emit };
    let i = this.pending.length;
    while (i > 0) {
      const before = this.pending[i - 1];
      if (before === undefined || before.at <= at) break;
      i--;
    }
    this.pending.splice(i, 0, step);
  }

  // -- cardholders and merchants --------------------------------------------------------------------------------

  private createCardholder(): Cardholder {
    const r = this.rng;
    const home = r.weighted(homeCountries);
    const info = countryInfo(home);
    const city = r.pick(info.cities);
    const first = r.pick(firstNames);
    const last = r.pick(lastNames);
    const devices: Device[] = [this.createDevice('mobile', r.int(30, 1500))];
    if (r.chance(0.6)) devices.push(this.createDevice(r.chance(0.8) ? 'desktop' : 'tablet', r.int(30, 2500)));
    return {
      customerId: `cus_${r.chars(ALNUM, 14)}`,
      cardToken: `tok_${r.chars(ALNUM, 24)}`,
      accountId: `acct_${r.digits(12)}`,
      home,
      city,
      activityPerDay: clamp(r.logNormal(2.2, 0.6), 0.3, 12),
      devices,
      ipAddress: this.randomIp(),
      name: `${first} ${last}`,
      email: `${first}.${last}${r.int(1, 99)}@example.${r.pick(['com', 'org', 'net'])}`.toLowerCase(),
      phone: this.fakePhone(home),
      address: this.fakeAddress(home, city),
      dateOfBirth: `${r.int(1950, 2005)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`,
      history: [],
    };
  }

  private createDevice(type: Device['type'], ageDays: number): Device {
    return { id: `dev_${this.rng.hex(16)}`, type, userAgent: this.rng.pick(userAgents[type]), ageDays };
  }

  /** Documentation ranges only (RFC 5737, RFC 3849): the events never name a real host. */
  private randomIp(): string {
    const r = this.rng;
    if (r.chance(0.15)) return `2001:db8:${r.hex(4)}:${r.hex(4)}::${r.int(1, 0xfffe).toString(16)}`;
    return `${r.pick(['192.0.2', '198.51.100', '203.0.113'])}.${r.int(1, 254)}`;
  }

  /** Numbers reserved for fiction where the numbering plan has them (US 555-01xx, UK 020 7946 0xxx). */
  private fakePhone(country: string): string {
    const r = this.rng;
    switch (country) {
      case 'US':
        return `+1 ${r.pick(['202', '312', '415', '617'])} 555 01${r.digits(2)}`;
      case 'GB':
        return `+44 20 7946 0${r.digits(3)}`;
      case 'DE':
        return `+49 30 23125 ${r.digits(3)}`;
      default:
        return `+33 6 39 98 ${r.digits(2)} ${r.digits(2)}`;
    }
  }

  private fakeAddress(country: string, city: City): string {
    const r = this.rng;
    const n = r.int(1, 240);
    switch (country) {
      case 'US':
        return `${n} ${r.pick(['Example', 'Sample', 'Fictional', 'Placeholder'])} ${r.pick(['Street', 'Avenue', 'Road'])}, ${city.name}, ${r.digits(5)}`;
      case 'GB':
        return `${n} ${r.pick(['Sample', 'Example', 'Fictional'])} Road, ${city.name}, ZZ99 ${r.int(1, 9)}ZZ`;
      case 'DE':
        return `Musterstrasse ${n}, ${r.digits(5)} ${city.name}`;
      default:
        return `${n} rue de l'Exemple, ${r.digits(5)} ${city.name}`;
    }
  }

  /** The merchant catalogue is derived from names, not the seed: the same shops exist in every stream. */
  private merchantAt(cat: Category, country: string, city?: City): MerchantRecord {
    const key = `${cat.mcc}|${country}|${city?.name ?? '*'}`;
    let pool = this.merchants.get(key);
    if (!pool) {
      const r = new Random(fnv1a(key));
      const offset = r.int(0, cat.names.length - 1);
      const size = Math.min(cat.names.length, city ? 3 : 4);
      pool = [];
      for (let i = 0; i < size; i++) {
        const base = cat.names[(offset + i) % cat.names.length] ?? cat.name;
        pool.push({
          id: `mer_${r.chars(LOWER_ALNUM, 14)}`,
          name: city ? `${base} ${city.name}` : base,
          mcc: cat.mcc,
          category: cat.name,
          country,
          ...(city ? { city } : {}),
        });
      }
      this.merchants.set(key, pool);
    }
    return this.rng.pick(pool);
  }

  // -- composing events -----------------------------------------------------------------------------------------

  private pickCardholder(at: number): Cardholder {
    const r = this.rng;
    const region = r.weighted(this.regions.map((g) => [g, g.total * activityAt(at, g.offset)] as const));
    const u = r.float() * region.total;
    const i = region.cumulative.findIndex((c) => c > u);
    return region.holders[i < 0 ? region.holders.length - 1 : i] ?? r.pick(this.holders);
  }

  private amountFor(cat: Category, currency: string): Money {
    const r = this.rng;
    if (cat.pricePoints) {
      const price = r.pick(cat.pricePoints);
      // Stores localise price points: 9.99 USD is 9.99 EUR or GBP, and a round yen figure.
      if (currency === 'JPY')
        return moneyFromMajor(Math.max(100, Math.round((price * usdRate('JPY')) / 10) * 10), 'JPY');
      return moneyFromMajor(price, currency);
    }
    const usd = clamp(r.logNormal(cat.medianUsd, cat.sigma), cat.minUsd, cat.maxUsd);
    if (cat.cash) {
      const note = currency === 'JPY' ? 10_000 : 20;
      return moneyFromMajor(Math.max(note, Math.round((usd * usdRate(currency)) / note) * note), currency);
    }
    return moneyFromUsd(usd, currency);
  }

  private customerDetails(holder: Cardholder): Draft['customer'] {
    const r = this.rng;
    return {
      name: holder.name,
      ...(r.chance(0.8) ? { email: holder.email } : {}),
      ...(r.chance(0.5) ? { phone: holder.phone } : {}),
      ...(r.chance(0.4) ? { address: holder.address } : {}),
      ...(r.chance(0.25) ? { dateOfBirth: holder.dateOfBirth } : {}),
    };
  }

  private jitteredGeo(city: City, country: string): NonNullable<Draft['geo']> {
    const r = this.rng;
    return {
      lat: Math.round((city.lat + r.range(-0.05, 0.05)) * 1e4) / 1e4,
      lon: Math.round((city.lon + r.range(-0.05, 0.05)) * 1e4) / 1e4,
      city: city.name,
      country,
    };
  }

  /** Builds the draft and records the use on the card, so later velocity features see it. */
  private compose(input: ComposeInput): Draft {
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
    if (input.device)
      draft.device = { id: input.device.id, type: input.device.type, userAgent: input.device.userAgent };
    if (input.ipAddress) draft.ipAddress = input.ipAddress;
    if (input.geo) draft.geo = this.jitteredGeo(input.geo.city, input.geo.country);
    if (input.customer) draft.customer = input.customer;
    const attributes = { ...input.attributes };
    if (input.device) attributes.deviceAgeDays = input.device.ageDays;
    draft.attributes = attributes;
    draft.label = input.pattern
      ? { isFraud: true, pattern: input.pattern, source: 'synthetic' }
      : { isFraud: false, source: 'synthetic' };
    return draft;
  }

  private legitimate(at: number): Draft {
    const r = this.rng;
    const holder = this.pickCardholder(at);
    if (holder.trip && holder.trip.until <= at) delete holder.trip;
    if (!holder.trip && r.chance(0.006)) {
      const destinations = travelDestinations.filter(([c]) => c !== holder.home);
      const country = r.weighted(destinations);
      holder.trip = { country, city: r.pick(countryInfo(country).cities), until: at + r.int(2, 10) * DAY_MS };
    }
    const trip = holder.trip;
    const cat = r.weighted(trip && r.chance(0.8) ? travelCategoryWeights : homeCategoryWeights);
    const channel = r.weighted(Object.entries(cat.channels) as Array<[Channel, number]>);
    const inStore = channel === 'card_present' || channel === 'atm' || (channel === 'wallet' && cat.physical);
    const homeCurrency = countryInfo(holder.home).currency;

    let merchant: MerchantRecord;
    let currency: string;
    let where: { city: City; country: string };
    if (inStore) {
      const country = trip?.country ?? holder.home;
      const city = trip?.city ?? (r.chance(0.85) ? holder.city : r.pick(countryInfo(country).cities));
      merchant = this.merchantAt(cat, country, cat.physical ? city : undefined);
      currency = countryInfo(country).currency;
      where = { city, country };
    } else {
      const hubs = cat.onlineHubs ?? [];
      const country = hubs.length === 0 || r.chance(0.7) ? holder.home : r.pick(hubs);
      merchant = this.merchantAt(cat, country);
      // Cross-border web shops usually price in the shopper's currency.
      currency = r.chance(0.7) ? homeCurrency : countryInfo(country).currency;
      where = trip ? { city: trip.city, country: trip.country } : { city: holder.city, country: holder.home };
    }
    const amount = this.amountFor(cat, currency);

    const attributes: ComposeInput['attributes'] = {};
    let device: Device | undefined;
    let ipAddress: string | undefined;
    let geo: ComposeInput['geo'];
    if (inStore) {
      if (channel === 'wallet') device = holder.devices[0];
      attributes.posEntryMode =
        channel === 'wallet'
          ? 'contactless'
          : r.weighted([
              ['chip', 0.6],
              ['contactless', 0.38],
              ['magstripe', 0.02],
            ] as const);
      if (r.chance(0.7)) geo = where;
    } else {
      if (channel === 'wallet' || r.chance(0.75)) {
        device = r.chance(0.01)
          ? this.createDevice(r.pick(['mobile', 'desktop'] as const), r.int(0, 2))
          : r.pick(holder.devices);
      }
      if (r.chance(0.8)) ipAddress = trip ? this.randomIp() : holder.ipAddress;
      if (r.chance(0.4)) geo = where;
      if (channel === 'ecommerce') {
        attributes.threeDs = r.weighted([
          ['authenticated', 0.7],
          ['not_attempted', 0.25],
          ['failed', 0.05],
        ] as const);
      }
      if (cat.name === 'streaming') attributes.recurring = true;
    }
    // Genuine customers change their details too, just rarely and not hours before a big transfer.
    if (r.chance(0.003)) attributes.profileChangedHoursAgo = r.int(1, 2000);
    return this.compose({
      at,
      holder,
      merchant,
      channel,
      amount,
      device,
      ipAddress,
      geo,
      withVelocity: r.chance(0.9),
      withAccount: r.chance(0.6),
      customer: r.chance(0.35) ? this.customerDetails(holder) : undefined,
      attributes,
    });
  }

  // -- fraud episodes -------------------------------------------------------------------------------------------

  private scheduleEpisode(start: number): void {
    const pattern = this.rng.weighted(patternStartWeights);
    const victim = this.rng.pick(this.holders);
    switch (pattern) {
      case 'card_testing':
        return this.scheduleCardTesting(start, victim);
      case 'high_value_foreign':
        return this.scheduleHighValueForeign(start, victim);
      case 'burst_on_card':
        return this.scheduleBurst(start, victim);
      case 'account_takeover':
        return this.scheduleAccountTakeover(start, victim);
    }
  }

  /** A bot checks a stolen card with tiny digital purchases, seconds apart, while declines pile up elsewhere. */
  private scheduleCardTesting(start: number, victim: Cardholder): void {
    const r = this.rng;
    const steps = r.int(4, 9);
    const bot = this.createDevice('desktop', 0);
    if (r.chance(0.3)) bot.userAgent = headlessUserAgent;
    const ipAddress = this.randomIp();
    const origin = r.pick(fraudCountries);
    const digital = category('digital_goods');
    const declinedBefore = r.int(6, 20);
    const unseen: UnseenActivity = {
      lastHour: declinedBefore,
      merchantsLastHour: r.int(2, 6),
      usdLast24h: declinedBefore * 1.5,
    };
    let at = start;
    for (let i = 0; i < steps; i++) {
      this.schedule(at, (when) => {
        const merchant = this.merchantAt(digital, r.pick(['US', 'IE', 'LU']));
        const amount: Money = { minor: r.chance(0.4) ? 100 : r.int(50, 299), currency: 'USD' };
        const declinedMeanwhile = r.int(0, 2);
        unseen.lastHour += declinedMeanwhile;
        unseen.usdLast24h += declinedMeanwhile * 1.5;
        return this.compose({
          at: when,
          holder: victim,
          merchant,
          channel: 'ecommerce',
          amount,
          device: bot,
          ipAddress,
          geo: r.chance(0.6) ? { city: r.pick(countryInfo(origin).cities), country: origin } : undefined,
          withVelocity: true,
          unseen: { ...unseen },
          withAccount: r.chance(0.6),
          customer: r.chance(0.2) ? { name: victim.name } : undefined,
          attributes: { threeDs: r.chance(0.9) ? 'not_attempted' : 'failed' },
          pattern: 'card_testing',
        });
      });
      at += Math.max(3_000, r.exponential(25_000));
    }
  }

  /** A cloned card or stolen credentials buying electronics or jewellery abroad, far above the victim's norm. */
  private scheduleHighValueForeign(start: number, victim: Cardholder): void {
    const r = this.rng;
    const steps = r.chance(0.3) ? 2 : 1;
    const country = r.pick(fraudCountries);
    const city = r.pick(countryInfo(country).cities);
    const inStore = r.chance(0.6);
    const device = inStore ? undefined : this.createDevice(r.pick(['mobile', 'desktop'] as const), r.int(0, 3));
    const ipAddress = inStore ? undefined : this.randomIp();
    let at = start;
    for (let i = 0; i < steps; i++) {
      this.schedule(at, (when) => {
        const cat = category(r.chance(0.55) ? 'electronics' : 'jewelry');
        const merchant = this.merchantAt(cat, country, inStore ? city : undefined);
        const amount = moneyFromUsd(clamp(r.logNormal(2800, 0.5), 1200, 12_000), countryInfo(country).currency);
        return this.compose({
          at: when,
          holder: victim,
          merchant,
          channel: inStore ? 'card_present' : 'ecommerce',
          amount,
          device,
          ipAddress,
          geo: inStore || r.chance(0.6) ? { city, country } : undefined,
          withVelocity: r.chance(0.9),
          withAccount: r.chance(0.6),
          customer: r.chance(0.3) ? this.customerDetails(victim) : undefined,
          attributes: inStore
            ? {
                posEntryMode: r.weighted([
                  ['magstripe', 0.6],
                  ['manual', 0.2],
                  ['chip', 0.2],
                ] as const),
              }
            : { threeDs: r.chance(0.8) ? 'not_attempted' : 'attempted' },
          pattern: 'high_value_foreign',
        });
      });
      at += r.range(10, 40) * 60_000;
    }
  }

  /** Several purchases on one card within minutes, each at a different merchant, before the card is blocked. */
  private scheduleBurst(start: number, victim: Cardholder): void {
    const r = this.rng;
    const steps = r.int(4, 8);
    const inStore = r.chance(0.5);
    const city = r.chance(0.5) ? victim.city : r.pick(countryInfo(victim.home).cities);
    const device = inStore ? undefined : this.createDevice(r.pick(['mobile', 'desktop'] as const), r.int(0, 3));
    const ipAddress = inStore ? undefined : this.randomIp();
    const kinds = inStore
      ? ['electronics', 'department_store', 'jewelry', 'grocery', 'fuel', 'pharmacy']
      : ['electronics', 'online_marketplace', 'department_store', 'digital_goods', 'jewelry'];
    const used = new Set<string>();
    // Attempts the stream never shows (a decline at a till, a failed online checkout) still count for velocity.
    const unseenAttempts = r.int(0, 2);
    const unseen: UnseenActivity = {
      lastHour: unseenAttempts,
      merchantsLastHour: unseenAttempts,
      usdLast24h: unseenAttempts * r.range(40, 300),
    };
    let at = start;
    for (let i = 0; i < steps; i++) {
      this.schedule(at, (when) => {
        let merchant = this.merchantAt(category(r.pick(kinds)), victim.home, inStore ? city : undefined);
        for (let tries = 0; used.has(merchant.id) && tries < 20; tries++) {
          merchant = this.merchantAt(category(r.pick(kinds)), victim.home, inStore ? city : undefined);
        }
        used.add(merchant.id);
        const amount = moneyFromUsd(clamp(r.logNormal(220, 0.6), 40, 1500), countryInfo(victim.home).currency);
        return this.compose({
          at: when,
          holder: victim,
          merchant,
          channel: inStore ? 'card_present' : 'ecommerce',
          amount,
          device,
          ipAddress,
          geo: inStore && r.chance(0.7) ? { city, country: victim.home } : undefined,
          withVelocity: true,
          unseen,
          withAccount: r.chance(0.6),
          customer: r.chance(0.3) ? this.customerDetails(victim) : undefined,
          attributes: inStore
            ? {
                posEntryMode: r.weighted([
                  ['magstripe', 0.5],
                  ['contactless', 0.3],
                  ['chip', 0.2],
                ] as const),
              }
            : { threeDs: r.chance(0.8) ? 'not_attempted' : 'authenticated' },
          pattern: 'burst_on_card',
        });
      });
      at += Math.max(15_000, r.exponential(70_000));
    }
  }

  /**
   * Someone else logs into the account from a new device abroad, changes contact details and moves money out:
   * often a small test transfer first, then the real one.
   */
  private scheduleAccountTakeover(start: number, victim: Cardholder): void {
    const r = this.rng;
    const steps = r.int(1, 3);
    const device = this.createDevice(r.pick(['mobile', 'desktop'] as const), 0);
    const ipAddress = this.randomIp();
    const origin = r.pick(fraudCountries);
    const city = r.pick(countryInfo(origin).cities);
    const changedEmail = `${r.chars(LOWER_ALNUM, 10)}@example.net`;
    const profileChangedAt = start - r.range(0.2, 12) * HOUR_MS;
    const currency = countryInfo(victim.home).currency;
    let at = start;
    for (let i = 0; i < steps; i++) {
      const isTest = steps > 1 && i === 0;
      this.schedule(at, (when) => {
        const viaTransfer = r.chance(0.6);
        // A direct transfer may go to a crypto exchange; a card payment out goes through a money-transfer merchant.
        const cat = category(!viaTransfer || r.chance(0.75) ? 'money_transfer' : 'quasi_cash');
        const usd = isTest ? r.range(20, 100) : clamp(r.logNormal(1500, 0.6), 300, 9000);
        return this.compose({
          at: when,
          holder: victim,
          merchant: this.merchantAt(cat, victim.home),
          channel: viaTransfer ? 'transfer' : 'ecommerce',
          amount: moneyFromUsd(usd, currency),
          device,
          ipAddress,
          geo: { city, country: origin },
          withVelocity: r.chance(0.9),
          withAccount: true,
          customer: r.chance(0.5) ? { name: victim.name, email: changedEmail } : undefined,
          attributes: { profileChangedHoursAgo: Math.round((when - profileChangedAt) / HOUR_MS) },
          pattern: 'account_takeover',
        });
      });
      at += r.range(3, 15) * 60_000;
    }
  }
}

/**
 * A deterministic stream of realistic synthetic transactions; every event carries its ground truth in `label`
 * (`source: 'synthetic'`, and the fraud pattern when it is fraud).
 */
export function createTransactionGenerator(opts: TransactionGeneratorOptions = {}): TransactionGenerator {
  const stream = new SyntheticStream(opts);
  return { next: () => stream.next() };
}
