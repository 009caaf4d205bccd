/** How the report page writes values: escaped text, ratios, percents, dollars, durations and compared metrics. */
import { fmtMs } from '../../observability/figures';
import type { MetricUnit } from './comparison';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function formatRatio(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(3);
}

export function formatPercent(fraction: number | null): string {
  return fraction === null ? 'n/a' : `${(fraction * 100).toFixed(1)}%`;
}

export function formatUsd(usd: number | null): string {
  return usd === null ? 'n/a' : `$${usd.toFixed(6)}`;
}

export function formatMs(ms: number | null): string {
  return ms === null ? 'n/a' : fmtMs(ms);
}

export function formatMetric(value: number | null, unit: MetricUnit, signed = false): string {
  if (value === null) return 'n/a';
  const sign = signed && value > 0 ? '+' : '';
  switch (unit) {
    case 'count':
      return `${sign}${value}`;
    case 'ratio':
      return `${sign}${value.toFixed(3)}`;
    case 'percent':
      return `${sign}${value.toFixed(1)}%`;
    case 'usd':
      return value < 0 ? `-$${(-value).toFixed(6)}` : `${sign}$${value.toFixed(6)}`;
    case 'ms':
      return value < 0 ? `-${fmtMs(-value)}` : `${sign}${fmtMs(value)}`;
    case 'rows/s':
      return `${sign}${value.toFixed(2)} rows/s`;
  }
}

/** A per-million-token price as configured: `10`, or `2.50`. */
export function fmtNum(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
