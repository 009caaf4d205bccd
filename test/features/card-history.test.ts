/**
 * The pure card-feature function on a hand-built card history with known times, amounts, merchants, countries and
 * places: every feature's exact value, the window's boundaries, ties and the line models read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { CardHistoryEntry } from '../../src/features/card-history';
import {
  computeCardFeatures,
  formatFeatureLine,
  haversineKm,
  historyEntryFor,
  localHourOf,
  windowedHistory,
} from '../../src/features/card-history';
import { amountInUsd } from '../../src/features/usd-rates';
import { CardFeatures } from '../../src/schemas/card-features';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import { quietBundlerLogger } from '../../src/worker-set';

const newYork = { lat: 40.7128, lon: -74.006, city: 'New York', country: 'US' };
const london = { lat: 51.5074, lon: -0.1278, city: 'London', country: 'GB' };

interface Spec {
  id: string;
  at: string;
  minor: number;
  currency?: string;
  merchant: string;
  mcc: string;
  category?: string;
  country: string;
  geo?: { lat: number; lon: number; city?: string; country?: string };
}

function txn(spec: Spec): TransactionEvent {
  const input: TransactionEventInput = {
    transactionId: spec.id,
    occurredAt: spec.at,
    amount: { minor: spec.minor, currency: spec.currency ?? 'USD' },
    cardToken: 'tok_card_history_a',
    customerId: 'cus_a',
    merchant: {
      id: spec.merchant,
      name: spec.merchant,
      mcc: spec.mcc,
      ...(spec.category ? { category: spec.category } : {}),
      country: spec.country,
    },
    channel: 'card_present',
    ...(spec.geo ? { geo: spec.geo } : {}),
  };
  return TransactionEvent.parse(input);
}

// The transaction being scored: 2025-03-01T23:30:00-05:00 is 2025-03-02T04:30:00Z.
const current = txn({
  id: 'x-current',
  at: '2025-03-01T23:30:00-05:00',
  minor: 48_000,
  merchant: 'm-electronics',
  mcc: '5732',
  category: 'electronics',
  country: 'CA',
  geo: newYork,
});

type Row = [id: string, at: string, minor: number, currency: string, merchant: string, mcc: string, category: string | undefined, country: string, geo?: typeof newYork]; // prettier-ignore

// Its card's earlier transactions, oldest first. Amounts in USD: 40, 60, 100, 20, 50, 3, 2, 1 (sum 276, mean 34.5).
const rows: Row[] = [
  // 8 days before: inside the 30-day window, outside 7 days.
  ['h1', '2025-02-22T04:30:00Z', 4000, 'USD', 'm-grocery', '5411', 'grocery_pos', 'US', newYork],
  // Exactly 7 days before: a window excludes its start, so not in the 7-day counts.
  ['h2', '2025-02-23T04:30:00Z', 6000, 'USD', 'm-grocery', '5411', 'grocery_pos', 'US', newYork],
  // EUR 92.00 is USD 100 at the reference rate; 05:30+01:00 is 04:30Z.
  ['h3', '2025-02-27T05:30:00+01:00', 9200, 'EUR', 'm-cafe-paris', '5812', 'food_dining', 'FR'],
  // Exactly 24 hours before.
  ['h4', '2025-03-01T04:30:00Z', 2000, 'USD', 'm-gas', '5541', 'gas_transport', 'US', newYork],
  // GBP 39.50 is USD 50. The latest transaction with a place: London, 5 hours before.
  ['h5', '2025-03-01T23:30:00Z', 3950, 'GBP', 'm-london-shop', '5311', 'shopping_pos', 'GB', london],
  // Exactly 1 hour before.
  ['h6', '2025-03-02T03:30:00Z', 300, 'USD', 'm-online', '5999', 'misc_net', 'US'],
  // 9 minutes and 35 seconds before, small amounts; h8 has no category.
  ['h7', '2025-03-02T04:21:00Z', 200, 'USD', 'm-online', '5999', 'misc_net', 'US'],
  ['h8', '2025-03-02T04:29:25Z', 100, 'USD', 'm-test', '5999', undefined, 'US'],
];
const earlier = rows.map(([id, at, minor, currency, merchant, mcc, category, country, geo]) =>
  txn({ id, at, minor, currency, merchant, mcc, ...(category ? { category } : {}), country, ...(geo ? { geo } : {}) }),
);
const history = earlier.map(historyEntryFor);

const expectedFeatures: CardFeatures = {
  txnCount1h: 2,
  txnCount24h: 4,
  txnCount7d: 6,
  amountSum1hUsd: 3,
  amountSum24hUsd: 56,
  amountSum7dUsd: 176,
  historyCount: 8,
  amountRatioToMean: 13.913, // 480 / 34.5
  amountZScore: 12.716, // (480 − 34.5) / 35.0347 (sample standard deviation)
  secondsSincePrevious: 35,
  distinctMerchants24h: 3,
  distinctCountries24h: 2,
  firstTimeMerchant: true,
  firstTimeCategory: true,
  firstTimeCountry: true,
  distanceKmFromPrevious: 5570.23,
  speedKmhFromPrevious: 1114.05,
  localHour: 23,
  smallAmountCount10m: 2,
};

describe('card history entries', () => {
  it('carry time in ms, the amount in USD, the merchant and the place of the event', () => {
    expect(history[4]).toEqual({
      transactionId: 'h5',
      occurredAtMs: Date.UTC(2025, 2, 1, 23, 30),
      amountUsd: 50,
      merchantId: 'm-london-shop',
      mcc: '5311',
      category: 'shopping_pos',
      country: 'GB',
      lat: 51.5074,
      lon: -0.1278,
    });
    // No category, no geo: the keys are absent, so an entry survives a JSON round trip unchanged.
    expect(history[7]).toEqual({
      transactionId: 'h8',
      occurredAtMs: Date.UTC(2025, 2, 2, 4, 29, 25),
      amountUsd: 1,
      merchantId: 'm-test',
      mcc: '5999',
      country: 'US',
    });
    expect(Object.keys(history[7] ?? {})).not.toContain('lat');
  });

  it('convert amounts at the static reference rates, and an unlisted currency 1:1', () => {
    expect(amountInUsd({ minor: 9200, currency: 'EUR' })).toBe(100);
    expect(amountInUsd({ minor: 15_000, currency: 'JPY' })).toBe(100);
    expect(amountInUsd({ minor: 12_345, currency: 'USD' })).toBe(123.45);
    expect(amountInUsd({ minor: 1000, currency: 'ISK' })).toBe(1000); // not in the table: counted as dollars
  });
});

describe('computeCardFeatures', () => {
  it('gives the exact features of a hand-built card history', () => {
    const features = computeCardFeatures(history, current);
    expect(features).toEqual(expectedFeatures);
    expect(CardFeatures.parse(features)).toEqual(features);
  });

  it('does not depend on the order the history is given in', () => {
    expect(computeCardFeatures([...history].reverse(), current)).toEqual(expectedFeatures);
  });

  it('measures New York to London within 1% of 5570 km', () => {
    const km = haversineKm(newYork.lat, newYork.lon, london.lat, london.lon);
    expect(Math.abs(km - 5570) / 5570).toBeLessThan(0.01);
    expect(haversineKm(london.lat, london.lon, london.lat, london.lon)).toBe(0);
  });

  it('reads the local hour in the timestamp’s own offset', () => {
    expect(localHourOf('2025-03-01T23:30:00-05:00')).toBe(23);
    expect(localHourOf('2025-03-02T04:30:00Z')).toBe(4);
    expect(localHourOf('2025-03-02T10:00:00.250+05:30')).toBe(10);
  });

  it('treats an empty history as all-new with no statistics', () => {
    const features = computeCardFeatures([], current);
    expect(features).toEqual({
      txnCount1h: 0,
      txnCount24h: 0,
      txnCount7d: 0,
      amountSum1hUsd: 0,
      amountSum24hUsd: 0,
      amountSum7dUsd: 0,
      historyCount: 0,
      amountRatioToMean: null,
      amountZScore: null,
      secondsSincePrevious: null,
      distinctMerchants24h: 0,
      distinctCountries24h: 0,
      firstTimeMerchant: true,
      firstTimeCategory: true,
      firstTimeCountry: true,
      distanceKmFromPrevious: null,
      speedKmhFromPrevious: null,
      localHour: 23,
      smallAmountCount10m: 0,
    });
    expect(formatFeatureLine(features)).toBe('card history: no earlier transactions; local hour 23');
  });

  it('has no z-score with one history entry or with no spread in amounts', () => {
    const one = computeCardFeatures(history.slice(7), current);
    expect(one.amountRatioToMean).toBe(480);
    expect(one.amountZScore).toBeNull();
    const flat = [history[6], { ...history[6], transactionId: 'h7-again' }] as CardHistoryEntry[];
    const f = computeCardFeatures(flat, current);
    expect(f.amountRatioToMean).toBe(240);
    expect(f.amountZScore).toBeNull();
  });

  it('has no distance when this transaction or every earlier one lacks a place', () => {
    const unlocated = TransactionEvent.parse({ ...current, geo: undefined });
    const f = computeCardFeatures(history, unlocated);
    expect(f.distanceKmFromPrevious).toBeNull();
    expect(f.speedKmhFromPrevious).toBeNull();
    const g = computeCardFeatures(history.slice(5), current); // h6-h8 have no place
    expect(g.distanceKmFromPrevious).toBeNull();
  });

  it('computes speed over at least 60 seconds', () => {
    // 0.1° of latitude is 11.12 km; one second apart counts as one minute: 667.17 km/h, not 40,000.
    const before = historyEntryFor(
      txn({
        id: 'p1',
        at: '2025-03-02T04:29:59Z',
        minor: 100,
        merchant: 'm-a',
        mcc: '5411',
        country: 'US',
        geo: { lat: 40.6128, lon: -74.006 },
      }),
    );
    const f = computeCardFeatures([before], current);
    expect(f.distanceKmFromPrevious).toBe(11.12);
    expect(f.speedKmhFromPrevious).toBe(667.17);
    expect(f.secondsSincePrevious).toBe(1);
  });

  it('matches categories by name, or by MCC when either side has none', () => {
    const at = { id: 'c', at: '2025-03-02T04:30:00Z', minor: 100, merchant: 'm-x', country: 'US' };
    const same = computeCardFeatures(history, txn({ ...at, mcc: '5812', category: 'food_dining' }));
    expect(same.firstTimeCategory).toBe(false);
    // grocery_net is a new category although h1 and h2 (grocery_pos) share its MCC 5411.
    expect(computeCardFeatures(history, txn({ ...at, mcc: '5411', category: 'grocery_net' })).firstTimeCategory).toBe(
      true,
    );
    // No category on this event: MCC 5411 was seen.
    expect(computeCardFeatures(history, txn({ ...at, mcc: '5411' })).firstTimeCategory).toBe(false);
    // h8 has no category but MCC 5999: an event in misc_pos (5999) is not new.
    expect(
      computeCardFeatures(history.slice(7), txn({ ...at, mcc: '5999', category: 'misc_pos' })).firstTimeCategory,
    ).toBe(false);
  });

  it('counts the same merchant and country as seen before', () => {
    const again = txn({
      id: 'again',
      at: '2025-03-02T04:30:00Z',
      minor: 500,
      merchant: 'm-online',
      mcc: '5999',
      category: 'misc_net',
      country: 'US',
    });
    const f = computeCardFeatures(history, again);
    expect([f.firstTimeMerchant, f.firstTimeCategory, f.firstTimeCountry]).toEqual([false, false, false]);
    expect(f.smallAmountCount10m).toBe(2);
    expect(computeCardFeatures(history, again, undefined, { smallAmountUsd: 2 }).smallAmountCount10m).toBe(1);
  });

  it('leaves out the transaction itself and anything stamped after it', () => {
    const self = historyEntryFor(current);
    const later = { ...historyEntryFor(current), transactionId: 'x-later', occurredAtMs: self.occurredAtMs + 1 };
    expect(computeCardFeatures([...history, self, later], current)).toEqual(expectedFeatures);
  });

  it('keeps an entry at exactly the transaction’s time', () => {
    const simultaneous = {
      ...history[7],
      transactionId: 'x-same-time',
      occurredAtMs: historyEntryFor(current).occurredAtMs,
    } as CardHistoryEntry;
    const f = computeCardFeatures([...history, simultaneous], current);
    expect(f.historyCount).toBe(9);
    expect(f.secondsSincePrevious).toBe(0);
    expect(f.txnCount1h).toBe(3);
  });

  it('applies the window by age, excluding its start', () => {
    const twoDays = computeCardFeatures(history, current, { maxAgeMs: 2 * 86_400_000, maxCount: 256 });
    expect(twoDays.historyCount).toBe(5); // h4 (24 h) to h8
    const oneDay = computeCardFeatures(history, current, { maxAgeMs: 86_400_000, maxCount: 256 });
    expect(oneDay.historyCount).toBe(4); // h4, at exactly 24 h, is out
    expect(oneDay.amountRatioToMean).toBe(34.2857); // 480 / (56 / 4)
    expect(oneDay.firstTimeCountry).toBe(true);
    expect(oneDay.distanceKmFromPrevious).toBe(5570.23);
  });

  it('applies the window by count, keeping the latest entries', () => {
    const f = computeCardFeatures(history, current, { maxAgeMs: 30 * 86_400_000, maxCount: 3 });
    expect(f.historyCount).toBe(3);
    expect(f.txnCount7d).toBe(3);
    expect(f.amountSum7dUsd).toBe(6);
    expect(f.amountRatioToMean).toBe(240);
    expect(f.distanceKmFromPrevious).toBeNull(); // London (h5) is no longer in the window
    expect(
      windowedHistory(history, Date.parse(current.occurredAt), current.transactionId, {
        maxAgeMs: 30 * 86_400_000,
        maxCount: 3,
      }).map((e) => e.transactionId),
    ).toEqual(['h6', 'h7', 'h8']);
  });

  it('breaks equal times by transactionId, whatever the input order', () => {
    const at = Date.parse(current.occurredAt) - 60_000;
    const base = { occurredAtMs: at, amountUsd: 10, mcc: '5411', country: 'US' };
    const a: CardHistoryEntry = { ...base, transactionId: 't-a', merchantId: 'm-a', lat: 51.5074, lon: -0.1278 };
    const b: CardHistoryEntry = { ...base, transactionId: 't-b', merchantId: 'm-b' };
    const window = { maxAgeMs: 86_400_000, maxCount: 1 };
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      expect(windowedHistory(order, at + 60_000, 'x', { maxAgeMs: 86_400_000, maxCount: 256 })).toEqual([a, b]);
      expect(windowedHistory(order, at + 60_000, 'x', window)).toEqual([b]);
      expect(computeCardFeatures(order, current, window).distinctMerchants24h).toBe(1);
      // With both kept, the latest located entry is t-a (t-b has no place), whichever came first in the input.
      expect(computeCardFeatures(order, current).distanceKmFromPrevious).toBe(5570.23);
    }
  });
});

describe('formatFeatureLine', () => {
  it('writes one deterministic line with fixed decimals', () => {
    expect(formatFeatureLine(expectedFeatures)).toBe(
      'card history: 2 txns/1h, 4/24h, 6/7d; USD 56.00/24h; amount 13.9× mean (z 12.7); 35 s since previous; ' +
        '3 merchants/24h; 2 countries/24h; new merchant, new category, new country; ' +
        '5570 km from previous at 1114 km/h; 2 small amounts/10m; local hour 23',
    );
  });

  it('leaves out what does not apply and uses singulars', () => {
    const f: CardFeatures = {
      ...expectedFeatures,
      txnCount1h: 1,
      amountZScore: null,
      secondsSincePrevious: 5400,
      distinctMerchants24h: 1,
      distinctCountries24h: 1,
      firstTimeMerchant: false,
      firstTimeCategory: false,
      firstTimeCountry: false,
      distanceKmFromPrevious: null,
      speedKmhFromPrevious: null,
      smallAmountCount10m: 0,
      localHour: 3,
    };
    expect(formatFeatureLine(f)).toBe(
      'card history: 1 txn/1h, 4/24h, 6/7d; USD 56.00/24h; amount 13.9× mean; 90 min since previous; ' +
        '1 merchant/24h; 1 country/24h; local hour 03',
    );
    expect(formatFeatureLine({ ...f, secondsSincePrevious: 3 * 86_400 })).toContain('; 3.0 d since previous;');
    expect(formatFeatureLine({ ...f, secondsSincePrevious: 9000 })).toContain('; 2.5 h since previous;');
  });
});

describe('the pure feature module in a workflow bundle', () => {
  it('brings no zod or I/O library into the bundle', async () => {
    // The bundler resolves @temporalio/workflow from the entry's folder and compiles no TypeScript under
    // node_modules: the probe is a CommonJS file under node_modules/.cache.
    const cache = path.resolve(__dirname, '../../node_modules/.cache');
    fs.mkdirSync(cache, { recursive: true });
    const dir = fs.mkdtempSync(path.join(cache, 'fraudflow-features-bundle-'));
    try {
      const entry = path.join(dir, 'workflows.js');
      const module = path.resolve(__dirname, '../../src/features/card-history');
      fs.writeFileSync(
        entry,
        `const { computeCardFeatures, formatFeatureLine } = require(${JSON.stringify(module)});\n` +
          `exports.featuresProbeWorkflow = async () => formatFeatureLine(computeCardFeatures([], null));\n`,
      );
      const { code } = await bundleWorkflowCode({ workflowsPath: entry, logger: quietBundlerLogger });
      expect(code).toContain('./src/features/card-history.ts');
      expect(code).toContain('./src/features/usd-rates.ts');
      for (const library of ['node_modules/zod', 'node_modules/ioredis', 'node_modules/pino']) {
        expect(code, library).not.toContain(library);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
