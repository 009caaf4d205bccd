/**
 * How much of a card's history the feature store and batch replay keep: the same rules in both (the store's Lua
 * script mirrors {@link retainedStart}), so replayed features equal streamed ones and memory stays bounded per card.
 */
import type { CardHistoryEntry } from '../schemas/card-features';
import type { FeatureWindow } from './card-history';

const dayMs = 24 * 60 * 60_000;

/**
 * What is kept beyond the feature window, so a retried or redelivered transaction still finds every entry its
 * first call saw. Exact guarantee: a retry of transaction X (occurredAt t) is given the same history as its first
 * call while (a) fewer than `countMargin` other entries of the card arrived after X or are ordered after X, (b) no
 * entry of the card occurred more than `ageSlackMs` after t, and (c) the card was not idle for `maxAgeMs +
 * ageSlackMs` (the store's TTL). Past that, a retry can see fewer entries; an X that was itself trimmed away is
 * appended again as new.
 */
export interface HistoryRetention {
  /** Entries kept beyond the window's `maxCount`. @default 32 */
  countMargin: number;
  /** Time kept beyond the window's `maxAgeMs`, measured back from the card's newest occurredAt. @default 1 day */
  ageSlackMs: number;
}

export const defaultHistoryRetention: Readonly<HistoryRetention> = { countMargin: 32, ageSlackMs: dayMs };

/** How long an idle card's history lives: `maxAgeMs + ageSlackMs` (30 days + 1 day by default). */
export function retentionTtlMs(window: FeatureWindow, retention: HistoryRetention): number {
  return window.maxAgeMs + retention.ageSlackMs;
}

/**
 * How many of the oldest entries to drop from a card's history, given in `compareEntries` order (oldest
 * first): those with occurredAt ≤ newest − maxAge − ageSlack, and then any beyond the latest `maxCount +
 * countMargin`.
 */
export function retainedStart(
  sorted: readonly Pick<CardHistoryEntry, 'occurredAtMs'>[],
  window: FeatureWindow,
  retention: HistoryRetention,
): number {
  const newest = sorted.at(-1);
  if (newest === undefined) return 0;
  const cutoff = newest.occurredAtMs - window.maxAgeMs - retention.ageSlackMs;
  let aged = 0;
  while (aged < sorted.length && (sorted[aged]?.occurredAtMs ?? Infinity) <= cutoff) aged++;
  return Math.max(aged, sorted.length - (window.maxCount + retention.countMargin));
}
