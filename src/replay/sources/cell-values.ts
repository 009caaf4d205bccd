/** Single CSV cells read as event values: timestamps, amounts and coordinates, exactly or not at all. */
import { currencyExponent } from '../../money';
import type { TimestampFormat } from './column-mapping';

export function parseCoordinate(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return undefined;
  return Number(text);
}

const dateTimePattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;

/** An ISO 8601 string with an offset, or why not. */
export function parseTimestamp(text: string, format: TimestampFormat): string | { error: string } {
  if (text === '') return { error: 'empty timestamp' };
  if (format === 'iso') return text; // TransactionEvent checks it, offset included
  if (format === 'unix-seconds') return parseUnixSeconds(text);
  return parseUtcDateTime(text);
}

function parseUnixSeconds(text: string): string | { error: string } {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return { error: `${JSON.stringify(text)} is not a count of Unix seconds` };
  const date = new Date(Math.round(Number(text) * 1000));
  return Number.isNaN(date.getTime()) ? { error: `${JSON.stringify(text)} is out of range` } : date.toISOString();
}

/** `YYYY-MM-DD HH:mm:ss`, a `T` separator and fractional seconds accepted, read as UTC. */
function parseUtcDateTime(text: string): string | { error: string } {
  const m = dateTimePattern.exec(text);
  if (!m) return { error: `${JSON.stringify(text)} does not match YYYY-MM-DD HH:mm:ss` };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] ? Number(m[7].slice(1, 4).padEnd(3, '0')) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC rolls 2019-02-30 over to March: a changed field means the input was no real date.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return { error: `${JSON.stringify(text)} is not a valid date and time` };
  }
  return date.toISOString();
}

/**
 * Integer minor units from a decimal string, without floating point: `"1077.69"` USD is 107769 and `"500"` JPY is
 * 500. Digits beyond the currency's exponent are accepted only when they are zeros; nothing is rounded.
 */
export function parseAmount(
  text: string,
  currency: string,
  unit: 'major' | 'minor' = 'major',
): number | { error: string } {
  let exponent: number;
  try {
    exponent = unit === 'minor' ? 0 : currencyExponent(currency);
  } catch {
    return { error: `${JSON.stringify(currency)} is not an ISO 4217 currency code` };
  }
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  const whole = m?.[1] ?? '';
  const fraction = m?.[2] ?? '';
  if (!m || (whole === '' && fraction === '')) {
    return { error: `${JSON.stringify(text)} is not a non-negative decimal amount` };
  }
  if (/[^0]/.test(fraction.slice(exponent))) {
    return unit === 'minor'
      ? { error: `${JSON.stringify(text)} is not a whole number of minor units` }
      : { error: `${JSON.stringify(text)} has more decimal places than ${currency} allows (${exponent})` };
  }
  const minor =
    BigInt(whole || '0') * 10n ** BigInt(exponent) + BigInt(fraction.slice(0, exponent).padEnd(exponent, '0') || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return { error: `${JSON.stringify(text)} is too large` };
  return Number(minor);
}
