/**
 * The online card-history store on a real Redis: atomic read-and-append per card, idempotent by transactionId,
 * trimmed like batch replay, and giving the same features as replay for the same sequence of transactions.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import type { CardFeatures, CardHistoryEntry, FeatureWindow } from '../../src/features/card-history';
import { computeCardFeatures, historyEntryFor } from '../../src/features/card-history';
import { ReplayCardHistory } from '../../src/features/replay-history';
import type { HistoryRetention } from '../../src/features/retention';
import type { RedisCardHistoryStoreOptions } from '../../src/features/store';
import { RedisCardHistoryStore } from '../../src/features/store';
import { mulberry32 } from '../../src/generator/synthetic';
import { TransactionEvent } from '../../src/schemas/transaction-event';

const url = loadConfig().featureStore.url;
const minute = 60_000;
const start = Date.parse('2025-03-03T08:00:00Z');

/** Every test's keys start with its own prefix, so tests cannot see each other's cards. */
const runPrefix = `fftest-${randomUUID().slice(0, 8)}`;
const stores: RedisCardHistoryStore[] = [];
let admin: Redis;

function openStore(options: Omit<RedisCardHistoryStoreOptions, 'url' | 'keyPrefix'> = {}): RedisCardHistoryStore {
  const store = new RedisCardHistoryStore({ ...options, url, keyPrefix: `${runPrefix}-${stores.length}` });
  stores.push(store);
  return store;
}

function entry(id: string, minutes: number, amountUsd = 10): CardHistoryEntry {
  return {
    transactionId: id,
    occurredAtMs: start + minutes * minute,
    amountUsd,
    merchantId: `m-${id}`,
    mcc: '5411',
    country: 'US',
  };
}

const ids = (entries: readonly CardHistoryEntry[]) => entries.map((e) => e.transactionId);

beforeAll(async () => {
  admin = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined); // the ping below reports it
  try {
    await admin.ping();
  } catch (err) {
    admin.disconnect();
    throw new Error(
      `the feature store Redis at ${url} is unreachable (${err instanceof Error ? err.message : String(err)}): ` +
        'start it with `bin/fraudflow stack up` or point FEATURE_STORE_URL at a running Redis 7',
    );
  }
});

afterAll(async () => {
  for (const store of stores) await store.close();
  if (admin?.status !== 'ready') return;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${runPrefix}-*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

describe('RedisCardHistoryStore', () => {
  it('answers PING and keeps a card in two hash-tagged keys', async () => {
    const store = openStore();
    await expect(store.ping()).resolves.toBeUndefined();
    const keys = store.cardKeys('tok_1');
    expect(keys.time).toMatch(/^fftest-[0-9a-f]{8}-\d+:card:\{tok_1\}:time$/);
    expect(keys.entries).toMatch(/:card:\{tok_1\}:entries$/);
  });

  it('returns an empty history for a card’s first transaction', async () => {
    const store = openStore();
    expect(await store.readAndAppend('card', entry('first', 0))).toEqual([]);
    expect(await store.retainedCount('card')).toBe(1);
  });

  it('returns the entries that arrived before, oldest first, exactly as appended', async () => {
    const store = openStore();
    const a = { ...entry('a', 0, 12.5), category: 'grocery_pos', lat: 40.7128, lon: -74.006 };
    const b = { ...entry('b', 3, 1234.5678), country: 'GB' };
    await store.readAndAppend('card', a);
    expect(await store.readAndAppend('card', b)).toEqual([a]);
    expect(await store.readAndAppend('card', entry('c', 7))).toEqual([a, b]);
    expect(await store.readAndAppend('other-card', entry('d', 8))).toEqual([]);
  });

  it('answers a retried transactionId with its first history and does not append it again', async () => {
    const store = openStore();
    await store.readAndAppend('card', entry('a', 0));
    const first = await store.readAndAppend('card', entry('b', 1));
    await store.readAndAppend('card', entry('c', 2));
    expect(await store.retainedCount('card')).toBe(3);
    const retried = await store.readAndAppend('card', entry('b', 1));
    expect(retried).toEqual(first);
    expect(ids(retried)).toEqual(['a']);
    expect(await store.retainedCount('card')).toBe(3);
    expect(ids(await store.readAndAppend('card', entry('d', 3)))).toEqual(['a', 'b', 'c']);
  });

  it('gives 20 concurrent transactions on one card 20 distinct, nested histories (atomicity)', async () => {
    const store = openStore();
    // Same occurredAt for all: every earlier arrival is visible, so history length is the arrival position.
    const histories = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.readAndAppend('card', entry(`c${String(i).padStart(2, '0')}`, 0))),
    );
    const byLength = [...histories].sort((x, y) => x.length - y.length);
    expect(byLength.map((h) => h.length)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 1; i < byLength.length; i++) {
      const shorter = new Set(ids(byLength[i - 1] ?? []));
      expect(ids(byLength[i] ?? []).filter((id) => shorter.has(id))).toHaveLength(shorter.size);
    }
    expect(await store.retainedCount('card')).toBe(20);
  });

  it('trims a card to maxCount + countMargin and returns at most maxCount entries', async () => {
    const store = openStore({ window: { maxAgeMs: 86_400_000, maxCount: 3 }, retention: { countMargin: 2 } });
    const histories: CardHistoryEntry[][] = [];
    for (let i = 0; i < 10; i++) histories.push(await store.readAndAppend('card', entry(`n${i}`, i)));
    expect(histories.map((h) => h.length)).toEqual([0, 1, 2, 3, 3, 3, 3, 3, 3, 3]);
    expect(ids(histories[9] ?? [])).toEqual(['n6', 'n7', 'n8']);
    expect(await store.retainedCount('card')).toBe(5);
    expect(await admin.zrange(store.cardKeys('card').time, '0', '-1')).toEqual(['n5', 'n6', 'n7', 'n8', 'n9']);
    expect(await admin.hlen(store.cardKeys('card').entries)).toBe(6); // five entries and the #seq counter
  });

  it('keeps a retry’s history while fewer than countMargin entries came after it, and not beyond', async () => {
    const store = openStore({ window: { maxAgeMs: 86_400_000, maxCount: 3 }, retention: { countMargin: 2 } });
    for (let i = 0; i < 4; i++) await store.readAndAppend('card', entry(`n${i}`, i));
    const first = await store.readAndAppend('card', entry('n4', 4));
    expect(ids(first)).toEqual(['n1', 'n2', 'n3']);
    await store.readAndAppend('card', entry('n5', 5)); // trims n0 only
    expect(await store.readAndAppend('card', entry('n4', 4))).toEqual(first);
    await store.readAndAppend('card', entry('n6', 6)); // a second later entry: n1 goes
    expect(ids(await store.readAndAppend('card', entry('n4', 4)))).toEqual(['n2', 'n3']);
  });

  it('trims entries at or before the newest minus maxAge minus ageSlack', async () => {
    const store = openStore({
      window: { maxAgeMs: 60 * minute, maxCount: 256 },
      retention: { ageSlackMs: 10 * minute },
    });
    for (const m of [0, 30, 35, 65, 80]) await store.readAndAppend('card', entry(`m${m}`, m));
    expect(await admin.zrange(store.cardKeys('card').time, '0', '-1')).toEqual(['m30', 'm35', 'm65', 'm80']);
    const history = await store.readAndAppend('card', entry('m100', 100));
    expect(ids(history)).toEqual(['m65', 'm80']); // the 60-minute window of m100
    expect(await admin.zrange(store.cardKeys('card').time, '0', '-1')).toEqual(['m35', 'm65', 'm80', 'm100']);
  });

  it('hides entries stamped after the transaction, and the transaction itself', async () => {
    const store = openStore();
    await store.readAndAppend('card', entry('at-10', 10));
    expect(await store.readAndAppend('card', entry('at-5', 5))).toEqual([]);
    expect(ids(await store.readAndAppend('card', entry('at-20', 20)))).toEqual(['at-5', 'at-10']);
  });

  it('lets an idle card expire after maxAge + ageSlack', async () => {
    const window = { maxAgeMs: 60 * minute, maxCount: 256 };
    const store = openStore({ window, retention: { ageSlackMs: 5 * minute } });
    await store.readAndAppend('card', entry('a', 0));
    const keys = store.cardKeys('card');
    for (const key of [keys.time, keys.entries]) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(65 * minute - 10_000);
      expect(ttl).toBeLessThanOrEqual(65 * minute);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Streaming and replay give the same features

/**
 * ~30 labelled transactions on three cards over two days, in arrival order: mixed currencies, places present and
 * absent, two at the same instant, two arriving out of order, one redelivered.
 */
function labelledSequence(): TransactionEvent[] {
  const rand = mulberry32(20_250_303);
  const cards = ['tok_stream_a', 'tok_stream_b', 'tok_stream_c'];
  const places = [
    { lat: 40.7128, lon: -74.006, country: 'US' },
    { lat: 51.5074, lon: -0.1278, country: 'GB' },
    { lat: 35.6762, lon: 139.6503, country: 'JP' },
  ];
  const currencies = ['USD', 'USD', 'EUR', 'GBP', 'JPY'];
  const events: TransactionEvent[] = [];
  let at = start;
  for (let i = 0; i < 30; i++) {
    at += i === 12 ? 0 : Math.floor(rand() * 180) * minute; // i = 12 shares its instant with i = 11
    const card = cards[Math.floor(rand() * 3)] ?? 'tok_stream_a';
    const place = places[Math.floor(rand() * 3)] ?? places[0];
    const currency = currencies[Math.floor(rand() * currencies.length)] ?? 'USD';
    const small = rand() < 0.2;
    const fraud = rand() < 0.15;
    events.push(
      TransactionEvent.parse({
        transactionId: `stream-${i}`,
        occurredAt: new Date(at).toISOString().replace('Z', i % 4 === 0 ? 'Z' : '+00:00'),
        amount: { minor: small ? 100 + Math.floor(rand() * 300) : 500 + Math.floor(rand() * 90_000), currency },
        cardToken: card,
        customerId: `cus-${card}`,
        merchant: {
          id: `mer-${Math.floor(rand() * 6)}`,
          name: 'Merchant',
          mcc: rand() < 0.5 ? '5411' : '5812',
          ...(rand() < 0.7 ? { category: rand() < 0.5 ? 'grocery_pos' : 'food_dining' } : {}),
          country: place?.country ?? 'US',
        },
        channel: 'card_present',
        ...(rand() < 0.6 && place ? { geo: { lat: place.lat, lon: place.lon } } : {}),
        label: { isFraud: fraud, source: 'store-test', ...(fraud ? { pattern: 'burst_on_card' } : {}) },
      }),
    );
  }
  // Out of order: 20 arrives before 19, 26 before 25. Redelivered: 7 again after 22.
  const swap = (i: number) => events.splice(i, 2, events[i + 1] as TransactionEvent, events[i] as TransactionEvent);
  swap(19);
  swap(25);
  events.splice(23, 0, events[7] as TransactionEvent);
  return events;
}

const configurations: Array<{ name: string; window?: FeatureWindow; retention?: Partial<HistoryRetention> }> = [
  { name: 'the default window' },
  {
    name: 'a tight window that trims',
    window: { maxAgeMs: 24 * 60 * minute, maxCount: 3 },
    retention: { countMargin: 1, ageSlackMs: 30 * minute },
  },
];

describe('streaming through the store and batch replay', () => {
  it.each(configurations)('give deep-equal features for every transaction with $name', async (configuration) => {
    const events = labelledSequence();
    expect(events).toHaveLength(31);
    expect(new Set(events.map((e) => e.cardToken)).size).toBe(3);
    const store = openStore({ window: configuration.window, retention: configuration.retention });
    const streamed: CardFeatures[] = [];
    for (const event of events) {
      const history = await store.readAndAppend(event.cardToken, historyEntryFor(event));
      streamed.push(computeCardFeatures(history, event, configuration.window));
    }
    const replay = new ReplayCardHistory({ window: configuration.window, retention: configuration.retention });
    const replayed = events.map((event) => replay.featuresFor(event));
    expect(streamed).toEqual(replayed);

    // The sequence exercises what it claims to: history, places, the redelivery, out-of-order arrival, trimming.
    const perCard = new Map<string, number>();
    for (const event of new Set(events)) perCard.set(event.cardToken, (perCard.get(event.cardToken) ?? 0) + 1);
    const retained = await Promise.all([...perCard.keys()].map((card) => store.retainedCount(card)));
    expect(retained).toEqual([...perCard.keys()].map((card) => replay.retained(card).length));
    expect(streamed.some((f) => f.distanceKmFromPrevious !== null && f.distanceKmFromPrevious > 1000)).toBe(true);
    if (configuration.window === undefined) {
      expect(Math.max(...streamed.map((f) => f.historyCount))).toBeGreaterThan(8);
      expect(retained).toEqual([...perCard.values()]); // nothing trimmed in 30 days
      expect(streamed[23]).toEqual(streamed[7]); // the redelivery, well within the retry guarantee
    } else {
      expect(Math.max(...streamed.map((f) => f.historyCount))).toBe(configuration.window.maxCount);
      expect(retained.some((n, i) => n < ([...perCard.values()][i] ?? 0))).toBe(true);
    }
  });
});
