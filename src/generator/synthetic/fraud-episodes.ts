/**
 * Fraud episodes on a victim's card. An episode is planned when it starts: its setup draws from the stream's PRNG at
 * once, and each step draws again when the stream reaches it, so steps interleave with legitimate traffic by time.
 */
import type { Money } from '../../schemas/money';
import { createDevice, randomIp } from './cardholders';
import type { Cardholder, Device } from './cardholders';
import { composeDraft, customerDetails } from './compose';
import type { ComposeInput, Draft, UnseenActivity } from './compose';
import { LOWER_ALNUM, clamp } from './random';
import type { Random, Weighted } from './random';
import { HOUR_MS, category, countryInfo, moneyFromUsd } from './reference';
import type { Simulation } from './simulation';
import { fraudCountries, headlessUserAgent } from './tables';
import type { FraudPattern } from './tables';

/** One step of an episode: `emit` builds its event when the stream reaches `at`, or later if the clock has passed it. */
export interface EpisodeStep {
  at: number;
  emit: (at: number) => Draft;
}

/**
 * Share of fraud events per pattern, and the mean steps of one episode (they follow from the planners below).
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
export const MEAN_EPISODE_STEPS =
  patternMix.reduce((sum, p) => sum + p.eventShare, 0) /
  patternMix.reduce((sum, p) => sum + p.eventShare / p.meanSteps, 0);

type EpisodePlanner = (sim: Simulation, start: number, victim: Cardholder) => EpisodeStep[];

/** A fraud episode starting at `start` on a random victim's card, its pattern drawn by `patternMix`. */
export function planFraudEpisode(sim: Simulation, start: number): EpisodeStep[] {
  const pattern = sim.rng.weighted(patternStartWeights);
  const victim = sim.rng.pick(sim.population.cardholders);
  return planners[pattern](sim, start, victim);
}

/** A bot checks a stolen card with tiny digital purchases, seconds apart, while declines pile up elsewhere. */
function planCardTesting(sim: Simulation, start: number, victim: Cardholder): EpisodeStep[] {
  const r = sim.rng;
  const steps = r.int(4, 9);
  const bot = createDevice(r, 'desktop', 0);
  if (r.chance(0.3)) bot.userAgent = headlessUserAgent;
  const ipAddress = randomIp(r);
  const origin = r.pick(fraudCountries);
  const digital = category('digital_goods');
  const declinedBefore = r.int(6, 20);
  const unseen: UnseenActivity = {
    lastHour: declinedBefore,
    merchantsLastHour: r.int(2, 6),
    usdLast24h: declinedBefore * 1.5,
  };
  const nextGap = () => Math.max(3_000, r.exponential(25_000));
  return planSteps(start, steps, nextGap, (when) => {
    const merchant = sim.merchants.pick(digital, r.pick(['US', 'IE', 'LU']));
    const amount: Money = { minor: r.chance(0.4) ? 100 : r.int(50, 299), currency: 'USD' };
    const declinedMeanwhile = r.int(0, 2);
    unseen.lastHour += declinedMeanwhile;
    unseen.usdLast24h += declinedMeanwhile * 1.5;
    return composeDraft(r, {
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
}

/** A cloned card or stolen credentials buying electronics or jewellery abroad, far above the victim's norm. */
function planHighValueForeign(sim: Simulation, start: number, victim: Cardholder): EpisodeStep[] {
  const r = sim.rng;
  const steps = r.chance(0.3) ? 2 : 1;
  const country = r.pick(fraudCountries);
  const city = r.pick(countryInfo(country).cities);
  const inStore = r.chance(0.6);
  const use: StolenCardUse = {
    pattern: 'high_value_foreign',
    victim,
    inStore,
    ...fraudsterAccess(r, inStore),
    posEntryModes: [
      ['magstripe', 0.6],
      ['manual', 0.2],
      ['chip', 0.2],
    ],
    threeDsWhenTried: 'attempted',
  };
  const nextGap = () => r.range(10, 40) * 60_000;
  return planSteps(start, steps, nextGap, (when) => {
    const cat = category(r.chance(0.55) ? 'electronics' : 'jewelry');
    const merchant = sim.merchants.pick(cat, country, inStore ? city : undefined);
    const amount = moneyFromUsd(clamp(r.logNormal(2800, 0.5), 1200, 12_000), countryInfo(country).currency);
    return composeStolenCardUse(r, use, {
      at: when,
      merchant,
      amount,
      geo: inStore || r.chance(0.6) ? { city, country } : undefined,
      withVelocity: r.chance(0.9),
    });
  });
}

/** Several purchases on one card within minutes, each at a different merchant, before the card is blocked. */
function planBurst(sim: Simulation, start: number, victim: Cardholder): EpisodeStep[] {
  const r = sim.rng;
  const steps = r.int(4, 8);
  const inStore = r.chance(0.5);
  const city = r.chance(0.5) ? victim.city : r.pick(countryInfo(victim.home).cities);
  const use: StolenCardUse = {
    pattern: 'burst_on_card',
    victim,
    inStore,
    ...fraudsterAccess(r, inStore),
    posEntryModes: [
      ['magstripe', 0.5],
      ['contactless', 0.3],
      ['chip', 0.2],
    ],
    threeDsWhenTried: 'authenticated',
  };
  const kinds = inStore
    ? ['electronics', 'department_store', 'jewelry', 'grocery', 'fuel', 'pharmacy']
    : ['electronics', 'online_marketplace', 'department_store', 'digital_goods', 'jewelry'];
  const anyShop = () => sim.merchants.pick(category(r.pick(kinds)), victim.home, inStore ? city : undefined);
  const used = new Set<string>();
  // Attempts the stream never shows (a decline at a till, a failed online checkout) still count for velocity.
  const unseenAttempts = r.int(0, 2);
  const unseen: UnseenActivity = {
    lastHour: unseenAttempts,
    merchantsLastHour: unseenAttempts,
    usdLast24h: unseenAttempts * r.range(40, 300),
  };
  const nextGap = () => Math.max(15_000, r.exponential(70_000));
  return planSteps(start, steps, nextGap, (when) => {
    // A different shop each time, up to a bound: a city may have fewer shops of these kinds than the burst has steps.
    let merchant = anyShop();
    for (let tries = 0; used.has(merchant.id) && tries < 20; tries++) merchant = anyShop();
    used.add(merchant.id);
    const amount = moneyFromUsd(clamp(r.logNormal(220, 0.6), 40, 1500), countryInfo(victim.home).currency);
    return composeStolenCardUse(r, use, {
      at: when,
      merchant,
      amount,
      geo: inStore && r.chance(0.7) ? { city, country: victim.home } : undefined,
      withVelocity: true,
      unseen,
    });
  });
}

/**
 * Someone else logs into the account from a new device abroad, changes contact details and moves money out:
 * often a small test transfer first, then the real one.
 */
function planAccountTakeover(sim: Simulation, start: number, victim: Cardholder): EpisodeStep[] {
  const r = sim.rng;
  const steps = r.int(1, 3);
  const device = createDevice(r, r.pick(['mobile', 'desktop'] as const), 0);
  const ipAddress = randomIp(r);
  const origin = r.pick(fraudCountries);
  const city = r.pick(countryInfo(origin).cities);
  const changedEmail = `${r.chars(LOWER_ALNUM, 10)}@example.net`;
  const profileChangedAt = start - r.range(0.2, 12) * HOUR_MS;
  const currency = countryInfo(victim.home).currency;
  const nextGap = () => r.range(3, 15) * 60_000;
  return planSteps(start, steps, nextGap, (when, i) => {
    const isTest = steps > 1 && i === 0;
    const viaTransfer = r.chance(0.6);
    // A direct transfer may go to a crypto exchange; a card payment out goes through a money-transfer merchant.
    const cat = category(!viaTransfer || r.chance(0.75) ? 'money_transfer' : 'quasi_cash');
    const usd = isTest ? r.range(20, 100) : clamp(r.logNormal(1500, 0.6), 300, 9000);
    return composeDraft(r, {
      at: when,
      holder: victim,
      merchant: sim.merchants.pick(cat, victim.home),
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
}

const planners: Readonly<Record<FraudPattern, EpisodePlanner>> = {
  card_testing: planCardTesting,
  high_value_foreign: planHighValueForeign,
  burst_on_card: planBurst,
  account_takeover: planAccountTakeover,
};

/**
 * `count` steps from `start`. Each gap is drawn as soon as the step before it is planned, the last one included
 * though unused: every seed's stream depends on that order of draws.
 */
function planSteps(
  start: number,
  count: number,
  nextGap: () => number,
  emit: (when: number, index: number) => Draft,
): EpisodeStep[] {
  const plan: EpisodeStep[] = [];
  let at = start;
  for (let i = 0; i < count; i++) {
    plan.push({ at, emit: (when) => emit(when, i) });
    at += nextGap();
  }
  return plan;
}

/** A stolen card at a till or a web checkout, the same for every step of one episode. */
interface StolenCardUse {
  pattern: FraudPattern;
  victim: Cardholder;
  inStore: boolean;
  /** The fraudster's own device and network; only online. */
  device: Device | undefined;
  ipAddress: string | undefined;
  /** How a till reads the card (a cloned card is often swiped or keyed in). */
  posEntryModes: Weighted<string>;
  /** The 3-D Secure result of the few web checkouts that do not skip it. */
  threeDsWhenTried: string;
}

/** Online, a phone or laptop a few days old at most on a fresh IP address; in a shop, neither. */
function fraudsterAccess(r: Random, inStore: boolean): Pick<StolenCardUse, 'device' | 'ipAddress'> {
  if (inStore) return { device: undefined, ipAddress: undefined };
  return { device: createDevice(r, r.pick(['mobile', 'desktop'] as const), r.int(0, 3)), ipAddress: randomIp(r) };
}

/**
 * One purchase with a stolen card. The caller's draws (the purchase, then geo and velocity) come first; these
 * follow in a fixed order: account, customer details, how the card was presented.
 */
function composeStolenCardUse(
  r: Random,
  use: StolenCardUse,
  purchase: Pick<ComposeInput, 'at' | 'merchant' | 'amount' | 'geo' | 'withVelocity' | 'unseen'>,
): Draft {
  return composeDraft(r, {
    ...purchase,
    holder: use.victim,
    channel: use.inStore ? 'card_present' : 'ecommerce',
    device: use.device,
    ipAddress: use.ipAddress,
    withAccount: r.chance(0.6),
    customer: r.chance(0.3) ? customerDetails(r, use.victim) : undefined,
    attributes: use.inStore
      ? { posEntryMode: r.weighted(use.posEntryModes) }
      : { threeDs: r.chance(0.8) ? 'not_attempted' : use.threeDsWhenTried },
    pattern: use.pattern,
  });
}
