/** `fraudflow quality` as text: the live-quality figures the metrics expose, one row per policy and window. */
import type { FlagLevel, WindowQuality } from './live-quality';
import type { LiveQuality } from './read-quality';

const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return 'n/a';
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)}m`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86_400).toFixed(1)}d`;
}

function ratesAt(q: WindowQuality, level: FlagLevel): string[] {
  const r = q.rates[level];
  return [pct(r.precision), pct(r.recall), pct(r.falsePositiveRate)];
}

function drift(q: WindowQuality): string {
  if (q.drift.psi === undefined) return q.drift.scored > 0 ? `n/a (${q.drift.scored} scored)` : 'n/a';
  return `${q.drift.psi.toFixed(3)}${q.drift.warning ? ' WARNING' : ''}`;
}

function columns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table, the counts below it, and a line per score drift warning. */
export function qualityTable(quality: LiveQuality, psiWarning: number): string {
  const header = [
    'policy',
    'window',
    'labelled',
    'fraud',
    'decline prec',
    'decline recall',
    'decline FPR',
    'flag prec',
    'flag recall',
    'flag FPR',
    'label delay',
    'PSI',
  ];
  const rows = quality.windows.map((q) => [
    q.policyHash,
    q.window,
    String(q.tally.labelled),
    String(q.tally.cells['approve|fraud'] + q.tally.cells['review|fraud'] + q.tally.cells['decline|fraud']),
    ...ratesAt(q, 'decline'),
    ...ratesAt(q, 'review_or_decline'),
    duration(q.meanLabelDelaySeconds),
    drift(q),
  ]);
  const c = quality.counts;
  const lines = [
    quality.windows.length ? columns([header, ...rows]) : 'no decisions in the last 30 days',
    '',
    '(flag = review or decline; label delay = mean time from decision to label; PSI of first-pass probabilities)',
    `decisions ${c.decisions} (+${c.decisionRedeliveries} later or repeated); labels ${c.labels}: ` +
      `${c.duplicateLabels} duplicate, ${c.conflictingLabels} conflicting (${c.replacedLabels} replaced, ` +
      `${c.keptLabels} kept by precedence), ${c.labelsBeforeDecision} before their decision ` +
      `(${c.labelsJoinedLate} joined since, ${quality.awaitingDecision} still waiting); ` +
      `${c.deadLetteredLabels} dead-lettered`,
  ];
  for (const q of quality.windows.filter((w) => w.drift.warning)) {
    lines.push(
      `WARNING: score drift on ${q.policyHash} over ${q.window}: PSI ${q.drift.psi?.toFixed(3)} > ${psiWarning}; ` +
        `the policy's thresholds and expected figures may no longer hold (re-tune: fraudflow tune)`,
    );
  }
  if (quality.windows.length && quality.driftMeasured.length === 0) {
    lines.push('score drift not measured: the policy file has no tuning score distribution (re-tune to record one)');
  }
  return lines.join('\n');
}
