import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyModelError, retryAfterMs } from '../../src/errors';
import { ModelFailureType, nonRetryableModelFailures } from '../../src/failure-types';
import { usdReferenceRates } from '../../src/features/usd-rates';
import { iso4217MinorUnits } from '../../src/iso-4217';
import { currencyExponent, formatMoney, toMajorUnits } from '../../src/money';
import { Money } from '../../src/schemas/money';

describe('money', () => {
  it("uses each currency's ISO 4217 exponent", () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('BHD')).toBe(3);
    expect(toMajorUnits({ minor: 4_250, currency: 'USD' })).toBe(42.5);
    expect(toMajorUnits({ minor: 4_250, currency: 'JPY' })).toBe(4_250);
    expect(formatMoney({ minor: 1_234_567, currency: 'BHD' })).toBe('1234.567 BHD');
    expect(formatMoney({ minor: 5, currency: 'EUR' })).toBe('0.05 EUR');
  });

  it("takes minor units from the ISO 4217 table, never from the runtime's ICU data", () => {
    // ICU gives display digits: 0 for HUF, IDR, COP and IQD on Node 20, where ISO 4217 says 2, 2, 2 and 3.
    expect(currencyExponent('HUF')).toBe(2);
    expect(currencyExponent('IDR')).toBe(2);
    expect(currencyExponent('COP')).toBe(2);
    expect(currencyExponent('IQD')).toBe(3);
    expect(currencyExponent('ISK')).toBe(0);
    expect(currencyExponent('CLF')).toBe(4);
    expect(toMajorUnits({ minor: 150_000, currency: 'HUF' })).toBe(1_500);
    expect(formatMoney({ minor: 150_000, currency: 'HUF' })).toBe('1500.00 HUF');
    // Whatever the runtime's ICU data says, the answer is the table's.
    const icu = Intl.NumberFormat;
    const unreachable = () => {
      throw new Error('Intl.NumberFormat must not decide an exponent');
    };
    Intl.NumberFormat = unreachable as unknown as typeof Intl.NumberFormat;
    try {
      expect(currencyExponent('TWD')).toBe(2);
      expect(currencyExponent('LYD')).toBe(3);
    } finally {
      Intl.NumberFormat = icu;
    }
  });

  it('refuses a code outside the table, and the event schema refuses the same codes', () => {
    expect(() => currencyExponent('XYZ')).toThrow(/"XYZ" is not an ISO 4217 currency code/);
    expect(() => currencyExponent('usd')).toThrow(RangeError);
    expect(() => currencyExponent('constructor')).toThrow(RangeError);
    expect(Money.safeParse({ minor: 1, currency: 'XYZ' }).success).toBe(false);
    // No minor unit in ISO 4217 (gold, the SDR): no card payment is priced in them.
    expect(Money.safeParse({ minor: 1, currency: 'XAU' }).success).toBe(false);
    expect(Money.safeParse({ minor: 1, currency: 'XDR' }).success).toBe(false);
    // Withdrawn codes an older history may carry still parse.
    expect(Money.safeParse({ minor: 1, currency: 'BGN' }).success).toBe(true);
    expect(currencyExponent('BGN')).toBe(2);
  });

  it('knows every currency the card features convert', () => {
    const missing = Object.keys(usdReferenceRates).filter((c) => !iso4217MinorUnits.has(c));
    expect(missing).toEqual([]);
    // 165 current codes with a minor unit, 6 withdrawn since 2021.
    expect(iso4217MinorUnits.size).toBe(165 + 6);
  });
});

describe('model error classification', () => {
  const context = { provider: 'p', model: 'm', transactionId: 't' };
  const apiError = (status: number, headers: Record<string, string> = {}) =>
    OpenAI.APIError.generate(status, { error: { message: 'x' } }, 'x', new Headers(headers));

  it('maps statuses to the failure types Temporal retries or fails over on', () => {
    expect(classifyModelError(apiError(429, { 'retry-after': '3' }), context)).toMatchObject({
      type: ModelFailureType.rateLimited,
      retryAfterMs: 3000,
    });
    for (const status of [408, 409, 500, 503]) {
      expect(classifyModelError(apiError(status), context).type, String(status)).toBe(ModelFailureType.unavailable);
    }
    for (const status of [400, 401, 403, 404, 422]) {
      expect(classifyModelError(apiError(status), context).type, String(status)).toBe(ModelFailureType.rejected);
    }
    expect(classifyModelError(new OpenAI.APIConnectionTimeoutError(), context).type).toBe(ModelFailureType.unavailable);
    expect(classifyModelError(new Error('socket hang up'), context).type).toBe(ModelFailureType.unavailable);
  });

  it('never retries a rejected or misconfigured call, always retries an unavailable one', () => {
    expect(nonRetryableModelFailures).toContain(ModelFailureType.rejected);
    expect(nonRetryableModelFailures).toContain(ModelFailureType.misconfigured);
    expect(nonRetryableModelFailures).not.toContain(ModelFailureType.unavailable);
    expect(nonRetryableModelFailures).not.toContain(ModelFailureType.invalidOutput);
  });

  it('bounds Retry-After and reads it in seconds, milliseconds or as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '7200' }))).toBe(60_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
