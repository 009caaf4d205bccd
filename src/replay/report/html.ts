/**
 * The backtest report as one self-contained HTML page, and the page comparing two reports. The JSON report holds the
 * same figures; this only lays them out.
 */
import { barChart, colors, scoreChart, shareChart } from './charts';
import type { ReportComparison } from './comparison';
import { compareReports } from './comparison';
import {
  describeThroughput,
  escapeHtml,
  fmtNum,
  formatMetric,
  formatMs,
  formatPercent,
  formatRatio,
  formatUsd,
  formatWallTime,
} from './format';
import { ratio } from './metrics';
import { card, legend, page, table } from './page';
import type { BacktestReport, OperatingPoint, Percentiles } from './schema';

/** Invalid rows shown in the page; the JSON report keeps them all. */
const maxInvalidRowsShown = 500;

function confusionTable(point: OperatingPoint): string {
  const m = point.matrix;
  return [
    '<table class="cm"><thead><tr><th>label \\ decision</th><th>flagged</th><th>not flagged</th></tr></thead><tbody>',
    `<tr><td>fraud</td><td class="tp">TP ${m.truePositives}</td><td class="fn">FN ${m.falseNegatives}</td></tr>`,
    `<tr><td>legit</td><td class="fp">FP ${m.falsePositives}</td><td class="tn">TN ${m.trueNegatives}</td></tr>`,
    '</tbody></table>',
  ].join('');
}

function summarySection(r: BacktestReport): string {
  return `<div class="cards">${[
    card('transactions scored', String(r.counts.scored)),
    card('invalid rows', String(r.counts.invalid)),
    card('F1 (flag = decline)', formatRatio(r.operatingPoints.decline.f1)),
    card('recall (flag = review or decline)', formatRatio(r.operatingPoints.reviewOrDecline.recall)),
    card('first-pass AUC', formatRatio(r.ranking.auc)),
    card('recall at 1% FPR (first pass)', formatPercent(r.ranking.recallAt1PctFpr)),
    card('recall at 5% FPR (first pass)', formatPercent(r.ranking.recallAt5PctFpr)),
    card('escalation rate', formatPercent(r.escalation.rate)),
    card('hosted share of model calls', formatPercent(r.modelCalls.hostedShare)),
    card('actual model cost', formatUsd(r.cost.actualUsd)),
    card('savings vs hosted-only', formatMetric(r.cost.savingsPct, 'percent')),
    card('model time p95', formatMs(r.latencyMs.model.p95)),
    card(`throughput (${r.throughput.measuredOver} wall time)`, formatMetric(r.throughput.rowsPerSecond, 'rows/s')),
  ].join('')}</div>`;
}

function decisionsSection(r: BacktestReport): string {
  const n = r.counts.scored;
  const rowsOf = (counts: Record<string, number>) =>
    Object.entries(counts).map(([k, v]) => [escapeHtml(k), String(v), formatPercent(ratio(v, n))]);
  return [
    '<h2>Decisions</h2><div class="cols"><div><h3>By outcome</h3>',
    table(['outcome', 'count', 'share'], rowsOf(r.decisions.byOutcome)),
    '</div><div><h3>By path</h3>',
    table(['path', 'count', 'share'], rowsOf(r.decisions.byPath)),
    '</div></div>',
  ].join('');
}

function detectionSection(r: BacktestReport): string {
  const points: Array<[string, OperatingPoint]> = [
    ['flag = decline', r.operatingPoints.decline],
    ['flag = review or decline', r.operatingPoints.reviewOrDecline],
  ];
  return [
    '<h2>Detection against labels</h2>',
    `<p class="note">${r.counts.labelled} labelled transactions: ${r.counts.fraud} fraud, ${r.counts.legit} legit; ${r.counts.unlabelled} unlabelled left out.</p>`,
    '<div class="cols">',
    ...points.map(([name, p]) => `<div><h3>${escapeHtml(name)}</h3>${confusionTable(p)}</div>`),
    '</div>',
    table(
      ['operating point', 'precision', 'recall', 'F1', 'accuracy', 'false-positive rate'],
      points.map(([name, p]) => [
        escapeHtml(name),
        formatRatio(p.precision),
        formatRatio(p.recall),
        formatRatio(p.f1),
        formatRatio(p.accuracy),
        formatRatio(p.falsePositiveRate),
      ]),
    ),
    rankingSection(r),
  ].join('');
}

/** The score-based figures, set beside the operating points: they hold whatever the thresholds. */
function rankingSection(r: BacktestReport): string {
  const g = r.ranking;
  return [
    '<h3>Ranking by the first-pass fraud probability</h3>',
    table(
      ['', 'labelled rows', 'ROC AUC', 'recall at 1% FPR', 'recall at 5% FPR'],
      [
        [
          'first pass',
          String(g.rows),
          formatRatio(g.auc),
          formatPercent(g.recallAt1PctFpr),
          formatPercent(g.recallAt5PctFpr),
        ],
      ],
    ),
    `<p class="note">Over labelled rows, whatever the thresholds; n/a without both fraud and legitimate labels. ${g.withoutFirstPass} row(s) had no first-pass probability and are ranked by their decision's riskScore: 1 for a rule decline, the fallback's score for a first pass that failed or never ran.</p>`,
  ].join('');
}

function scoreSection(r: BacktestReport): string {
  return [
    '<h2>Score distribution by label</h2>',
    legend([
      ['fraud (share of fraud)', colors.fraud],
      ['legit (share of legit)', colors.legit],
    ]),
    scoreChart(r),
    table(
      ['risk score', 'fraud', 'legit', 'unlabelled'],
      r.scoreDistribution.map((b, i) => [
        `${b.from.toFixed(1)}–${b.to.toFixed(1)}${i === r.scoreDistribution.length - 1 ? ' (incl.)' : ''}`,
        String(b.fraud),
        String(b.legit),
        String(b.unlabelled),
      ]),
    ),
  ].join('');
}

function modelsSection(r: BacktestReport): string {
  const t = r.tokens;
  return [
    '<h2>Escalation and model calls</h2>',
    `<p>Escalation rate: <strong>${formatPercent(r.escalation.rate)}</strong> (${r.escalation.transactions} of ${r.counts.scored} transactions had a hosted model call). Model calls: ${r.modelCalls.total}, of which ${r.modelCalls.failed} failed.</p>`,
    legend([
      ['local', colors.local],
      ['hosted', colors.hosted],
    ]),
    shareChart(r),
    '<div class="cols"><div><h3>Tokens by tier</h3>',
    table(
      ['tier', 'input', 'output'],
      [
        ['local', String(t.local.input), String(t.local.output)],
        ['hosted', String(t.hosted.input), String(t.hosted.output)],
      ],
    ),
    '</div><div><h3>Models used</h3>',
    table(
      ['model', 'provider', 'tier', 'calls', 'ok'],
      r.models.map((m) => [escapeHtml(m.model), escapeHtml(m.provider), m.tier, String(m.calls), String(m.ok)]),
      3,
    ),
    '</div></div>',
  ].join('');
}

function costSection(r: BacktestReport): string {
  const c = r.cost;
  return [
    '<h2>Cost</h2>',
    barChart(
      [
        { label: 'actual', value: c.actualUsd, display: formatUsd(c.actualUsd), color: colors.local },
        { label: 'hosted-only', value: c.hostedOnlyUsd, display: formatUsd(c.hostedOnlyUsd), color: colors.hosted },
      ],
      'actual cost vs hosted-only counterfactual',
    ),
    `<p>Saved ${formatUsd(c.savingsUsd)} (${formatMetric(c.savingsPct, 'percent')}) against sending every model call to the hosted tier.</p>`,
    `<p class="note">Hosted-only counterfactual = Σ over local calls (input tokens × $${fmtNum(c.hostedPricing.inputUsdPerMTok)} + output tokens × $${fmtNum(c.hostedPricing.outputUsdPerMTok)}) / 1M + the actual cost of the hosted calls.</p>`,
  ].join('');
}

function latencySection(r: BacktestReport): string {
  const l = r.latencyMs;
  const rows: Array<[string, Percentiles]> = [
    ['model time per transaction', l.model],
    ['end-to-end', l.endToEnd],
  ];
  const bars = rows.flatMap(([name, p]) =>
    (['p50', 'p95', 'p99'] as const)
      .filter(() => p.count > 0)
      .map((k) => ({
        label: `${name.split(' ')[0]} ${k}`,
        value: p[k] ?? 0,
        display: formatMs(p[k]),
        color: colors.bar,
      })),
  );
  return [
    '<h2>Latency</h2>',
    table(
      ['', 'transactions', 'p50', 'p95', 'p99'],
      rows.map(([name, p]) => [escapeHtml(name), String(p.count), formatMs(p.p50), formatMs(p.p95), formatMs(p.p99)]),
    ),
    bars.length > 0 ? barChart(bars, 'latency percentiles') : '',
    `<p>Throughput ${escapeHtml(describeThroughput(r))}.</p>`,
  ].join('');
}

function invalidSection(r: BacktestReport): string {
  if (r.invalidRows.length === 0) return '<h2>Invalid rows</h2><p>None.</p>';
  const shown = r.invalidRows.slice(0, maxInvalidRowsShown);
  const more = r.invalidRows.length - shown.length;
  return [
    `<h2>Invalid rows (${r.invalidRows.length})</h2>`,
    '<table><thead><tr><th>line</th><th>reason</th></tr></thead><tbody>',
    ...shown.map((row) => `<tr><td>${row.line}</td><td class="text">${escapeHtml(row.error)}</td></tr>`),
    '</tbody></table>',
    more > 0 ? `<p class="note">and ${more} more in the JSON report.</p>` : '',
  ].join('');
}

/** The policy-source warning first and in bold: a policy tuned on other data puts every figure below in doubt. */
function warningsSection(r: BacktestReport): string {
  if (r.warnings.length === 0) return '';
  const policyWarning = r.policySource?.warning;
  const lines = r.warnings.map((w) =>
    w === policyWarning ? `<div><strong>${escapeHtml(w)}</strong></div>` : `<div>${escapeHtml(w)}</div>`,
  );
  return `<div class="warn">${lines.join('')}</div>`;
}

function headerSection(r: BacktestReport, title: string): string {
  const tuned = r.policySource
    ? ` (${escapeHtml(r.policySource.policy)}, tuned on ${escapeHtml(r.policySource.tunedOn ?? 'a source not known here')})`
    : '';
  return [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">policy ${escapeHtml(r.policyHash)}${tuned} · approve below ${r.thresholds.approveBelow}, decline at ${r.thresholds.declineAt} · ${escapeHtml(r.startedAt)} → ${escapeHtml(r.finishedAt)} (${formatWallTime(r.throughput.durationMs)}, ${r.throughput.measuredOver} wall time) · ${r.counts.rows} rows</p>`,
  ].join('');
}

function comparisonTable(cmp: ReportComparison): string {
  const rows = cmp.metrics.map((m) => {
    const judged =
      m.delta === null || m.delta === 0 || m.better === null
        ? ''
        : m.delta > 0 === (m.better === 'higher')
          ? 'better'
          : 'worse';
    return [
      escapeHtml(m.label),
      formatMetric(m.a, m.unit),
      formatMetric(m.b, m.unit),
      judged
        ? `<span class="${judged}">${formatMetric(m.delta, m.unit, true)}</span>`
        : formatMetric(m.delta, m.unit, true),
    ];
  });
  return [
    cmp.samePolicy
      ? ''
      : `<p class="warn">The two runs used different policies: ${escapeHtml(cmp.a.policyHash)} vs ${escapeHtml(cmp.b.policyHash)}.</p>`,
    table(['metric', `A: ${escapeHtml(cmp.a.replayId)}`, `B: ${escapeHtml(cmp.b.replayId)}`, 'B − A'], rows),
  ].join('');
}

/**
 * One self-contained page (inline CSS and SVG, no scripts or external references). With `other`, a comparison table
 * too, taking `other` as the baseline: its deltas are this report minus `other`.
 */
export function renderReportHtml(report: BacktestReport, comparison?: { other: BacktestReport }): string {
  const body = [
    headerSection(report, `Backtest ${report.replayId}`),
    warningsSection(report),
    summarySection(report),
    comparison
      ? `<h2>Compared with ${escapeHtml(comparison.other.replayId)}</h2>${comparisonTable(compareReports(comparison.other, report))}`
      : '',
    decisionsSection(report),
    detectionSection(report),
    scoreSection(report),
    modelsSection(report),
    costSection(report),
    latencySection(report),
    invalidSection(report),
  ];
  return page(`fraudflow backtest ${report.replayId}`, body.join('\n'));
}

/** The `fraudflow report --compare` page: key metrics side by side (B − A), then each run's detection and scores. */
export function renderComparisonHtml(a: BacktestReport, b: BacktestReport): string {
  const cmp = compareReports(a, b);
  const side = (r: BacktestReport, name: string) =>
    `<div><h2>${escapeHtml(`${name}: ${r.replayId}`)}</h2>${warningsSection(r)}${detectionSection(r)}${scoreSection(r)}</div>`;
  const body = [
    `<h1>${escapeHtml(`Backtest comparison: ${a.replayId} vs ${b.replayId}`)}</h1>`,
    `<p class="meta">A: policy ${escapeHtml(a.policyHash)}, ${escapeHtml(a.startedAt)} · B: policy ${escapeHtml(b.policyHash)}, ${escapeHtml(b.startedAt)}</p>`,
    comparisonTable(cmp),
    side(a, 'A'),
    side(b, 'B'),
  ];
  return page(`fraudflow backtest comparison ${a.replayId} vs ${b.replayId}`, body.join('\n'));
}
