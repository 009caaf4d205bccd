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
import type { Channel, TransactionEvent } from '../../schemas/transaction-event';
import { ALNUM, LOWER_ALNUM, Random, clamp, fnv1a } from './random';
import type { Weighted } from './random';
import {
  DAY_MS,
  HOUR_MS,
  activityAt,
  category,
  countryInfo,
  homeCategoryWeights,
  meanHourlyActivity,
  moneyFromMajor,
  moneyFromUsd,
  travelCategoryWeights,
  usdOf,
  usdRate,
} from './reference';
import {
  firstNames,
  fraudCountries,
  headlessUserAgent,
  homeCountries,
  lastNames,
  travelDestinations,
  userAgents,
} from './tables';
import type { Category, City, FraudPattern } from './tables';

export { fraudPatterns } from './tables';
export { mulberry32 } from './random';

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
