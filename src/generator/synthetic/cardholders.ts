/** The simulated cardholders: who they are, the devices they use, and which of them is spending at a given moment. */
import { ALNUM, clamp } from './random';
import type { Random } from './random';
import { activityAt, countryInfo, meanHourlyActivity } from './reference';
import { firstNames, homeCountries, lastNames, userAgents } from './tables';
import type { City } from './tables';

export interface Device {
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

export interface Cardholder {
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

/** Cardholders of one home country, with cumulative activity for weighted picks. */
interface Region {
  country: string;
  /** The country's UTC offset in hours, for its local time of day. */
  offset: number;
  total: number;
  cumulative: number[];
  holders: Cardholder[];
}

export interface Population {
  readonly cardholders: readonly Cardholder[];
  readonly regions: readonly Region[];
}

export function createPopulation(r: Random, size: number): Population {
  const cardholders = Array.from({ length: size }, () => createCardholder(r));
  const regions = homeCountries.map(([country]): Region => {
    const holders = cardholders.filter((h) => h.home === country);
    let total = 0;
    const cumulative = holders.map((h) => (total += h.activityPerDay));
    return { country, offset: countryInfo(country).utcOffsetHours, total, cumulative, holders };
  });
  return { cardholders, regions };
}

/** Purchases a day across the population at the pace of this moment's local time of day in each region. */
export function spendingRatePerDay(population: Population, at: number): number {
  let perDay = 0;
  for (const region of population.regions) {
    perDay += (region.total * activityAt(at, region.offset)) / meanHourlyActivity;
  }
  return perDay;
}

/** The cardholder making the next purchase: a region by its current activity, then a card by its spending rate. */
export function pickCardholder(r: Random, population: Population, at: number): Cardholder {
  const region = r.weighted(population.regions.map((g) => [g, g.total * activityAt(at, g.offset)] as const));
  const u = r.float() * region.total;
  const i = region.cumulative.findIndex((c) => c > u);
  return region.holders[i < 0 ? region.holders.length - 1 : i] ?? r.pick(population.cardholders);
}

function createCardholder(r: Random): Cardholder {
  const home = r.weighted(homeCountries);
  const info = countryInfo(home);
  const city = r.pick(info.cities);
  const first = r.pick(firstNames);
  const last = r.pick(lastNames);
  const devices: Device[] = [createDevice(r, 'mobile', r.int(30, 1500))];
  if (r.chance(0.6)) devices.push(createDevice(r, r.chance(0.8) ? 'desktop' : 'tablet', r.int(30, 2500)));
  return {
    customerId: `cus_${r.chars(ALNUM, 14)}`,
    cardToken: `tok_${r.chars(ALNUM, 24)}`,
    accountId: `acct_${r.digits(12)}`,
    home,
    city,
    activityPerDay: clamp(r.logNormal(2.2, 0.6), 0.3, 12),
    devices,
    ipAddress: randomIp(r),
    name: `${first} ${last}`,
    email: `${first}.${last}${r.int(1, 99)}@example.${r.pick(['com', 'org', 'net'])}`.toLowerCase(),
    phone: fakePhone(r, home),
    address: fakeAddress(r, home, city),
    dateOfBirth: `${r.int(1950, 2005)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`,
    history: [],
  };
}

export function createDevice(r: Random, type: Device['type'], ageDays: number): Device {
  return { id: `dev_${r.hex(16)}`, type, userAgent: r.pick(userAgents[type]), ageDays };
}

/** Documentation ranges only (RFC 5737, RFC 3849): the events never name a real host. */
export function randomIp(r: Random): string {
  if (r.chance(0.15)) return `2001:db8:${r.hex(4)}:${r.hex(4)}::${r.int(1, 0xfffe).toString(16)}`;
  return `${r.pick(['192.0.2', '198.51.100', '203.0.113'])}.${r.int(1, 254)}`;
}

/** Numbers reserved for fiction where the numbering plan has them (US 555-01xx, UK 020 7946 0xxx). */
function fakePhone(r: Random, country: string): string {
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

function fakeAddress(r: Random, country: string, city: City): string {
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
