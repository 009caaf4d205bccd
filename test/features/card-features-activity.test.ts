/**
 * The card-features activity: features through the real store, and a store outage as a retryable typed failure
 * (an unreachable Redis, not a fake), so Temporal retries and no transaction is lost.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createFeatureActivities, FeatureFailureType } from '../../activities/card-features';
import { loadConfig } from '../../src/config';
import { computeCardFeatures, historyEntryFor } from '../../src/features/card-history';
import { RedisCardHistoryStore } from '../../src/features/store';
import { TransactionEvent } from '../../src/schemas/transaction-event';

const card = `tok_activity_${randomUUID().slice(0, 8)}`;
const prefix = `fftest-activity-${randomUUID().slice(0, 8)}`;
const store = new RedisCardHistoryStore({ url: loadConfig().featureStore.url, keyPrefix: prefix });
// Port 1 on loopback: nothing listens there, so every call is refused at once.
const downStore = new RedisCardHistoryStore({ url: 'redis://127.0.0.1:1/0', keyPrefix: prefix });

afterAll(async () => {
  await downStore.close();
  const admin = new Redis(loadConfig().featureStore.url);
  const keys = store.cardKeys(card);
  await admin.del(keys.time, keys.entries);
  await admin.quit();
  await store.close();
});

function txn(id: string, occurredAt: string, minor: number): TransactionEvent {
  return TransactionEvent.parse({
    transactionId: id,
    occurredAt,
    amount: { minor, currency: 'USD' },
    cardToken: card,
    customerId: 'cus_activity',
    merchant: { id: 'mer_1', name: 'Corner Shop', mcc: '5411', country: 'US' },
    channel: 'card_present',
  });
}

describe('computeCardFeatures activity', () => {
  it('records each transaction and returns the card’s features before it, once per transactionId', async () => {
    const activities = createFeatureActivities({ store });
    const a = txn('act-a', '2025-03-03T08:00:00Z', 2000);
    const b = txn('act-b', '2025-03-03T08:10:00Z', 8000);
    await activities.computeCardFeatures({ event: a });
    const features = await activities.computeCardFeatures({ event: b });
    expect(features).toEqual(computeCardFeatures([historyEntryFor(a)], b));
    expect(features.txnCount1h).toBe(1);
    expect(features.amountRatioToMean).toBe(4);
    expect(features.secondsSincePrevious).toBe(600);
    expect(await activities.computeCardFeatures({ event: b })).toEqual(features); // a Temporal retry
    expect(await store.retainedCount(card)).toBe(2);
  });

  it('turns a store outage into a retryable FeatureStoreUnavailable failure', async () => {
    const activities = createFeatureActivities({ store: downStore });
    const error: unknown = await activities
      .computeCardFeatures({ event: txn('act-down', '2025-03-03T09:00:00Z', 100) })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApplicationFailure);
    const failure = error as ApplicationFailure;
    expect(failure.type).toBe('FeatureStoreUnavailable');
    expect(failure.type).toBe(FeatureFailureType.storeUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(
      /^feature store unavailable: card tok_activity_\w+: .*\(connection: connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
    );
  });
});
