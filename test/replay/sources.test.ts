import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  creditCardTransactionsMapping,
  detectFormat,
  mappingFor,
  parseAmount,
  parseColumnMapping,
  readCsv,
  readJsonl,
} from '../../src/replay/sources';
import type { ColumnMapping, ReplayRow } from '../../src/replay/sources';
import { TransactionEvent } from '../../src/schemas/transaction-event';

const fixtures = path.join(__dirname, '..', 'fixtures');
const creditCardSample = path.join(fixtures, 'credit-card-sample.csv');

async function collect(rows: AsyncIterable<ReplayRow>): Promise<ReplayRow[]> {
  const out: ReplayRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

function events(rows: ReplayRow[]): TransactionEvent[] {
  return rows.flatMap((r) => ('event' in r ? [r.event] : []));
}

function errors(rows: ReplayRow[]): Array<{ line: number; error: string; raw: string }> {
  return rows.flatMap((r) => ('error' in r ? [r] : []));
}

describe('readJsonl', () => {
  it('yields one event per valid line and an error row with its line number for bad JSON and schema violations', async () => {
    const rows = await collect(readJsonl(path.join(fixtures, 'replay-sample.jsonl')));
    // Line 2 is blank and skipped; lines 3 and 4 are broken.
    expect(rows.map((r) => [r.line, 'event' in r ? 'event' : 'error'])).toEqual([
      [1, 'event'],
      [3, 'error'],
      [4, 'error'],
    ]);
    const [valid] = events(rows);
    expect(TransactionEvent.parse(valid)).toEqual(valid);
    expect(valid?.transactionId).toBe('txn-replay-1');

    const [badJson, badSchema] = errors(rows);
    expect(badJson?.error).toMatch(/^invalid JSON: /);
    expect(badJson?.raw).toContain('"txn-replay-2"');
    expect(badSchema?.error).toContain('→ at occurredAt');
    expect(badSchema?.error).toContain('→ at amount.minor');
    expect(badSchema?.raw).toContain('"txn-replay-3"');
  });

  it('rejects a file that does not exist instead of yielding nothing', async () => {
    await expect(collect(readJsonl(path.join(fixtures, 'no-such-file.jsonl')))).rejects.toThrow(/ENOENT/);
  });
});

describe('readCsv with the credit-card transactions layout', () => {
  // The card numbers in the fixture: none may survive into an event.
  const pans = [
    '2703186189652095',
    '630423337322',
    '4613314721966',
    '3534093764340240',
    '375534208663984',
    '4767265376804500',
  ];

  it('turns each data row into a TransactionEvent, numbering lines from the header as line 1', async () => {
    const rows = await collect(readCsv(creditCardSample, creditCardTransactionsMapping));
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7]);
    const parsed = events(rows);
    expect(parsed).toHaveLength(5);
    for (const event of parsed) expect(TransactionEvent.parse(event)).toEqual(event);
    const first = parsed[0];
    expect(first).toMatchObject({
      transactionId: '0b242abb623afc578575680df30655b9',
      occurredAt: '2019-01-01T00:00:18.000Z',
      amount: { minor: 497, currency: 'USD' },
      merchant: { name: 'Rippin, Kub and Mann', category: 'misc_net', mcc: '5999', country: 'US' },
      channel: 'ecommerce',
      cardholderCountry: 'US',
      geo: { lat: 36.0788, lon: -81.1781, city: 'Moravian Falls', country: 'US' },
      customer: {
        name: 'Jennifer Banks',
        address: '561 Perry Cove, Moravian Falls, NC 28654',
        dateOfBirth: '1988-03-09',
      },
      label: { isFraud: false, source: 'credit-card-transactions' },
    });
  });

  it('converts decimal amounts to exact integer minor units', async () => {
    const parsed = events(await collect(readCsv(creditCardSample, creditCardTransactionsMapping)));
    // 4.97, 107.23, 1077.69, 45.0 and 94.63 USD.
    expect(parsed.map((e) => e.amount.minor)).toEqual([497, 10723, 107769, 4500, 9463]);
  });

  it('maps categories to ISO 18245 codes and channels, and reads the fraud label', async () => {
    const parsed = events(await collect(readCsv(creditCardSample, creditCardTransactionsMapping)));
    expect(parsed.map((e) => [e.merchant.category, e.merchant.mcc, e.channel, e.label?.isFraud])).toEqual([
      ['misc_net', '5999', 'ecommerce', false],
      ['grocery_pos', '5411', 'card_present', false],
      ['shopping_net', '5311', 'ecommerce', true],
      ['gas_transport', '5541', 'card_present', false],
      ['gas_transport', '5541', 'card_present', false],
    ]);
    expect(parsed.filter((e) => e.label?.isFraud).map((e) => e.transactionId)).toEqual([
      'e8a81877ae9a0a7f883e15cb39dc4022',
    ]);
  });

  it('never lets a card number into an event: cards and customers become stable tokens', async () => {
    const text = readFileSync(creditCardSample, 'utf8');
    for (const pan of pans) expect(text).toContain(pan);

    const parsed = events(await collect(readCsv(creditCardSample, creditCardTransactionsMapping)));
    const json = JSON.stringify(parsed);
    for (const pan of pans) expect(json).not.toContain(pan);
    for (const event of parsed) {
      expect(event.cardToken).toMatch(/^tok_[0-9a-f]{24}$/);
      expect(event.customerId).toBe(`cus_${event.cardToken.slice(4)}`);
      expect(event.merchant.id).toMatch(/^mer_[0-9a-f]{24}$/);
    }
    expect(new Set(parsed.map((e) => e.cardToken)).size).toBe(5);

    const again = events(await collect(readCsv(creditCardSample, creditCardTransactionsMapping)));
    expect(again.map((e) => e.cardToken)).toEqual(parsed.map((e) => e.cardToken));
    const otherKey = events(
      await collect(readCsv(creditCardSample, { ...creditCardTransactionsMapping, tokenKey: 'another-secret' })),
    );
    expect(otherKey[0]?.cardToken).not.toBe(parsed[0]?.cardToken);
  });

  it('reports the row with a broken amount at its line, with the card number masked in its raw text', async () => {
    const rows = await collect(readCsv(creditCardSample, creditCardTransactionsMapping));
    const broken = errors(rows);
    expect(broken).toHaveLength(1);
    expect(broken[0]?.line).toBe(6);
    expect(broken[0]?.error).toContain('"12.x" is not a non-negative decimal amount');
    expect(broken[0]?.error).toContain('→ at amount.minor');
    expect(broken[0]?.raw).toContain('fraud_Keeling-Crist,misc_pos,12.x');
    expect(broken[0]?.raw).toContain('***********3984');
    expect(broken[0]?.raw).not.toContain('375534208663984');
  });

  it('mappingFor returns the credit-card mapping', () => {
    expect(mappingFor('credit-card-transactions')).toBe(creditCardTransactionsMapping);
  });

  it('a consumer can stop early without the reader hanging', async () => {
    for await (const row of readCsv(creditCardSample, creditCardTransactionsMapping)) {
      expect(row.line).toBe(2);
      break;
    }
  });
});

describe('readCsv with a declarative mapping over awkward input', () => {
  const mapping: ColumnMapping = {
    name: 'edge-cases',
    transactionId: 'txn',
    occurredAt: { column: 'when', format: 'unix-seconds' },
    amount: { column: 'amount', currency: 'currency' },
    cardToken: { column: 'card', tokenize: 'tok_' },
    customerId: 'customer',
    merchant: { id: { column: 'merchant', tokenize: 'mer_' }, name: 'merchant', mcc: 'mcc', country: { value: 'DE' } },
    channel: 'channel',
    label: { column: 'fraud', truthy: ['yes'], falsy: ['no'] },
  };

  it('keeps line numbers exact across CRLF, a blank line and a quoted multi-line field, and goes on after bad records', async () => {
    const rows = await collect(readCsv(path.join(fixtures, 'replay-edge-cases.csv'), mapping));
    expect(rows.map((r) => [r.line, 'event' in r ? r.event.transactionId : 'error'])).toEqual([
      [2, 't-1'],
      [4, 't-2'], // spans lines 4-5; line 3 is blank
      [6, 'error'], // too few fields
      [7, 'error'], // a quote inside an unquoted field
      [8, 'error'], // label "maybe"
      [9, 'error'], // 2.001 USD
      [10, 't-7'], // last line, no trailing newline
    ]);
    const [t1, t2, t7] = events(rows);
    expect(t1).toMatchObject({ occurredAt: '2023-11-14T22:13:20.000Z', amount: { minor: 1050, currency: 'EUR' } });
    expect(t1?.label).toEqual({ isFraud: false });
    expect(t2).toMatchObject({ amount: { minor: 1200, currency: 'JPY' }, merchant: { name: 'Multi\nline Store' } });
    expect(t2?.label).toEqual({ isFraud: true });
    expect(t7).toMatchObject({ channel: 'atm', amount: { minor: 500, currency: 'USD' } });

    const [short, quote, label, digits] = errors(rows);
    expect(short?.error).toMatch(/Invalid Record Length/);
    expect(short?.raw).toBe('t-3,1700000120,3.5,USD,card-c,cust-c,Short Row');
    expect(quote?.error).toMatch(/Invalid Opening Quote/);
    expect(label?.error).toContain('"maybe" is neither "yes" nor "no"');
    expect(digits?.error).toContain('"2.001" has more decimal places than USD allows (2)');
  });

  it('a header without the mapped columns is one error row at line 1', async () => {
    const rows = await collect(readCsv(path.join(fixtures, 'replay-edge-cases.csv'), creditCardTransactionsMapping));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.line).toBe(1);
    expect('error' in rows[0]! && rows[0].error).toMatch(/header lacks column\(s\) "trans_num", "cc_num"/);
  });
});

describe('parseAmount', () => {
  it('parses decimal strings into minor units by the currency exponent, without floating point', () => {
    expect(parseAmount('4.97', 'USD')).toBe(497);
    expect(parseAmount('1077.69', 'USD')).toBe(107769);
    expect(parseAmount('1.15', 'USD')).toBe(115); // 1.15 * 100 is 114.99999999999999 in floating point
    expect(parseAmount('4.970', 'USD')).toBe(497);
    expect(parseAmount('7', 'USD')).toBe(700);
    expect(parseAmount('.5', 'USD')).toBe(50);
    expect(parseAmount('1200', 'JPY')).toBe(1200);
    expect(parseAmount('0.999', 'BHD')).toBe(999);
    expect(parseAmount('90071992547409.91', 'USD')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseAmount('1234', 'USD', 'minor')).toBe(1234);
  });

  it('rejects what it cannot represent exactly', () => {
    for (const [text, currency] of [
      ['12.x', 'USD'],
      ['-1.00', 'USD'],
      ['1e3', 'USD'],
      ['.', 'USD'],
      ['', 'USD'],
      ['1.5', 'JPY'],
      ['2.001', 'USD'],
      ['90071992547409.92', 'USD'],
      ['1.00', 'XYZ1'],
    ] as const) {
      expect(parseAmount(text, currency), `${text} ${currency}`).toHaveProperty('error');
    }
  });
});

describe('detectFormat', () => {
  it('tells JSONL from CSV by extension', () => {
    expect(detectFormat('a/b.jsonl')).toBe('jsonl');
    expect(detectFormat('b.NDJSON')).toBe('jsonl');
    expect(detectFormat('b.json')).toBe('jsonl');
    expect(detectFormat('fraudTest.csv')).toBe('csv');
    expect(() => detectFormat('data.parquet')).toThrow(/cannot tell the format/);
  });
});

describe('parseColumnMapping', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fraudflow-mapping-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `content` as a mapping file and reads it back the way `replay --mapping-file` does. */
  function readMappingFile(name: string, content: unknown): { file: string; read: () => ColumnMapping } {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(content, null, 2));
    return { file, read: () => parseColumnMapping(JSON.parse(readFileSync(file, 'utf8')), file) };
  }

  it('a built-in mapping parses unchanged, as a value and through a JSON file', () => {
    expect(parseColumnMapping(creditCardTransactionsMapping, 'credit-card-transactions')).toEqual(
      creditCardTransactionsMapping,
    );
    expect(readMappingFile('built-in.json', creditCardTransactionsMapping).read()).toEqual(
      creditCardTransactionsMapping,
    );
  });

  it('a mapping read from a file converts the fixture exactly as the built-in mapping does', async () => {
    const mapping = readMappingFile('same-as-built-in.json', creditCardTransactionsMapping).read();
    expect(await collect(readCsv(creditCardSample, mapping))).toEqual(
      await collect(readCsv(creditCardSample, creditCardTransactionsMapping)),
    );
  });

  it('a mapping file without a required field throws an error naming the file and the field', () => {
    const { transactionId: _, ...withoutId } = creditCardTransactionsMapping;
    const { file, read } = readMappingFile('missing-field.json', withoutId);
    expect(read).toThrow(file);
    expect(read).toThrow(/→ at transactionId/);
  });

  it('a mapping file with a wrong-typed field throws an error naming the file and the field', () => {
    const { file, read } = readMappingFile('wrong-type.json', {
      ...creditCardTransactionsMapping,
      amount: { column: 42, currency: { value: 'USD' } },
    });
    expect(read).toThrow(file);
    expect(read).toThrow(/expected string, received number\n {2}→ at amount\.column/);
  });

  it('a misspelt tokenize is rejected rather than letting the card number through untokenized', () => {
    const { file, read } = readMappingFile('misspelt.json', {
      ...creditCardTransactionsMapping,
      cardToken: { column: 'cc_num', tokenise: 'tok_' },
    });
    expect(read).toThrow(file);
    expect(read).toThrow(/Unrecognized key: "tokenise"\n {2}→ at cardToken/);
  });
});
