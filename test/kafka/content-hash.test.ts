import { describe, expect, it } from 'vitest';
import { canonicalJson, eventContentHash } from '../../src/kafka/content-hash';
import { parseTransactionMessage } from '../../src/kafka/transaction-messages';
import { sampleTransaction } from '../support/pipeline';

const parse = (value: unknown) => parseTransactionMessage({ value: Buffer.from(JSON.stringify(value)) }, 65_536);

describe('event content hash', () => {
  it('serializes objects with sorted keys at every depth and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('hashes the same event equally whatever its key order, extra unknown fields or label', () => {
    const event = sampleTransaction();
    const reordered = Object.fromEntries(Object.entries(event).reverse());
    const a = eventContentHash(parse(event));
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(eventContentHash(parse(reordered))).toBe(a);
    expect(eventContentHash(parse({ ...event, label: { isFraud: true } }))).toBe(a);
  });

  it('hashes an event with another amount differently', () => {
    const event = sampleTransaction();
    const changed = { ...event, amount: { minor: 999_999, currency: 'USD' } };
    expect(eventContentHash(parse(changed))).not.toBe(eventContentHash(parse(event)));
  });
});
