import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyModelError, retryAfterMs } from '../../src/errors';
import { ModelFailureType, nonRetryableModelFailures } from '../../src/failure-types';
import { currencyExponent, formatMoney, toMajorUnits } from '../../src/money';

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
