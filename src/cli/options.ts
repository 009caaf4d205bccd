/** Option parsers shared by the CLI's commands. */
import { InvalidArgumentError } from 'commander';

/**
 * A commander argParser for a numeric option: rejects anything that is not a finite number in range (commander
 * prints the message with the option's name and exits 1), so `--count abc` never becomes NaN.
 */
export function numberOption(opts: { min?: number; max?: number; integer?: boolean } = {}) {
  return (value: string): number => {
    const n = value.trim() === '' ? NaN : Number(value);
    const { min, max, integer } = opts;
    const range =
      min !== undefined && max !== undefined ? ` between ${min} and ${max}` : min !== undefined ? ` >= ${min}` : '';
    if (
      !Number.isFinite(n) ||
      (integer && !Number.isInteger(n)) ||
      (min !== undefined && n < min) ||
      (max !== undefined && n > max)
    ) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'}${range}, got '${value}'`);
    }
    return n;
  };
}

/** A commander argParser for an ISO 8601 date-time with an offset (`2026-12-29T08:12:00Z`). */
export function isoDateTime(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || isNaN(Date.parse(value))) {
    throw new InvalidArgumentError(
      `expected an ISO 8601 date-time with an offset (2026-12-29T08:12:00Z), got '${value}'`,
    );
  }
  return value;
}
