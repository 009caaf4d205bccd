/** How the report page writes values: escaped text, ratios, percents, dollars, durations and compared metrics. */
import { fmtMs } from '../../observability/figures';
import type { MetricUnit } from './comparison';
import type { BacktestReport } from './schema';

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

/** A wall time as a person reads it: `850ms`, `42.10s`, `49 min 7 s`, `2 h 5 min`. */
export function formatWallTime(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms < 60_000) return fmtMs(ms);
  const s = Math.round(ms / 1000);
  return s < 3600
    ? `${Math.floor(s / 60)} min ${s % 60} s`
    : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const spans: Record<BacktestReport['throughput']['measuredOver'], string> = {
  command: "the replay command's wall time, from its start to its report",
  replay: "the replay workflow's wall time, from its first run's start to its close",
};

/** The throughput in words, with what each figure counts: the wall time first, then scoring alone. */
export function describeThroughput(r: BacktestReport): string {
  const t = r.throughput;
  const rate = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} rows/s`);
  return (
    `${rate(t.rowsPerSecond)}: ${r.counts.scored} rows in ${formatWallTime(t.durationMs)}, ${spans[t.measuredOver]}; ` +
    `scoring alone ${rate(t.scoring.rowsPerSecond)} (first to last decision, ${formatWallTime(t.scoring.durationMs)})`
  );
}

/** The ranking figures in one line: AUC, then recall at 1% and 5% false-positive rate. */
export function describeRanking(r: BacktestReport): string {
  const g = r.ranking;
  const stood = g.withoutFirstPass > 0 ? `, ${g.withoutFirstPass} ranked by their decision's riskScore` : '';
  return `AUC ${formatRatio(g.auc)}, recall ${formatPercent(g.recallAt1PctFpr)} at 1% FPR and ${formatPercent(g.recallAt5PctFpr)} at 5% FPR (${g.rows} labelled rows${stood})`;
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
