/**
 * Point-in-time card features from a card's history: pure (no I/O, no clock), free of zod at runtime, so workflows,
 * the online store's activity and batch replay all compute features with this one function.
 */
import type { CardFeatures, CardHistoryEntry } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';
import { amountInUsd } from './usd-rates';

export type { CardFeatures, CardHistoryEntry } from '../schemas/card-features';

const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
const dayMs = 24 * hourMs;

/** Which history a transaction's features are computed from. */
export interface FeatureWindow {
  /** Entries older than this, relative to the transaction, are left out. @default 30 days */
  maxAgeMs: number;
  /** At most this many of the latest entries are used. @default 256 */
  maxCount: number;
}

export const defaultFeatureWindow: Readonly<FeatureWindow> = { maxAgeMs: 30 * dayMs, maxCount: 256 };

export interface FeatureOptions {
  /** Below this many US dollars a transaction counts toward `smallAmountCount10m`. @default 5 */
  smallAmountUsd?: number;
}

export const defaultSmallAmountUsd = 5;

/** occurredAt as Unix milliseconds; throws on a string TransactionEvent would have rejected. */
export function occurredAtMs(occurredAt: string): number {
  const ms = Date.parse(occurredAt);
  if (Number.isNaN(ms)) throw new Error(`occurredAt ${JSON.stringify(occurredAt)} is not an ISO 8601 date-time`);
  return ms;
}

/** The history entry a transaction leaves on its card. Location comes from `event.geo` when present. */
export function historyEntryFor(event: TransactionEvent): CardHistoryEntry {
  const entry: CardHistoryEntry = {
    transactionId: event.transactionId,
    occurredAtMs: occurredAtMs(event.occurredAt),
    amountUsd: amountInUsd(event.amount),
    merchantId: event.merchant.id,
    mcc: event.merchant.mcc,
    country: event.merchant.country,
  };
  // Absent rather than undefined, so an entry equals itself after a JSON round trip through the store.
  if (event.merchant.category !== undefined) entry.category = event.merchant.category;
  if (event.geo) {
    entry.lat = event.geo.lat;
    entry.lon = event.geo.lon;
  }
  return entry;
}

/**
 * History order: by occurredAt, then by transactionId (code-unit order, which is Redis's byte order for the ASCII
 * ids TransactionEvent allows), so equal times always break the same way.
 */
export function compareEntries(a: CardHistoryEntry, b: CardHistoryEntry): number {
  if (a.occurredAtMs !== b.occurredAtMs) return a.occurredAtMs - b.occurredAtMs;
  return a.transactionId < b.transactionId ? -1 : a.transactionId > b.transactionId ? 1 : 0;
}

/**
 * The part of `history` a transaction at `atMs` sees, oldest first: entries with occurredAt in (atMs − maxAge,
 * atMs], other than `transactionId` itself, then the latest `maxCount` in {@link compareEntries} order. Entries
 * stamped after the transaction (late arrivals of earlier-received events) are never visible to it.
 */
export function windowedHistory(
  history: readonly CardHistoryEntry[],
  atMs: number,
  transactionId: string,
  window: FeatureWindow = defaultFeatureWindow,
): CardHistoryEntry[] {
  const since = atMs - window.maxAgeMs;
  const visible = history
    .filter((e) => e.occurredAtMs <= atMs && e.occurredAtMs > since && e.transactionId !== transactionId)
    .sort(compareEntries);
  return window.maxCount > 0 ? visible.slice(-window.maxCount) : [];
}

/** Mean Earth radius (IUGG), km. */
const earthRadiusKm = 6371.0088;

/** Great-circle distance in kilometres between two points given in degrees. */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * earthRadiusKm * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The hour written in an ISO 8601 date-time, which is the local hour in the string's own UTC offset. */
export function localHourOf(occurredAt: string): number {
  const match = /T(\d{2}):/.exec(occurredAt);
  const hour = match ? Number(match[1]) : NaN;
  if (!(hour >= 0 && hour <= 23)) throw new Error(`occurredAt ${JSON.stringify(occurredAt)} has no hour 00-23`);
  return hour;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f + 0; // + 0 turns -0 into 0
}

function sumUsd(entries: readonly CardHistoryEntry[]): number {
  return entries.reduce((sum, e) => sum + e.amountUsd, 0);
}

function sameCategory(a: CardHistoryEntry, b: CardHistoryEntry): boolean {
  return a.category !== undefined && b.category !== undefined ? a.category === b.category : a.mcc === b.mcc;
}

function hasLocation(e: CardHistoryEntry): e is CardHistoryEntry & { lat: number; lon: number } {
  return e.lat !== undefined && e.lon !== undefined;
}

function latestLocated(
  entries: readonly CardHistoryEntry[],
): (CardHistoryEntry & { lat: number; lon: number }) | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e && hasLocation(e)) return e;
  }
  return undefined;
}

/** Mean, and z-score of `amount` against the sample standard deviation; null where undefined. */
function amountStatistics(amounts: readonly number[], amount: number): { ratio: number | null; z: number | null } {
  const n = amounts.length;
  if (n === 0) return { ratio: null, z: null };
  const mean = amounts.reduce((s, a) => s + a, 0) / n;
  const ratio = mean > 0 ? amount / mean : null;
  if (n < 2) return { ratio, z: null };
  const sd = Math.sqrt(amounts.reduce((s, a) => s + (a - mean) ** 2, 0) / (n - 1));
  // Identical amounts leave rounding noise, not spread: below a hundredth of a cent there is no z-score.
  return { ratio, z: sd > 1e-4 ? (amount - mean) / sd : null };
}

/**
 * Features of the card of `event` before it, from `history`: the entries that arrived before this transaction, in
 * any order and unfiltered; the window is applied here ({@link windowedHistory}).
 */
export function computeCardFeatures(
  history: readonly CardHistoryEntry[],
  event: TransactionEvent,
  window: FeatureWindow = defaultFeatureWindow,
  options: FeatureOptions = {},
): CardFeatures {
  const current = historyEntryFor(event);
  const at = current.occurredAtMs;
  const past = windowedHistory(history, at, current.transactionId, window);
  const within = (ms: number) => past.filter((e) => e.occurredAtMs > at - ms);
  const lastHour = within(hourMs);
  const lastDay = within(dayMs);
  const lastWeek = within(7 * dayMs);
  const previous = past.at(-1);
  const stats = amountStatistics(
    past.map((e) => e.amountUsd),
    current.amountUsd,
  );

  let distanceKm: number | null = null;
  let speedKmh: number | null = null;
  const located = latestLocated(past);
  if (located && hasLocation(current)) {
    distanceKm = haversineKm(located.lat, located.lon, current.lat, current.lon);
    const elapsedS = Math.max((at - located.occurredAtMs) / 1000, 60);
    speedKmh = distanceKm / (elapsedS / 3600);
  }

  const smallAmountUsd = options.smallAmountUsd ?? defaultSmallAmountUsd;
  return {
    txnCount1h: lastHour.length,
    txnCount24h: lastDay.length,
    txnCount7d: lastWeek.length,
    amountSum1hUsd: round(sumUsd(lastHour), 2),
    amountSum24hUsd: round(sumUsd(lastDay), 2),
    amountSum7dUsd: round(sumUsd(lastWeek), 2),
    historyCount: past.length,
    amountRatioToMean: stats.ratio === null ? null : round(stats.ratio, 4),
    amountZScore: stats.z === null ? null : round(stats.z, 4),
    secondsSincePrevious: previous ? (at - previous.occurredAtMs) / 1000 : null,
    distinctMerchants24h: new Set(lastDay.map((e) => e.merchantId)).size,
    distinctCountries24h: new Set(lastDay.map((e) => e.country)).size,
    firstTimeMerchant: !past.some((e) => e.merchantId === current.merchantId),
    firstTimeCategory: !past.some((e) => sameCategory(e, current)),
    firstTimeCountry: !past.some((e) => e.country === current.country),
    distanceKmFromPrevious: distanceKm === null ? null : round(distanceKm, 2),
    speedKmhFromPrevious: speedKmh === null ? null : round(speedKmh, 2),
    localHour: localHourOf(event.occurredAt),
    smallAmountCount10m: within(10 * minuteMs).filter((e) => e.amountUsd < smallAmountUsd).length,
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function formatElapsed(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/**
 * One compact, deterministic line for a model prompt, e.g. `card history: 3 txns/1h, 5/24h, 12/7d; USD 412.50/24h;
 * amount 4.2× mean (z 2.1); 35 s since previous; 2 merchants/24h; 1 country/24h; new merchant, new country; 812 km
 * from previous at 1450 km/h; 2 small amounts/10m; local hour 03`. Parts that do not apply are left out.
 */
export function formatFeatureLine(f: CardFeatures): string {
  const parts: string[] = [];
  if (f.historyCount === 0) {
    parts.push('no earlier transactions');
  } else {
    parts.push(`${plural(f.txnCount1h, 'txn', 'txns')}/1h, ${f.txnCount24h}/24h, ${f.txnCount7d}/7d`);
    parts.push(`USD ${f.amountSum24hUsd.toFixed(2)}/24h`);
    if (f.amountRatioToMean !== null) {
      const z = f.amountZScore === null ? '' : ` (z ${f.amountZScore.toFixed(1)})`;
      parts.push(`amount ${f.amountRatioToMean.toFixed(1)}× mean${z}`);
    }
    if (f.secondsSincePrevious !== null) parts.push(`${formatElapsed(f.secondsSincePrevious)} since previous`);
    parts.push(`${plural(f.distinctMerchants24h, 'merchant', 'merchants')}/24h`);
    parts.push(`${plural(f.distinctCountries24h, 'country', 'countries')}/24h`);
    const firsts = [
      f.firstTimeMerchant && 'new merchant',
      f.firstTimeCategory && 'new category',
      f.firstTimeCountry && 'new country',
    ].filter((s): s is string => typeof s === 'string');
    if (firsts.length > 0) parts.push(firsts.join(', '));
    if (f.distanceKmFromPrevious !== null && f.speedKmhFromPrevious !== null) {
      const km = Math.round(f.distanceKmFromPrevious);
      parts.push(`${km} km from previous at ${Math.round(f.speedKmhFromPrevious)} km/h`);
    }
    if (f.smallAmountCount10m > 0) parts.push(`${plural(f.smallAmountCount10m, 'small amount', 'small amounts')}/10m`);
  }
  parts.push(`local hour ${String(f.localHour).padStart(2, '0')}`);
  return `card history: ${parts.join('; ')}`;
}
