/**
 * Personal data in free text, masked before a hosted prompt: each kind found (and counted), and the near-misses a
 * fraud prompt is full of (order numbers, versions, amounts, dates) left as they are. Pure: no service needed.
 */
import { describe, expect, it } from 'vitest';
import { metrics } from '../../src/observability/metrics';
import type { PersonalDataKind } from '../../src/scoring/pii';
import { maskPersonalData, maskPersonalDataDeep } from '../../src/scoring/pii';
import { buildScoringMessages } from '../../src/scoring/prompt';
import { hostedView } from '../../src/scoring/redaction';
import { TransactionEvent } from '../../src/schemas/transaction-event';

const mask = (text: string, phoneCountries: string[] = ['US']) => maskPersonalData(text, { phoneCountries });

function expectMasked(text: string, kind: PersonalDataKind, phoneCountries?: string[]): void {
  const result = mask(text, phoneCountries);
  expect(result.text, text).toBe(`[${kind}]`);
  expect(result.counts[kind], text).toBe(1);
}

function expectKept(text: string, phoneCountries?: string[]): void {
  const result = mask(text, phoneCountries);
  expect(result.text, text).toBe(text);
  expect(
    Object.values(result.counts).every((n) => n === 0),
    text,
  ).toBe(true);
}

describe('card numbers', () => {
  it('masks Luhn-valid numbers of 13 to 19 digits, grouped by spaces or dashes or not at all', () => {
    for (const card of [
      '4111 1111 1111 1111',
      '5500-0000-0000-0004',
      '378282246310005',
      '4222222222222',
      '6011000990139424',
      '6304 0000 0000 0000',
    ]) {
      expectMasked(card, 'card');
    }
  });

  it('finds a card number inside a merchant name and leaves the words and a trailing year', () => {
    expect(mask('ACME 4111 1111 1111 1111 2026 shop').text).toBe('ACME [card] 2026 shop');
  });

  it('keeps a 16-digit order number that fails Luhn, a short number, versions and amounts', () => {
    expectKept('Order #1234567890123456');
    expectKept('4111 1111 1111 1112');
    expectKept('ref 411111111111');
    expectKept('build v2.14.3 (20241105)');
    expectKept('USD 1,234.56');
    expectKept('1234567.89 EUR');
    expectKept('MCC 5411 grocery_pos');
  });
});

describe('e-mail addresses', () => {
  it('masks addresses, tags and subdomains included', () => {
    expectMasked('alex.smith+shop@example.co.uk', 'email');
    expect(mask('write to fraud@evil.example now').text).toBe('write to [email] now');
  });

  it('keeps handles and addresses without a domain', () => {
    expectKept('@corner_grocery');
    expectKept('a@b');
    expectKept('name at example dot com');
  });
});

describe('phone numbers', () => {
  it('masks international numbers whatever the countries', () => {
    expectMasked('+44 20 7946 0958', 'phone', []);
    expectMasked('+33 6 12 34 56 78', 'phone', []);
    expectMasked('+1 415 555 2671', 'phone', []);
  });

  it("masks national formats of the merchant's or cardholder's country", () => {
    expectMasked('(415) 555-2671', 'phone', ['US']);
    expectMasked('202-555-0143', 'phone', ['US']);
    expectMasked('030 12345678', 'phone', ['DE']);
    expectMasked('0151 23456789', 'phone', ['FR', 'DE']);
  });

  it('keeps national formats of other countries, invalid numbers, dates and times', () => {
    expectKept('(415) 555-2671', []);
    expectKept('+1-555-0100');
    for (const text of ['2026-11-24', '24.11.2026', '2026-11-24T12:00:00Z', 'open 09:30-18:00', 'ZIP 10115']) {
      expectKept(text, ['US', 'DE']);
    }
  });
});

describe('IBANs', () => {
  it('masks IBANs whose mod-97 checksum holds, grouped or not, in either case', () => {
    expectMasked('GB82 WEST 1234 5698 7654 32', 'iban');
    expectMasked('DE89370400440532013000', 'iban');
    expectMasked('de89 3704 0044 0532 0130 00', 'iban');
    expect(mask('pay to FR14 2004 1010 0505 0001 3M02 606 please').text).toBe('pay to [iban] please');
  });

  it('keeps an IBAN-shaped string whose checksum fails', () => {
    expectKept('GB82 WEST 1234 5698 7654 33');
    expectKept('DE00370400440532013000');
  });
});

describe('national ids', () => {
  it('masks a US Social Security number and a UK National Insurance number', () => {
    expectMasked('123-45-6789', 'national-id');
    expectMasked('AB 12 34 56 C', 'national-id');
    expectMasked('AB123456C', 'national-id');
  });

  it('keeps numbers the schemes never issue', () => {
    for (const text of ['000-12-3456', '666-12-3456', '900-12-3456', '123-00-6789', 'QQ 12 34 56 C', 'GB 12 34 56 A']) {
      expectKept(text, []);
    }
  });
});

describe('masking a value', () => {
  it('masks every string inside objects and arrays, keeps keys and other values, and counts per kind', () => {
    const { value, counts } = maskPersonalDataDeep(
      {
        city: 'Call +44 20 7946 0958',
        attributes: { note: 'refund to GB82 WEST 1234 5698 7654 32', tries: 3, ok: true, none: null },
        tags: ['mail me@example.com', 'card 4111111111111111', 'ssn 123-45-6789'],
      },
      { phoneCountries: ['US'] },
    );
    expect(value).toEqual({
      city: 'Call [phone]',
      attributes: { note: 'refund to [iban]', tries: 3, ok: true, none: null },
      tags: ['mail [email]', 'card [card]', 'ssn [national-id]'],
    });
    expect(counts).toEqual({ email: 1, iban: 1, card: 1, 'national-id': 1, phone: 1 });
  });
});

describe('the hosted prompt', () => {
  const event = TransactionEvent.parse({
    transactionId: 't-pii-1',
    occurredAt: '2026-11-24T12:00:00Z',
    amount: { minor: 123_456, currency: 'USD' },
    cardToken: 'tok_1',
    customerId: 'cus_1',
    merchant: {
      id: 'm-1',
      name: 'ACME 4111 1111 1111 1111 fraud@evil.example (415) 555-2671',
      mcc: '5411',
      category: 'grocery +44 20 7946 0958',
      country: 'US',
    },
    channel: 'ecommerce',
    device: { type: 'phone of ssn 123-45-6789' },
    geo: { lat: 1, lon: 2, city: 'IBAN DE89370400440532013000' },
    attributes: { memo: 'buyer bob@example.org' },
  });
  const text = (audience: 'local' | 'hosted', fields?: string[]) =>
    buildScoringMessages(event, audience, fields)
      .map((m) => m.content)
      .join('\n');
  const secrets = [
    '4111 1111 1111 1111',
    'fraud@evil.example',
    '(415) 555-2671',
    '+44 20 7946 0958',
    '123-45-6789',
    'DE89370400440532013000',
    'bob@example.org',
  ];

  it('masks the summary line and every kept string, and keeps the amount and the MCC', () => {
    const hosted = text('hosted', ['customer', 'cardToken', 'customerId']);
    for (const secret of secrets) expect(hosted).not.toContain(secret);
    expect(hosted).toContain(
      'Transaction: 1234.56 USD at ACME [card] [email] [phone] (MCC 5411 grocery [phone], US) via ecommerce',
    );
    for (const placeholder of ['[national-id]', '[iban]', 'buyer [email]']) expect(hosted).toContain(placeholder);
  });

  it('leaves the local view whole', () => {
    const local = text('local');
    expect(local).toContain(event.merchant.name);
    expect(local).toContain('bob@example.org');
  });

  it('counts the masks per kind in fraudflow_personal_data_masked_total', async () => {
    const before = await countsByKind();
    const { masks } = hostedView(event, ['customer']);
    text('hosted', ['customer']);
    const after = await countsByKind();
    // Summary line: card, e-mail, two phones; view: national id, IBAN, e-mail (attributes kept).
    expect(masks).toEqual({ email: 1, iban: 1, card: 0, 'national-id': 1, phone: 0 });
    expect(delta(before, after)).toEqual({ email: 2, iban: 1, card: 1, 'national-id': 1, phone: 2 });
  });
});

async function countsByKind(): Promise<Record<string, number>> {
  const { values } = await metrics.personalDataMasked.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.kind), v.value]));
}

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}
