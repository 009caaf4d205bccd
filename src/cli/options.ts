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
