/**
 * Everyday card activity: a cardholder buys at home or on a trip, in a shop or online, in the currency the merchant
 * charges. Each step draws from the stream's PRNG in a fixed order; reordering them changes every seed's stream.
 */
import type { Money } from '../../schemas/money';
import type { Channel } from '../../schemas/transaction-event';
import { createDevice, pickCardholder, randomIp } from './cardholders';
import type { Cardholder, Device } from './cardholders';
import { composeDraft, customerDetails } from './compose';
import type { ComposeInput, Draft } from './compose';
import type { MerchantRecord } from './merchants';
import { clamp } from './random';
import type { Random } from './random';
import {
  DAY_MS,
  countryInfo,
  homeCategoryWeights,
  moneyFromMajor,
  moneyFromUsd,
  travelCategoryWeights,
  usdRate,
} from './reference';
import type { Simulation } from './simulation';
import { travelDestinations } from './tables';
import type { Category, City } from './tables';

type Trip = NonNullable<Cardholder['trip']>;
type Place = NonNullable<ComposeInput['geo']>;

/** Where the purchase is made and what it is charged in. */
interface Checkout {
  merchant: MerchantRecord;
  currency: string;
  /** Where the cardholder is, for the event's geo. */
  where: Place;
}

/** How the card reaches the merchant: the device, the network and what the terminal or checkout reports. */
type Presentment = Pick<ComposeInput, 'device' | 'ipAddress' | 'geo' | 'attributes'>;

/** A purchase by whichever cardholder is shopping at `at`. */
export function legitimatePurchase(sim: Simulation, at: number): Draft {
  const r = sim.rng;
  const holder = pickCardholder(r, sim.population, at);
  const trip = currentTrip(r, holder, at);
  const cat = r.weighted(trip && r.chance(0.8) ? travelCategoryWeights : homeCategoryWeights);
  const channel = r.weighted(Object.entries(cat.channels) as Array<[Channel, number]>);
  const inStore = channel === 'card_present' || channel === 'atm' || (channel === 'wallet' && cat.physical);
  const checkout = inStore ? checkoutInStore(sim, holder, trip, cat) : checkoutOnline(sim, holder, trip, cat);
  const amount = amountFor(r, cat, checkout.currency);
  const presentment = inStore
    ? presentInStore(r, holder, channel, checkout.where)
    : presentOnline(r, holder, trip, cat, channel, checkout.where);
  // Genuine customers change their details too, just rarely and not hours before a big transfer.
  if (r.chance(0.003)) presentment.attributes.profileChangedHoursAgo = r.int(1, 2000);
  return composeDraft(r, {
    at,
    holder,
    merchant: checkout.merchant,
    channel,
    amount,
    ...presentment,
    withVelocity: r.chance(0.9),
    withAccount: r.chance(0.6),
    customer: r.chance(0.35) ? customerDetails(r, holder) : undefined,
  });
}

/** The cardholder's trip abroad, if one is under way: a finished trip ends, and now and then a new one starts. */
function currentTrip(r: Random, holder: Cardholder, at: number): Trip | undefined {
  if (holder.trip && holder.trip.until <= at) delete holder.trip;
  if (!holder.trip && r.chance(0.006)) {
    const destinations = travelDestinations.filter(([c]) => c !== holder.home);
    const country = r.weighted(destinations);
    holder.trip = { country, city: r.pick(countryInfo(country).cities), until: at + r.int(2, 10) * DAY_MS };
  }
  return holder.trip;
}

function checkoutInStore(sim: Simulation, holder: Cardholder, trip: Trip | undefined, cat: Category): Checkout {
  const r = sim.rng;
  const country = trip?.country ?? holder.home;
  const city: City = trip?.city ?? (r.chance(0.85) ? holder.city : r.pick(countryInfo(country).cities));
  const merchant = sim.merchants.pick(cat, country, cat.physical ? city : undefined);
  return { merchant, currency: countryInfo(country).currency, where: { city, country } };
}

function checkoutOnline(sim: Simulation, holder: Cardholder, trip: Trip | undefined, cat: Category): Checkout {
  const r = sim.rng;
  const hubs = cat.onlineHubs ?? [];
  const country = hubs.length === 0 || r.chance(0.7) ? holder.home : r.pick(hubs);
  const merchant = sim.merchants.pick(cat, country);
  // Cross-border web shops usually price in the shopper's currency.
  const currency = r.chance(0.7) ? countryInfo(holder.home).currency : countryInfo(country).currency;
  const where = trip ? { city: trip.city, country: trip.country } : { city: holder.city, country: holder.home };
  return { merchant, currency, where };
}

function amountFor(r: Random, cat: Category, currency: string): Money {
  if (cat.pricePoints) {
    const price = r.pick(cat.pricePoints);
    // Stores localise price points: 9.99 USD is 9.99 EUR or GBP, and a round yen figure.
    if (currency === 'JPY') return moneyFromMajor(Math.max(100, Math.round((price * usdRate('JPY')) / 10) * 10), 'JPY');
    return moneyFromMajor(price, currency);
  }
  const usd = clamp(r.logNormal(cat.medianUsd, cat.sigma), cat.minUsd, cat.maxUsd);
  if (cat.cash) {
    const note = currency === 'JPY' ? 10_000 : 20;
    return moneyFromMajor(Math.max(note, Math.round((usd * usdRate(currency)) / note) * note), currency);
  }
  return moneyFromUsd(usd, currency);
}

function presentInStore(r: Random, holder: Cardholder, channel: Channel, where: Place): Presentment {
  const device = channel === 'wallet' ? holder.devices[0] : undefined;
  const posEntryMode =
    channel === 'wallet'
      ? 'contactless'
      : r.weighted([
          ['chip', 0.6],
          ['contactless', 0.38],
          ['magstripe', 0.02],
        ] as const);
  const geo = r.chance(0.7) ? where : undefined;
  return { device, geo, attributes: { posEntryMode } };
}

function presentOnline(
  r: Random,
  holder: Cardholder,
  trip: Trip | undefined,
  cat: Category,
  channel: Channel,
  where: Place,
): Presentment {
  let device: Device | undefined;
  if (channel === 'wallet' || r.chance(0.75)) {
    device = r.chance(0.01)
      ? createDevice(r, r.pick(['mobile', 'desktop'] as const), r.int(0, 2))
      : r.pick(holder.devices);
  }
  const ipAddress = r.chance(0.8) ? (trip ? randomIp(r) : holder.ipAddress) : undefined;
  const geo = r.chance(0.4) ? where : undefined;
  const attributes: ComposeInput['attributes'] = {};
  if (channel === 'ecommerce') {
    attributes.threeDs = r.weighted([
      ['authenticated', 0.7],
      ['not_attempted', 0.25],
      ['failed', 0.05],
    ] as const);
  }
  if (cat.name === 'streaming') attributes.recurring = true;
  return { device, ipAddress, geo, attributes };
}
