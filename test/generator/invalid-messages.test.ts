import { describe, expect, it } from 'vitest';
import { InvalidTransactionEventError } from '../../src/errors';
import { draftMessages, invalidEventSamples, invalidPlaces } from '../../src/generator/produce';
import type { DraftedMessage, MessagePlan } from '../../src/generator/produce';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { parseTransactionMessage } from '../../src/kafka/transaction-messages';

const seed = 4242;
const startTime = new Date('2025-02-03T09:00:00Z');
/** The ingest's default INGEST_MAX_EVENT_BYTES. */
const maxEventBytes = 64 * 1024;

/** Every message of a run, drafted without a broker. */
function draftAll(plan: Omit<MessagePlan, 'seed' | 'startTime'> & { seed?: number }): DraftedMessage[] {
  const messages = draftMessages({ seed, startTime, ...plan });
  const all: DraftedMessage[] = [];
  for (let next = messages.next(); !next.done; next = messages.next()) all.push(next.value);
  return all;
}

/** Send-order places of the invalid messages (those without an event). */
function placesOfInvalid(messages: DraftedMessage[]): number[] {
  return messages.flatMap((m, place) => (m.event ? [] : [place]));
}

/** The dead-letter reason the ingest gives a message. */
function refusalReason(message: DraftedMessage): string {
  try {
    parseTransactionMessage({ value: Buffer.from(message.value) }, maxEventBytes);
  } catch (err) {
    if (err instanceof InvalidTransactionEventError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('invalid messages in a produced run', () => {
  it('the short chaos run (30 valid, 3 invalid) carries exactly 3 invalid messages, one in the middle of each third', () => {
    const messages = draftAll({ count: 33, invalidCount: 3 });
    expect(messages).toHaveLength(33);
    expect(placesOfInvalid(messages)).toEqual([5, 16, 27]);
    expect(messages.filter((m) => !m.event).map((m) => m.key)).toEqual([
      `invalid-${seed}-1`,
      `invalid-${seed}-2`,
      `invalid-${seed}-3`,
    ]);
  });

  it('a share is rounded to an exact count: 5% of 200 is 10 messages, one in every 20', () => {
    const messages = draftAll({ count: 200, invalidShare: 0.05 });
    expect(placesOfInvalid(messages)).toEqual([10, 30, 50, 70, 90, 110, 130, 150, 170, 190]);
    const invalidIn = (count: number, invalidShare: number) =>
      placesOfInvalid(draftAll({ count, invalidShare })).length;
    expect(invalidIn(33, 0.1)).toBe(3); // 3.3
    expect(invalidIn(30, 0.025)).toBe(1); // 0.75
    expect(invalidIn(30, 0.01)).toBe(0); // 0.3
    expect(invalidIn(30, 0)).toBe(0);
    expect(invalidIn(7, 1)).toBe(7);
  });

  it('the places depend on the counts only, never on the seed', () => {
    for (const other of [1, 7, 2 ** 32 - 1]) {
      expect(placesOfInvalid(draftAll({ count: 33, invalidCount: 3, seed: other }))).toEqual([5, 16, 27]);
    }
  });

  it('places are distinct, in range and evenly spaced for every count up to 60', () => {
    for (let count = 0; count <= 60; count++) {
      for (let invalid = 0; invalid <= count; invalid++) {
        const places = invalidPlaces(count, invalid);
        expect(places).toHaveLength(invalid);
        if (invalid === 0) continue;
        expect(places[0]).toBeGreaterThanOrEqual(0);
        expect(places.at(-1)).toBeLessThan(count);
        // Each gap is the stretch length, rounded down or up: never two invalid messages bunched by chance.
        const stretch = count / invalid;
        for (let i = 1; i < places.length; i++) {
          const gap = (places[i] ?? 0) - (places[i - 1] ?? 0);
          expect(gap === Math.floor(stretch) || gap === Math.ceil(stretch), `${count}/${invalid}: gap ${gap}`).toBe(
            true,
          );
        }
      }
    }
  });

  it("the valid events are the generator's own sequence whatever the invalid count", () => {
    const generator = createTransactionGenerator({ seed, startTime });
    const expected = Array.from({ length: 30 }, () => generator.next());
    for (const invalidCount of [0, 3, 10]) {
      const events = draftAll({ count: 30 + invalidCount, invalidCount }).flatMap((m) => (m.event ? [m.event] : []));
      expect(events).toEqual(expected);
    }
  });

  it('the ingest refuses every invalid message; the first three cover every dead-letter reason, nine every kind', () => {
    const messages = draftAll({ count: 9, invalidCount: 9 });
    const reasons = messages.map(refusalReason);
    expect(reasons.slice(0, 3).sort()).toEqual(['invalid_json', 'oversized', 'schema_violation']);
    const tally = Object.fromEntries(['invalid_json', 'schema_violation', 'oversized'].map((r) => [r, 0]));
    for (const reason of reasons) tally[reason] = (tally[reason] ?? 0) + 1;
    expect(tally).toEqual({ invalid_json: 3, schema_violation: 5, oversized: 1 });
    const kindOf = (m: DraftedMessage) =>
      invalidEventSamples(m.key).find((sample) => sample.value.equals(Buffer.from(m.value)))?.kind;
    expect(messages.map(kindOf).sort()).toEqual(
      invalidEventSamples()
        .map((sample) => sample.kind)
        .sort(),
    );
  });

  it('refuses, before anything is sent, a plan it cannot honour exactly', () => {
    expect(() => draftMessages({ seed, count: 10, invalidCount: 11 })).toThrow(RangeError);
    expect(() => draftMessages({ seed, count: 10, invalidCount: 1.5 })).toThrow(RangeError);
    expect(() => draftMessages({ seed, count: 10, invalidCount: -1 })).toThrow(RangeError);
    expect(() => draftMessages({ seed, count: 10, invalidShare: 1.1 })).toThrow(RangeError);
    expect(() => draftMessages({ seed, count: 10, invalidShare: 0.1, invalidCount: 1 })).toThrow(RangeError);
    expect(() => draftMessages({ seed, count: 2.5 })).toThrow(RangeError);
  });
});
