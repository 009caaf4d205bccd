import { describe, expect, it } from 'vitest';
import { fraudPatterns, createTransactionGenerator } from '../../src/generator/synthetic';
import type { TransactionGeneratorOptions } from '../../src/generator/synthetic';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { toMajorUnits } from '../../src/money';
import { ReplayCardHistory } from '../../src/features/replay-history';
import type { CardFeatures } from '../../src/schemas/card-features';

function generate(count: number, opts: TransactionGeneratorOptions = {}): TransactionEvent[] {
  const generator = createTransactionGenerator(opts);
  return Array.from({ length: count }, () => generator.next());
}

/** Rough USD value, enough to tell "tiny" from "large" across the generator's currencies. */
function approxUsd(event: TransactionEvent): number {
  const perUsd: Record<string, number> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 150 };
  return toMajorUnits(event.amount) / (perUsd[event.amount.currency] ?? 1);
}

describe('synthetic transaction generator', () => {
  const events = generate(5_000, { seed: 20250106 });
  const ofPattern = (pattern: string) => events.filter((e) => e.label?.pattern === pattern);
  // The card history fraudflow computes from the stream itself (the generator sends no velocity).
  const history = new ReplayCardHistory();
  const features = new Map<string, CardFeatures>(events.map((e) => [e.transactionId, history.featuresFor(e)]));
  const featuresOf = (e: TransactionEvent): CardFeatures => features.get(e.transactionId)!;

  it("sends no velocity: card history is fraudflow's to compute", () => {
    expect(events.filter((e) => e.velocity !== undefined)).toEqual([]);
  });

  it('every generated event parses as a TransactionEvent and carries a synthetic label', () => {
    for (const event of events) {
      const parsed = TransactionEvent.safeParse(event);
      expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
      expect(parsed.data).toEqual(event);
      expect(event.label?.source).toBe('synthetic');
      expect(event.label?.isFraud).toBe(event.label?.pattern !== undefined);
    }
  });

  it('the same seed yields an identical sequence and a different seed a different one', () => {
    const a = generate(500, { seed: 99, startTime: new Date('2025-03-01T00:00:00Z') });
    const b = generate(500, { seed: 99, startTime: new Date('2025-03-01T00:00:00Z') });
    const c = generate(500, { seed: 100, startTime: new Date('2025-03-01T00:00:00Z') });
    expect(b).toEqual(a);
    const strip = (e: TransactionEvent) => ({ ...e, transactionId: '' });
    expect(c.map(strip)).not.toEqual(a.map(strip));
    expect(c.filter((e, i) => e.cardToken === a[i]?.cardToken).length).toBeLessThan(25);
  });

  it('fraud share stays within tolerance of the requested share over 5,000 events', () => {
    const fraud = events.filter((e) => e.label?.isFraud).length;
    expect(fraud / events.length).toBeGreaterThan(0.04);
    expect(fraud / events.length).toBeLessThan(0.06);

    const heavy = generate(5_000, { seed: 5, fraudShare: 0.2 }).filter((e) => e.label?.isFraud).length;
    expect(heavy / 5_000).toBeGreaterThan(0.18);
    expect(heavy / 5_000).toBeLessThan(0.22);

    expect(generate(2_000, { seed: 5, fraudShare: 0 }).some((e) => e.label?.isFraud)).toBe(false);
    expect(generate(200, { seed: 5, fraudShare: 1 }).every((e) => e.label?.isFraud)).toBe(true);
  });

  it('every fraud pattern appears, each a meaningful part of the fraud', () => {
    const fraud = events.filter((e) => e.label?.isFraud).length;
    for (const pattern of fraudPatterns) expect(ofPattern(pattern).length).toBeGreaterThan(fraud * 0.1);
  });

  it('card_testing is tiny ecommerce digital-goods purchases, several on one card within the hour', () => {
    const testing = ofPattern('card_testing');
    expect(testing.filter((e) => featuresOf(e).txnCount1h >= 2).length).toBeGreaterThan(testing.length * 0.5);
    for (const e of testing) {
      expect(e.amount.minor).toBeLessThan(300);
      expect(e.amount.currency).toBe('USD');
      expect(e.channel).toBe('ecommerce');
      expect(e.merchant.mcc).toBe('5818');
    }
  });

  it('high_value_foreign is a large electronics or jewelry purchase outside the cardholder country', () => {
    for (const e of ofPattern('high_value_foreign')) {
      expect(['5732', '5944']).toContain(e.merchant.mcc);
      expect(e.merchant.country).not.toBe(e.cardholderCountry);
      expect(approxUsd(e)).toBeGreaterThanOrEqual(1_000);
    }
  });

  it('burst_on_card is several purchases on one card within minutes at different merchants', () => {
    const byCard = new Map<string, TransactionEvent[]>();
    for (const e of ofPattern('burst_on_card')) byCard.set(e.cardToken, [...(byCard.get(e.cardToken) ?? []), e]);
    let bursts = 0;
    for (const burst of byCard.values()) {
      if (burst.length < 4) continue; // a card hit twice, or a burst cut off at the end of the run
      bursts++;
      const first = Date.parse(burst[0]?.occurredAt ?? '');
      const third = Date.parse(burst[2]?.occurredAt ?? '');
      expect(third - first).toBeLessThan(15 * 60_000);
      expect(new Set(burst.map((e) => e.merchant.id)).size).toBeGreaterThanOrEqual(3);
      // The card's computed history sees the burst building up.
      expect(featuresOf(burst[3]!).txnCount1h).toBeGreaterThanOrEqual(3);
    }
    expect(bursts).toBeGreaterThan(3);
  });

  it('account_takeover moves money from a brand-new device abroad', () => {
    for (const e of ofPattern('account_takeover')) {
      expect(e.channel === 'transfer' || e.merchant.mcc === '4829').toBe(true);
      expect(e.device?.id).toBeDefined();
      expect(e.attributes?.deviceAgeDays).toBe(0);
      expect(e.ipAddress).toBeDefined();
      expect(e.geo?.country).toBeDefined();
      expect(e.geo?.country).not.toBe(e.cardholderCountry);
    }
  });

  it('amounts are integer minor units, mostly USD, with some EUR and GBP and a few zero-exponent JPY', () => {
    const byCurrency = new Map<string, number>();
    for (const e of events) {
      expect(Number.isSafeInteger(e.amount.minor)).toBe(true);
      expect(e.amount.minor).toBeGreaterThan(0);
      byCurrency.set(e.amount.currency, (byCurrency.get(e.amount.currency) ?? 0) + 1);
    }
    expect(byCurrency.get('USD') ?? 0).toBeGreaterThan(events.length * 0.4);
    expect(byCurrency.get('EUR') ?? 0).toBeGreaterThan(events.length * 0.1);
    expect(byCurrency.get('GBP') ?? 0).toBeGreaterThan(events.length * 0.05);
    expect(byCurrency.get('JPY') ?? 0).toBeGreaterThan(0);
    expect(byCurrency.get('JPY') ?? 0).toBeLessThan(events.length * 0.02);
    // A yen amount is whole yen: a coffee is a few hundred, not tens of thousands.
    for (const e of events.filter((x) => x.amount.currency === 'JPY' && x.merchant.mcc === '5814')) {
      expect(e.amount.minor).toBeLessThan(20_000);
    }
  });

  it('transactionIds are unique and follow prefix-seed-counter', () => {
    expect(new Set(events.map((e) => e.transactionId)).size).toBe(events.length);
    expect(events[0]?.transactionId).toBe('txn-20250106-1');
    expect(generate(1, { seed: 3, idPrefix: 'load.a' })[0]?.transactionId).toBe('load.a-3-1');
  });

  it('occurredAt never goes backwards and advances at a human pace from startTime', () => {
    const start = Date.parse('2025-01-06T00:00:00Z');
    const times = events.map((e) => Date.parse(e.occurredAt));
    expect(times[0]).toBeGreaterThan(start);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] ?? 0);
    const days = ((times[times.length - 1] ?? 0) - start) / 86_400_000;
    expect(days).toBeGreaterThan(1);
    expect(days).toBeLessThan(30);
  });

  it('legitimate cards rarely show high velocity, and optional context appears only sometimes', () => {
    const legit = events.filter((e) => !e.label?.isFraud);
    const busy = legit.filter((e) => featuresOf(e).txnCount1h >= 5).length;
    expect(busy / legit.length).toBeLessThan(0.01);
    for (const field of ['customer', 'device', 'ipAddress', 'geo'] as const) {
      const share = legit.filter((e) => e[field] !== undefined).length / legit.length;
      expect(share, field).toBeGreaterThan(0.1);
      expect(share, field).toBeLessThan(0.9);
    }
    const customers = new Set(events.map((e) => e.customerId));
    expect(customers.size).toBeGreaterThan(100);
    expect(customers.size).toBeLessThanOrEqual(1_000);
    for (const e of events) if (e.customer?.email) expect(e.customer.email).toMatch(/@example\.(com|org|net)$/);
  });

  it('merchants use real ISO 18245 codes for their category', () => {
    const mccByCategory: Record<string, string> = {
      grocery: '5411',
      fuel: '5541',
      restaurant: '5812',
      fast_food: '5814',
      electronics: '5732',
      online_marketplace: '5999',
      books: '5942',
      airline: '4511',
      hotel: '7011',
      digital_goods: '5818',
      money_transfer: '4829',
      quasi_cash: '6051',
      gambling: '7995',
      atm_cash: '6011',
    };
    const seen = new Set<string>();
    for (const e of events) {
      const expected = mccByCategory[e.merchant.category ?? ''];
      if (expected) expect(e.merchant.mcc).toBe(expected);
      seen.add(e.merchant.mcc);
    }
    for (const mcc of Object.values(mccByCategory)) expect(seen).toContain(mcc);
  });
});
