/**
 * Reference data for the synthetic stream: countries, currencies, merchant categories, names, user agents. Pure
 * data, the same for every seed; the lookups over it live in reference.ts.
 */
import type { Channel } from '../../schemas/transaction-event';
import type { Weighted } from './random';

export const fraudPatterns = ['card_testing', 'high_value_foreign', 'burst_on_card', 'account_takeover'] as const;
export type FraudPattern = (typeof fraudPatterns)[number];

export interface City {
  name: string;
  lat: number;
  lon: number;
}

export interface CountryInfo {
  /** Currency merchants there charge in. Outside the four core currencies we assume prices in USD. */
  currency: 'USD' | 'EUR' | 'GBP' | 'JPY';
  /** Standard-time offset; daylight saving does not matter for spending curves. */
  utcOffsetHours: number;
  cities: readonly City[];
}

export const countries: Readonly<Record<string, CountryInfo>> = {
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

export const homeCountries: Weighted<string> = [
  ['US', 0.55],
  ['GB', 0.15],
  ['DE', 0.15],
  ['FR', 0.15],
];

/** Where legitimate cardholders travel. */
export const travelDestinations: Weighted<string> = [
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
export const fraudCountries = ['NG', 'RO', 'BR', 'ID', 'VN', 'RU', 'UA', 'TH', 'AE', 'HK', 'TR', 'PH', 'MY'] as const;

/** Units of each currency per USD. Fixed, illustrative rates: this is synthetic data, not accounting. */
export const unitsPerUsd: Readonly<Record<string, number>> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 150 };

export interface Category {
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

export const categories: readonly Category[] = [
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

/** Relative spending by local hour of day: quiet at night, peaks at lunch and early evening. */
export const hourlyActivity = [
  0.15, 0.1, 0.08, 0.07, 0.08, 0.15, 0.35, 0.6, 0.8, 0.9, 1, 1.1, 1.2, 1.1, 1, 1, 1.05, 1.15, 1.2, 1.1, 0.95, 0.75, 0.5,
  0.3,
] as const;

const words = (text: string): string[] => text.split(' ');
export const firstNames = words(
  'Alex Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Robin Emma Liam Olivia Noah Mia Lucas Sophie Leon Hannah Hugo Manon Oliver Amelia Jonas',
);
export const lastNames = words(
  'Doe Roe Bloggs Mustermann Dupont Durand Sample Example Testington Placeholder Specimen Mockridge',
);

export const userAgents = {
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
export const headlessUserAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/122.0.0.0 Safari/537.36';
