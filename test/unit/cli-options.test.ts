import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { isoDateTime, numberOption } from '../../src/cli/options';

describe('numeric CLI options', () => {
  it('parse numbers in range', () => {
    expect(numberOption({ min: 1, integer: true })('40')).toBe(40);
    expect(numberOption({ min: 0, max: 1 })('0.03')).toBe(0.03);
  });

  it.each([
    ['abc', { min: 1, integer: true }, /expected an integer >= 1, got 'abc'/],
    ['', { min: 0 }, /got ''/],
    ['1.5', { integer: true }, /expected an integer/],
    ['2', { min: 0, max: 1 }, /between 0 and 1, got '2'/],
    ['-1', { min: 0 }, />= 0/],
    ['Infinity', {}, /expected a number/],
  ])('reject %j instead of passing NaN or out-of-range values on', (value, opts, message) => {
    expect(() => numberOption(opts)(value)).toThrow(InvalidArgumentError);
    expect(() => numberOption(opts)(value)).toThrow(message);
  });
});

describe('date-time CLI options', () => {
  it('take an ISO 8601 date-time with an offset as it is', () => {
    expect(isoDateTime('2026-12-29T08:12:00Z')).toBe('2026-12-29T08:12:00Z');
    expect(isoDateTime('2026-12-29T08:12:00.5+01:00')).toBe('2026-12-29T08:12:00.5+01:00');
  });

  it.each(['yesterday', '2026-12-29', '2026-12-29T08:12:00', '2026-13-45T08:12:00Z'])('refuse %j', (value) => {
    expect(() => isoDateTime(value)).toThrow(InvalidArgumentError);
  });
});
