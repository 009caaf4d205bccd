/**
 * Card history for batch replay: the in-memory twin of the online store (src/features/store.ts). Same arrival
 * semantics, same idempotence by transactionId, same trimming, same pure feature function, so a backtest sees the
 * features streaming would have seen for the same sequence of events.
 */
import type { CardFeatures, CardHistoryEntry, FeatureOptions, FeatureWindow } from './card-history';
import { compareEntries, computeCardFeatures, defaultFeatureWindow, historyEntryFor } from './card-history';
import type { HistoryRetention } from './retention';
import { defaultHistoryRetention, retainedStart, retentionTtlMs } from './retention';
import type { TransactionEvent } from '../schemas/transaction-event';

export interface ReplayCardHistoryOptions {
  /** @default defaultFeatureWindow (30 days, 256 entries) */
  window?: FeatureWindow;
  /** @default defaultHistoryRetention (32 entries, 1 day) */
  retention?: Partial<HistoryRetention>;
  features?: FeatureOptions;
  /** New transactions between two sweeps for idle cards. @default 10_000 */
  sweepEvery?: number;
}

interface ArrivedEntry {
  /** Arrival order on the card, from 1, as the store's per-card sequence. */
  seq: number;
  entry: CardHistoryEntry;
}

interface CardLedger {
  lastSeq: number;
  /** Retained entries in compareEntries order. */
  entries: ArrivedEntry[];
  /** transactionId → seq of the retained entries. */
  seqs: Map<string, number>;
}

export class ReplayCardHistory {
  private readonly cards = new Map<string, CardLedger>();
  private readonly window: FeatureWindow;
  private readonly retention: HistoryRetention;
  private readonly features: FeatureOptions;
  private readonly sweepEvery: number;
  private newestMs = -Infinity;
  private sinceSweep = 0;

  constructor(options: ReplayCardHistoryOptions = {}) {
    this.window = options.window ?? defaultFeatureWindow;
    this.retention = { ...defaultHistoryRetention, ...options.retention };
    this.features = options.features ?? {};
    this.sweepEvery = options.sweepEvery ?? 10_000;
  }

  /**
   * Features of `event` from what this card's earlier events left, then records it. A transactionId seen before
   * is not recorded again, and gets the history its first call had (within the retention guarantee).
   */
  featuresFor(event: TransactionEvent): CardFeatures {
    const card = this.ledgerOf(event.cardToken);
    const seenSeq = card.seqs.get(event.transactionId);
    const history =
      seenSeq === undefined
        ? card.entries.map((a) => a.entry)
        : card.entries.filter((a) => a.seq < seenSeq).map((a) => a.entry);
    if (seenSeq === undefined) this.append(card, historyEntryFor(event));
    return computeCardFeatures(history, event, this.window, this.features);
  }

  /** The entries retained for a card, oldest first. */
  retained(cardToken: string): CardHistoryEntry[] {
    return (this.cards.get(cardToken)?.entries ?? []).map((a) => a.entry);
  }

  /** Cards currently held in memory. */
  get cardCount(): number {
    return this.cards.size;
  }

  private ledgerOf(cardToken: string): CardLedger {
    let card = this.cards.get(cardToken);
    if (card === undefined) {
      card = { lastSeq: 0, entries: [], seqs: new Map() };
      this.cards.set(cardToken, card);
    }
    return card;
  }

  private append(card: CardLedger, entry: CardHistoryEntry): void {
    const arrived = { seq: ++card.lastSeq, entry };
    // Binary search for the insertion point: events mostly arrive in time order, so this is usually the end.
    let lo = 0;
    let hi = card.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = card.entries[mid];
      if (at !== undefined && compareEntries(at.entry, entry) <= 0) lo = mid + 1;
      else hi = mid;
    }
    card.entries.splice(lo, 0, arrived);
    card.seqs.set(entry.transactionId, arrived.seq);
    const drop = retainedStart(
      card.entries.map((a) => a.entry),
      this.window,
      this.retention,
    );
    for (const gone of card.entries.splice(0, drop)) card.seqs.delete(gone.entry.transactionId);

    this.newestMs = Math.max(this.newestMs, entry.occurredAtMs);
    if (++this.sinceSweep >= this.sweepEvery) this.sweepIdleCards();
  }

  /**
   * The store's TTL in event time: a card whose newest entry is older than the newest event seen minus `maxAge +
   * ageSlack` is forgotten. For input in time order (out of order by less than `ageSlack`) that changes no feature,
   * since every entry it held is outside the window of any later transaction of that card.
   */
  private sweepIdleCards(): void {
    this.sinceSweep = 0;
    const cutoff = this.newestMs - retentionTtlMs(this.window, this.retention);
    for (const [token, card] of this.cards) {
      const newest = card.entries.at(-1)?.entry.occurredAtMs ?? -Infinity;
      if (newest <= cutoff) this.cards.delete(token);
    }
  }
}
