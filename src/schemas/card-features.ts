/**
 * Card features: what a card did BEFORE the transaction being scored, computed point-in-time from its history
 * (src/features/card-history.ts). The same function serves the online store and batch replay, so a backtest sees
 * exactly the features streaming would have seen. Workflow code imports these types only (`import type`): the
 * workflow bundle must not contain zod.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const usd = z.number().nonnegative();

/** One past transaction of a card, as the feature store keeps it. */
export const CardHistoryEntry = z.object({
  transactionId: z.string().min(1).max(128),
  /** occurredAt as Unix milliseconds. */
  occurredAtMs: z.number().int(),
  /** The amount at the static reference rates of src/features/usd-rates.ts. */
  amountUsd: usd,
  merchantId: z.string().min(1),
  mcc: z.string(),
  category: z.string().optional(),
  /** The merchant's country (always present on an event, unlike geo.country). */
  country: z.string(),
  /** Where the transaction happened (the event's geo), when known; both or neither. */
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
});
export type CardHistoryEntry = z.infer<typeof CardHistoryEntry>;

/**
 * Features of a card before the current transaction. Windows end at the transaction's time, include it and exclude
 * their start: `txnCount1h` counts history entries with occurredAt in (t − 1 h, t]. Everything is computed from the
 * card's windowed history (at most 30 days and 256 entries by default), so counts saturate at that many entries.
 * Numbers are rounded so they serialize stably and read well: USD to cents, ratios and z-scores to four decimals,
 * kilometres and km/h to two.
 */
export const CardFeatures = z.object({
  txnCount1h: count,
  txnCount24h: count,
  txnCount7d: count,
  amountSum1hUsd: usd,
  amountSum24hUsd: usd,
  amountSum7dUsd: usd,
  /** Entries in the feature window (the history every other feature is computed from). */
  historyCount: count,
  /** This amount divided by the mean amount of the history; null without history (or when that mean is 0). */
  amountRatioToMean: z.number().nonnegative().nullable(),
  /** (amount − mean) / sample standard deviation of the history; null with fewer than 2 entries or no spread. */
  amountZScore: z.number().nullable(),
  /** Seconds since the latest history entry; null without history. */
  secondsSincePrevious: z.number().nonnegative().nullable(),
  distinctMerchants24h: count,
  /** Distinct merchant countries in the last 24 hours. */
  distinctCountries24h: count,
  /** No history entry at this merchant (true with empty history). */
  firstTimeMerchant: z.boolean(),
  /**
   * No history entry in this category (true with empty history). Two transactions share a category when both name
   * the same `category`, or, when either lacks one, when their MCCs are equal.
   */
  firstTimeCategory: z.boolean(),
  /** No history entry in this merchant country (true with empty history). */
  firstTimeCountry: z.boolean(),
  /**
   * Great-circle (haversine) distance from the latest history entry that had a location to this transaction; null
   * when either has none.
   */
  distanceKmFromPrevious: z.number().nonnegative().nullable(),
  /** That distance over the time between the two, at least 60 s (two taps a second apart are not infinitely fast). */
  speedKmhFromPrevious: z.number().nonnegative().nullable(),
  /** Hour of occurredAt in its own UTC offset: `2025-03-01T23:30:00-05:00` is 23. */
  localHour: z.number().int().min(0).max(23),
  /** History entries in the last 10 minutes below the small-amount threshold (5 USD by default): card testing. */
  smallAmountCount10m: count,
});
export type CardFeatures = z.infer<typeof CardFeatures>;
