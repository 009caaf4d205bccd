/**
 * Batch replay's card history: the features it gives are the pure function's over each card's earlier events,
 * redelivered transactions are recorded once, and it trims like the online store.
 */
import { describe, expect, it } from 'vitest';
import { computeCardFeatures, historyEntryFor } from '../../src/features/card-history';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { TransactionEvent } from '../../src/schemas/transaction-event';

const start = Date.parse('2025-03-03T08:00:00Z');
const minute = 60_000;

/** A card-present purchase `minutes` after the start; merchants, countries and places vary with `n`. */
function txn(card: string, id: string, minutes: number, n = minutes): TransactionEvent {
  const cities = [
    { lat: 40.7128, lon: -74.006, country: 'US' },
    { lat: 51.5074, lon: -0.1278, country: 'GB' },
    { lat: 48.8566, lon: 2.3522, country: 'FR' },
  ] as const;
  const city = cities[n % 3] ?? cities[0];
  return TransactionEvent.parse({
    transactionId: id,
    occurredAt: new Date(start + minutes * minute).toISOString(),
    amount: { minor: 150 + ((n * 3137) % 40_000), currency: n % 4 === 0 ? 'EUR' : 'USD' },
    cardToken: card,
    customerId: `cus-${card}`,
    merchant: { id: `m-${n % 5}`, name: `Merchant ${n % 5}`, mcc: n % 2 ? '5411' : '5812', country: city.country },
    channel: 'card_present',
    ...(n % 3 === 2 ? {} : { geo: { lat: city.lat, lon: city.lon } }),
  });
}

describe('ReplayCardHistory', () => {
  it('gives each transaction the pure features of its card’s earlier transactions', () => {
    const events = Array.from({ length: 14 }, (_, i) => txn(i % 3 === 0 ? 'card-b' : 'card-a', `t${i}`, i * 17));
    const replay = new ReplayCardHistory();
    events.forEach((event, i) => {
      const earlier = events.slice(0, i).filter((e) => e.cardToken === event.cardToken);
      const expected = computeCardFeatures(earlier.map(historyEntryFor), event);
      expect(replay.featuresFor(event), event.transactionId).toEqual(expected);
    });
    expect(replay.retained('card-a')).toHaveLength(9);
    expect(replay.retained('card-b')).toHaveLength(5);
    // The last card-a transaction saw eight before it, the first saw none.
    expect(replay.featuresFor(events[13] as TransactionEvent).historyCount).toBe(8);
    expect(replay.featuresFor(events[1] as TransactionEvent).historyCount).toBe(0);
  });

  it('records a repeated transactionId once and answers it with its first features', () => {
    const replay = new ReplayCardHistory();
    const [a, b, c, d] = [txn('card', 'a', 0), txn('card', 'b', 5), txn('card', 'c', 9), txn('card', 'd', 12)];
    replay.featuresFor(a);
    const first = replay.featuresFor(b);
    replay.featuresFor(c);
    expect(first.historyCount).toBe(1);
    expect(replay.featuresFor(b)).toEqual(first); // redelivered after c: c is not in its history
    expect(replay.featuresFor(b)).toEqual(first);
    expect(replay.retained('card').map((e) => e.transactionId)).toEqual(['a', 'b', 'c']);
    const later = replay.featuresFor(d);
    expect(later.historyCount).toBe(3);
    expect(later.txnCount1h).toBe(3);
  });

  it('keeps cards apart', () => {
    const replay = new ReplayCardHistory();
    replay.featuresFor(txn('card-1', 'x1', 0));
    replay.featuresFor(txn('card-1', 'x2', 1));
    expect(replay.featuresFor(txn('card-2', 'y1', 2)).historyCount).toBe(0);
    expect(replay.cardCount).toBe(2);
  });

  it('hides a late arrival’s later-stamped predecessors from it', () => {
    const replay = new ReplayCardHistory();
    replay.featuresFor(txn('card', 'at-10', 10));
    expect(replay.featuresFor(txn('card', 'at-5', 5)).historyCount).toBe(0);
    const next = replay.featuresFor(txn('card', 'at-20', 20));
    expect(next.historyCount).toBe(2);
    expect(next.secondsSincePrevious).toBe(600);
  });

  it('trims a card to maxCount + countMargin, keeping the latest', () => {
    const replay = new ReplayCardHistory({
      window: { maxAgeMs: 30 * 86_400_000, maxCount: 3 },
      retention: { countMargin: 2 },
    });
    const features = Array.from({ length: 10 }, (_, i) => replay.featuresFor(txn('card', `n${i}`, i)));
    expect(features.map((f) => f.historyCount)).toEqual([0, 1, 2, 3, 3, 3, 3, 3, 3, 3]);
    expect(replay.retained('card').map((e) => e.transactionId)).toEqual(['n5', 'n6', 'n7', 'n8', 'n9']);
  });

  it('trims entries older than the newest minus maxAge minus ageSlack', () => {
    const replay = new ReplayCardHistory({
      window: { maxAgeMs: 60 * minute, maxCount: 256 },
      retention: { ageSlackMs: 10 * minute },
    });
    for (const m of [0, 30, 35, 65, 80]) replay.featuresFor(txn('card', `m${m}`, m));
    expect(replay.retained('card').map((e) => e.transactionId)).toEqual(['m30', 'm35', 'm65', 'm80']);
    const f = replay.featuresFor(txn('card', 'm100', 100)); // cutoff 30: m30 goes (at exactly the cutoff), m35 stays
    expect(replay.retained('card').map((e) => e.transactionId)).toEqual(['m35', 'm65', 'm80', 'm100']);
    expect(f.historyCount).toBe(2); // m65 and m80: m35 is kept only as slack, outside the 60-minute window
  });

  it('forgets a card idle for longer than maxAge + ageSlack in event time', () => {
    const replay = new ReplayCardHistory({
      window: { maxAgeMs: 60 * minute, maxCount: 256 },
      retention: { ageSlackMs: 0 },
      sweepEvery: 1,
    });
    replay.featuresFor(txn('idle', 'i1', 0));
    replay.featuresFor(txn('busy', 'b1', 30));
    expect(replay.cardCount).toBe(2);
    replay.featuresFor(txn('busy', 'b2', 60));
    expect(replay.cardCount).toBe(1);
    expect(replay.retained('idle')).toEqual([]);
    expect(replay.featuresFor(txn('idle', 'i2', 61)).historyCount).toBe(0);
  });
});
