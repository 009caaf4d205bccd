/**
 * Backtest reports: what a replay's decisions say about detection quality, escalation, cost and latency, compared
 * with the ground-truth labels of the historical data. Pure functions: the replay command gathers the rows and
 * writes the JSON and HTML these return.
 */
import { z } from 'zod';
import { fmtMs, percentile } from '../observability/figures';
import type { Decision, DecisionOutcome } from '../schemas/decision';

/** One replayed transaction: its decision and, when the source is labelled, the ground truth. */
export interface ScoredRow {
  decision: Decision;
  label?: { isFraud: boolean };
  /**
   * When the replay submitted the transaction (ISO 8601). End-to-end latency is `decidedAt` minus the decision
   * source's timestamp (Kafka), else minus this; rows with neither are left out of it. @default undefined
   */
  submittedAt?: string;
}

export interface BacktestOptions {
  replayId: string;
  policyHash: string;
  thresholds: { approveBelow: number; declineAt: number };
  /** Prices of the hosted model the hosted-only counterfactual is priced at. */
  hostedPricing: { inputUsdPerMTok: number; outputUsdPerMTok: number };
  startedAt: string;
  finishedAt: string;
  /** Source rows that never became a transaction (bad JSON, schema violations, unreadable CSV). */
  invalidRows: Array<{ line: number; error: string }>;
}

/** Division by zero is `null`, never NaN or Infinity. */
const Ratio = z.number().nullable();
const Count = z.number().int().nonnegative();

export const ConfusionMatrix = z.object({
  truePositives: Count,
  falsePositives: Count,
  trueNegatives: Count,
  falseNegatives: Count,
});
export type ConfusionMatrix = z.infer<typeof ConfusionMatrix>;

/** Detection quality when the decisions in `flagged` count as "fraud"; positives are fraud labels. */
export const OperatingPoint = z.object({
  flagged: z.array(z.enum(['approve', 'review', 'decline'])),
  matrix: ConfusionMatrix,
  precision: Ratio,
  recall: Ratio,
  f1: Ratio,
  accuracy: Ratio,
  falsePositiveRate: Ratio,
});
export type OperatingPoint = z.infer<typeof OperatingPoint>;

/** Nearest-rank percentiles (as in the live progress line) over `count` values; null when there are none. */
export const Percentiles = z.object({ count: Count, p50: Ratio, p95: Ratio, p99: Ratio });
export type Percentiles = z.infer<typeof Percentiles>;

const Tokens = z.object({ input: Count, output: Count });

export const BacktestReport = z.object({
  schemaVersion: z.literal(1),
  replayId: z.string(),
  policyHash: z.string(),
  thresholds: z.object({ approveBelow: z.number(), declineAt: z.number() }),
  startedAt: z.string(),
  finishedAt: z.string(),
  counts: z.object({
    /** scored + invalid */
    rows: Count,
    scored: Count,
    invalid: Count,
    labelled: Count,
    fraud: Count,
    legit: Count,
    unlabelled: Count,
  }),
  decisions: z.object({
    byOutcome: z.object({ approve: Count, review: Count, decline: Count }),
    byPath: z.object({ rules: Count, local: Count, escalated: Count, fallback: Count }),
  }),
  /** Against labelled rows only. */
  operatingPoints: z.object({ decline: OperatingPoint, reviewOrDecline: OperatingPoint }),
  /** Ten buckets of riskScore, [from, to) except the last, which includes 1. */
  scoreDistribution: z.array(
    z.object({ from: z.number(), to: z.number(), fraud: Count, legit: Count, unlabelled: Count }),
  ),
  /** Transactions with at least one hosted model call, whatever its outcome. */
  escalation: z.object({ transactions: Count, rate: Ratio }),
  modelCalls: z.object({
    total: Count,
    local: Count,
    hosted: Count,
    /** Calls whose outcome is not `ok`. */
    failed: Count,
    localShare: Ratio,
    hostedShare: Ratio,
  }),
  tokens: z.object({ local: Tokens, hosted: Tokens }),
  cost: z.object({
    actualUsd: z.number(),
    hostedOnlyUsd: z.number(),
    savingsUsd: z.number(),
    /** Percent (0..100) of the hosted-only cost saved; null when that cost is 0. */
    savingsPct: Ratio,
    hostedPricing: z.object({ inputUsdPerMTok: z.number(), outputUsdPerMTok: z.number() }),
  }),
  latencyMs: z.object({
    /** Sum of a transaction's model call latencies, over transactions with at least one call. */
    model: Percentiles,
    /** decidedAt minus source time, over transactions where it is known. */
    endToEnd: Percentiles,
  }),
  models: z.array(
    z.object({ model: z.string(), provider: z.string(), tier: z.enum(['local', 'hosted']), calls: Count, ok: Count }),
  ),
  throughput: z.object({ durationMs: z.number().nullable(), rowsPerSecond: Ratio }),
  invalidRows: z.array(z.object({ line: z.number().int(), error: z.string() })),
  warnings: z.array(z.string()),
});
export type BacktestReport = z.infer<typeof BacktestReport>;

const scoreBuckets = 10;

/**
 * The rows as the challenger scored in shadow would have decided them: its outcome and probability from its first
 * pass alone (no escalation, so no hosted cost); a row it failed to score goes to review, as a failed first pass
 * does. Rows without a shadow answer are left out.
 */
export function challengerRows(rows: readonly ScoredRow[]): ScoredRow[] {
  return rows.flatMap((row) => {
    const shadow = row.decision.shadow;
    if (!shadow) return [];
    const answer =
      shadow.outcome === 'ok' && shadow.decision && shadow.riskScore !== undefined
        ? { decision: shadow.decision, riskScore: shadow.riskScore, path: 'local' as const }
        : { decision: 'review' as const, riskScore: 0.5, path: 'fallback' as const };
    const decision: Decision = {
      ...row.decision,
      ...answer,
      policyHash: shadow.policyHash,
      modelCalls: [],
    };
    return [{ ...row, decision }];
  });
}

export function buildBacktestReport(rows: ScoredRow[], opts: BacktestOptions): BacktestReport {
  const byOutcome = { approve: 0, review: 0, decline: 0 };
  const byPath = { rules: 0, local: 0, escalated: 0, fallback: 0 };
  const buckets = Array.from({ length: scoreBuckets }, (_, i) => ({
    from: i / scoreBuckets,
    to: (i + 1) / scoreBuckets,
    fraud: 0,
    legit: 0,
    unlabelled: 0,
  }));
  const calls = { total: 0, local: 0, hosted: 0, failed: 0 };
  const tokens = { local: { input: 0, output: 0 }, hosted: { input: 0, output: 0 } };
  const models = new Map<string, BacktestReport['models'][number]>();
  const modelLatencies: number[] = [];
  const endToEndLatencies: number[] = [];
  let fraud = 0;
  let legit = 0;
  let escalated = 0;
  let actualUsd = 0;
  let localTokensAtHostedUsd = 0;
  let hostedCallsUsd = 0;
  let otherPolicy = 0;
  const seen = new Set<string>();
  let duplicates = 0;
  const { inputUsdPerMTok, outputUsdPerMTok } = opts.hostedPricing;

  for (const { decision, label, submittedAt } of rows) {
    byOutcome[decision.decision]++;
    byPath[decision.path]++;
    if (decision.policyHash !== opts.policyHash) otherPolicy++;
    if (seen.has(decision.transactionId)) duplicates++;
    else seen.add(decision.transactionId);

    const bucket = buckets[Math.min(scoreBuckets - 1, Math.floor(decision.riskScore * scoreBuckets + 1e-9))];
    if (bucket) {
      if (label === undefined) bucket.unlabelled++;
      else if (label.isFraud) bucket.fraud++;
      else bucket.legit++;
    }
    if (label?.isFraud === true) fraud++;
    else if (label?.isFraud === false) legit++;

    let modelMs = 0;
    for (const call of decision.modelCalls) {
      calls.total++;
      calls[call.tier]++;
      if (call.outcome !== 'ok') calls.failed++;
      tokens[call.tier].input += call.inputTokens;
      tokens[call.tier].output += call.outputTokens;
      actualUsd += call.costUsd;
      if (call.tier === 'local') {
        localTokensAtHostedUsd += (call.inputTokens * inputUsdPerMTok + call.outputTokens * outputUsdPerMTok) / 1e6;
      } else hostedCallsUsd += call.costUsd;
      modelMs += call.latencyMs;
      const key = `${call.tier}\u0000${call.provider}\u0000${call.model}`;
      const used = models.get(key) ?? { model: call.model, provider: call.provider, tier: call.tier, calls: 0, ok: 0 };
      used.calls++;
      if (call.outcome === 'ok') used.ok++;
      models.set(key, used);
    }
    if (decision.modelCalls.length > 0) modelLatencies.push(modelMs);
    if (decision.modelCalls.some((c) => c.tier === 'hosted')) escalated++;

    const sourceTime = decision.source.kind === 'kafka' ? decision.source.timestamp : submittedAt;
    if (sourceTime !== undefined) {
      const ms = Date.parse(decision.decidedAt) - Date.parse(sourceTime);
      if (Number.isFinite(ms)) endToEndLatencies.push(ms);
    }
  }

  const scored = rows.length;
  const labelled = fraud + legit;
  // Hosted-only counterfactual: every local call's tokens priced at the hosted model's prices, plus what the hosted
  // calls actually cost:  Σ_local (inputTokens·inputUsdPerMTok + outputTokens·outputUsdPerMTok) / 1e6 + Σ_hosted costUsd.
  // Token counts are the local model's; a hosted tokenizer and the redacted hosted prompt would differ somewhat.
  // Rule-only decisions make no call in either world; an escalated transaction counts its local pass at hosted prices
  // as well as the escalation itself.
  const hostedOnlyUsd = roundUsd(localTokensAtHostedUsd + hostedCallsUsd);
  const actual = roundUsd(actualUsd);
  const durationMs = Date.parse(opts.finishedAt) - Date.parse(opts.startedAt);
  const validDuration = Number.isFinite(durationMs) ? durationMs : null;

  const warnings: string[] = [];
  if (otherPolicy > 0) {
    warnings.push(`${otherPolicy} decision(s) carry a policyHash other than ${opts.policyHash}`);
  }
  if (duplicates > 0) warnings.push(`${duplicates} decision(s) repeat a transactionId already seen`);
  if (scored - labelled > 0) {
    warnings.push(`${scored - labelled} decision(s) have no label and are left out of the confusion matrices`);
  }

  return {
    schemaVersion: 1,
    replayId: opts.replayId,
    policyHash: opts.policyHash,
    thresholds: { ...opts.thresholds },
    startedAt: opts.startedAt,
    finishedAt: opts.finishedAt,
    counts: {
      rows: scored + opts.invalidRows.length,
      scored,
      invalid: opts.invalidRows.length,
      labelled,
      fraud,
      legit,
      unlabelled: scored - labelled,
    },
    decisions: { byOutcome, byPath },
    operatingPoints: {
      decline: operatingPoint(rows, ['decline']),
      reviewOrDecline: operatingPoint(rows, ['review', 'decline']),
    },
    scoreDistribution: buckets,
    escalation: { transactions: escalated, rate: ratio(escalated, scored) },
    modelCalls: {
      ...calls,
      localShare: ratio(calls.local, calls.total),
      hostedShare: ratio(calls.hosted, calls.total),
    },
    tokens,
    cost: {
      actualUsd: actual,
      hostedOnlyUsd,
      savingsUsd: roundUsd(hostedOnlyUsd - actual),
      savingsPct: hostedOnlyUsd > 0 ? ((hostedOnlyUsd - actual) / hostedOnlyUsd) * 100 : null,
      hostedPricing: { inputUsdPerMTok, outputUsdPerMTok },
    },
    latencyMs: { model: percentiles(modelLatencies), endToEnd: percentiles(endToEndLatencies) },
    models: [...models.values()].sort((a, b) => b.calls - a.calls || a.model.localeCompare(b.model)),
    throughput: {
      durationMs: validDuration,
      rowsPerSecond: validDuration !== null && validDuration > 0 ? scored / (validDuration / 1000) : null,
    },
    invalidRows: opts.invalidRows.map(({ line, error }) => ({ line, error })),
    warnings,
  };
}

function operatingPoint(rows: ScoredRow[], flagged: DecisionOutcome[]): OperatingPoint {
  const m = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (const { decision, label } of rows) {
    if (label === undefined) continue;
    const flag = flagged.includes(decision.decision);
    if (label.isFraud) m[flag ? 'truePositives' : 'falseNegatives']++;
    else m[flag ? 'falsePositives' : 'trueNegatives']++;
  }
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = m;
  return {
    flagged,
    matrix: m,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    // 2PR/(P+R) written over counts: defined whenever there is any positive label or flag.
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    falsePositiveRate: ratio(fp, fp + tn),
  };
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, p50: null, p95: null, p99: null };
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

/** Nano-dollar precision: enough for per-token prices, without float noise like 0.30000000000000004. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison

export type MetricUnit = 'count' | 'ratio' | 'percent' | 'usd' | 'ms' | 'rows/s';

export interface MetricComparison {
  key: string;
  label: string;
  unit: MetricUnit;
  /** Which direction is an improvement; null when neither is. */
  better: 'higher' | 'lower' | null;
  a: number | null;
  b: number | null;
  /** b − a; null when either side is null. */
  delta: number | null;
}

export interface ReportComparison {
  a: { replayId: string; policyHash: string; startedAt: string };
  b: { replayId: string; policyHash: string; startedAt: string };
  samePolicy: boolean;
  metrics: MetricComparison[];
}

type MetricDefinition = [
  key: string,
  label: string,
  unit: MetricUnit,
  better: 'higher' | 'lower' | null,
  read: (r: BacktestReport) => number | null,
];

const comparedMetrics: MetricDefinition[] = [
  ['counts.scored', 'Transactions scored', 'count', null, (r) => r.counts.scored],
  ['counts.invalid', 'Invalid rows', 'count', 'lower', (r) => r.counts.invalid],
  [
    'decisions.declineRate',
    'Decline rate',
    'ratio',
    null,
    (r) => ratio(r.decisions.byOutcome.decline, r.counts.scored),
  ],
  [
    'decisions.reviewRate',
    'Review rate',
    'ratio',
    'lower',
    (r) => ratio(r.decisions.byOutcome.review, r.counts.scored),
  ],
  ['decline.precision', 'Precision (flag = decline)', 'ratio', 'higher', (r) => r.operatingPoints.decline.precision],
  ['decline.recall', 'Recall (flag = decline)', 'ratio', 'higher', (r) => r.operatingPoints.decline.recall],
  ['decline.f1', 'F1 (flag = decline)', 'ratio', 'higher', (r) => r.operatingPoints.decline.f1],
  [
    'decline.falsePositiveRate',
    'False-positive rate (flag = decline)',
    'ratio',
    'lower',
    (r) => r.operatingPoints.decline.falsePositiveRate,
  ],
  [
    'reviewOrDecline.precision',
    'Precision (flag = review or decline)',
    'ratio',
    'higher',
    (r) => r.operatingPoints.reviewOrDecline.precision,
  ],
  [
    'reviewOrDecline.recall',
    'Recall (flag = review or decline)',
    'ratio',
    'higher',
    (r) => r.operatingPoints.reviewOrDecline.recall,
  ],
  [
    'reviewOrDecline.f1',
    'F1 (flag = review or decline)',
    'ratio',
    'higher',
    (r) => r.operatingPoints.reviewOrDecline.f1,
  ],
  [
    'reviewOrDecline.falsePositiveRate',
    'False-positive rate (flag = review or decline)',
    'ratio',
    'lower',
    (r) => r.operatingPoints.reviewOrDecline.falsePositiveRate,
  ],
  ['escalation.rate', 'Escalation rate', 'ratio', 'lower', (r) => r.escalation.rate],
  ['modelCalls.hostedShare', 'Hosted share of model calls', 'ratio', 'lower', (r) => r.modelCalls.hostedShare],
  ['cost.actualUsd', 'Actual model cost', 'usd', 'lower', (r) => r.cost.actualUsd],
  ['cost.hostedOnlyUsd', 'Hosted-only counterfactual', 'usd', null, (r) => r.cost.hostedOnlyUsd],
  ['cost.savingsPct', 'Savings vs hosted-only', 'percent', 'higher', (r) => r.cost.savingsPct],
  ['latencyMs.model.p50', 'Model time p50', 'ms', 'lower', (r) => r.latencyMs.model.p50],
  ['latencyMs.model.p95', 'Model time p95', 'ms', 'lower', (r) => r.latencyMs.model.p95],
  ['latencyMs.model.p99', 'Model time p99', 'ms', 'lower', (r) => r.latencyMs.model.p99],
  ['latencyMs.endToEnd.p50', 'End-to-end p50', 'ms', 'lower', (r) => r.latencyMs.endToEnd.p50],
  ['latencyMs.endToEnd.p95', 'End-to-end p95', 'ms', 'lower', (r) => r.latencyMs.endToEnd.p95],
  ['latencyMs.endToEnd.p99', 'End-to-end p99', 'ms', 'lower', (r) => r.latencyMs.endToEnd.p99],
  ['throughput.rowsPerSecond', 'Throughput', 'rows/s', 'higher', (r) => r.throughput.rowsPerSecond],
];

/** Key metrics of two reports side by side; every delta is b − a. */
export function compareReports(a: BacktestReport, b: BacktestReport): ReportComparison {
  const head = (r: BacktestReport) => ({ replayId: r.replayId, policyHash: r.policyHash, startedAt: r.startedAt });
  return {
    a: head(a),
    b: head(b),
    samePolicy: a.policyHash === b.policyHash,
    metrics: comparedMetrics.map(([key, label, unit, better, read]) => {
      const va = read(a);
      const vb = read(b);
      // Rounded to 12 decimals so that 0.8 − 0.75 reads 0.05, not 0.05000000000000004.
      const delta = va === null || vb === null ? null : Math.round((vb - va) * 1e12) / 1e12;
      return { key, label, unit, better, a: va, b: vb, delta };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const colors = { fraud: '#c0392b', legit: '#2e86c1', local: '#27ae60', hosted: '#8e44ad', bar: '#5d6d7e' };

/** Invalid rows shown in the page; the JSON report keeps them all. */
const maxInvalidRowsShown = 500;

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

function formatMs(ms: number | null): string {
  return ms === null ? 'n/a' : fmtMs(ms);
}

function formatMetric(value: number | null, unit: MetricUnit, signed = false): string {
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

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1c2833;margin:0;background:#f4f6f7}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d8dc;padding-bottom:4px}
h3{font-size:14px;margin:12px 0 6px}
.meta{color:#566573;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px}
.card{background:#fff;border:1px solid #d5d8dc;border-radius:6px;padding:10px 12px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#566573;font-size:12px}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
table{border-collapse:collapse;background:#fff;margin:4px 0 8px}
th,td{border:1px solid #d5d8dc;padding:4px 8px;text-align:right;vertical-align:top}
th.l,td.l,.cm th:first-child,.cm td:first-child{text-align:left}
td.text{text-align:left;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
.cm td.tp,.cm td.tn{background:#e9f7ef}.cm td.fp,.cm td.fn{background:#fdedec}
.better{color:#1e8449}.worse{color:#b03a2e}
.note{color:#566573;font-size:12px}
.warn{background:#fef9e7;border:1px solid #f7dc6f;padding:6px 10px;border-radius:4px}
svg{background:#fff;border:1px solid #d5d8dc;border-radius:4px;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#1c2833}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
`;

function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    `<body><main>${body}</main></body>`,
    '</html>',
    '',
  ].join('\n');
}

/** A table of HTML cells; the first `textColumns` columns hold text and are left-aligned, the rest numbers. */
function table(head: string[], rows: string[][], textColumns = 1): string {
  const cell = (tag: 'th' | 'td', html: string, i: number) =>
    i < textColumns ? `<${tag} class="l">${html}</${tag}>` : `<${tag}>${html}</${tag}>`;
  const th = head.map((h, i) => cell('th', h, i)).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function card(key: string, value: string): string {
  return `<div class="card"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(key)}</div></div>`;
}

function legend(items: Array<[label: string, color: string]>): string {
  return `<div class="legend note">${items.map(([l, c]) => `<span style="background:${c}"></span>${escapeHtml(l)}`).join('')}</div>`;
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Horizontal bars, one per item, scaled to the largest value. */
function barChart(
  items: Array<{ label: string; value: number; display: string; color: string }>,
  title: string,
): string {
  const width = 640;
  const labelWidth = 170;
  const rowHeight = 26;
  const height = items.length * rowHeight + 16;
  const max = Math.max(0, ...items.map((i) => i.value));
  const span = width - labelWidth - 110;
  const bars = items
    .map((item, i) => {
      const y = 8 + i * rowHeight;
      const w = max > 0 ? Math.max(item.value > 0 ? 1 : 0, (item.value / max) * span) : 0;
      return [
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(item.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${item.color}"><title>${escapeHtml(`${item.label}: ${item.display}`)}</title></rect>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${escapeHtml(item.display)}</text>`,
      ].join('');
    })
    .join('');
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${bars}</svg>`;
}

/** Share of each class per score bucket (classes differ in size by orders of magnitude), with the thresholds. */
function scoreChart(report: BacktestReport): string {
  const width = 640;
  const height = 260;
  const left = 44;
  const right = 12;
  const top = 14;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const { fraud, legit } = report.counts;
  const share = (n: number, total: number) => (total > 0 ? n / total : 0);
  const maxShare = Math.max(
    0.0001,
    ...report.scoreDistribution.flatMap((b) => [share(b.fraud, fraud), share(b.legit, legit)]),
  );
  const yMax = Math.min(1, Math.ceil(maxShare * 10) / 10);
  const groupW = plotW / report.scoreDistribution.length;
  const barW = (groupW - 8) / 2;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eaecee"/>`,
      `<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`,
    );
  }
  report.scoreDistribution.forEach((b, i) => {
    const x0 = left + i * groupW + 4;
    for (const [j, cls, n, total] of [
      [0, 'fraud', b.fraud, fraud],
      [1, 'legit', b.legit, legit],
    ] as const) {
      const s = share(n, total);
      const h = (s / yMax) * plotH;
      parts.push(
        `<rect x="${(x0 + j * barW).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[cls]}"><title>${escapeHtml(`${cls} ${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${n} (${formatPercent(total > 0 ? s : null)} of ${cls})`)}</title></rect>`,
      );
    }
  });
  // Ticks on bucket boundaries, where the threshold lines are drawn too.
  for (let i = 0; i <= report.scoreDistribution.length; i++) {
    const x = left + i * groupW;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#566573"/>`,
      `<text x="${x.toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${(i / report.scoreDistribution.length).toFixed(1)}</text>`,
    );
  }
  for (const [name, value] of [
    ['approve below', report.thresholds.approveBelow],
    ['decline at', report.thresholds.declineAt],
  ] as const) {
    const x = left + value * plotW;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#1c2833" stroke-dasharray="4 3"/>`,
      `<text x="${(x + 3).toFixed(1)}" y="${top + 10}">${escapeHtml(`${name} ${value}`)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#566573"/>`,
    `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">risk score</text>`,
  );
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="score distribution by label">${parts.join('')}</svg>`;
}

/** One bar split between local and hosted model calls. */
function shareChart(report: BacktestReport): string {
  const width = 640;
  const height = 44;
  const { local, hosted, total } = report.modelCalls;
  if (total === 0) return '<p class="note">No model calls.</p>';
  const wl = (local / total) * (width - 20);
  const label = (n: number, name: string) => escapeHtml(`${name} ${n} (${formatPercent(n / total)})`);
  return [
    `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="local vs hosted model calls">`,
    `<rect x="10" y="8" width="${wl.toFixed(1)}" height="28" fill="${colors.local}"><title>${label(local, 'local')}</title></rect>`,
    `<rect x="${(10 + wl).toFixed(1)}" y="8" width="${(width - 20 - wl).toFixed(1)}" height="28" fill="${colors.hosted}"><title>${label(hosted, 'hosted')}</title></rect>`,
    local > 0 ? `<text x="16" y="26" style="fill:#fff">${label(local, 'local')}</text>` : '',
    hosted > 0
      ? `<text x="${width - 16}" y="26" text-anchor="end" style="fill:#fff">${label(hosted, 'hosted')}</text>`
      : '',
    '</svg>',
  ].join('');
}

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
    card('escalation rate', formatPercent(r.escalation.rate)),
    card('hosted share of model calls', formatPercent(r.modelCalls.hostedShare)),
    card('actual model cost', formatUsd(r.cost.actualUsd)),
    card('savings vs hosted-only', r.cost.savingsPct === null ? 'n/a' : `${r.cost.savingsPct.toFixed(1)}%`),
    card('model time p95', formatMs(r.latencyMs.model.p95)),
    card('throughput', r.throughput.rowsPerSecond === null ? 'n/a' : `${r.throughput.rowsPerSecond.toFixed(2)} rows/s`),
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
    `<p>Saved ${formatUsd(c.savingsUsd)} (${c.savingsPct === null ? 'n/a' : `${c.savingsPct.toFixed(1)}%`}) against sending every model call to the hosted tier.</p>`,
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

function warningsSection(r: BacktestReport): string {
  if (r.warnings.length === 0) return '';
  return `<div class="warn">${r.warnings.map((w) => `<div>${escapeHtml(w)}</div>`).join('')}</div>`;
}

function headerSection(r: BacktestReport, title: string): string {
  return [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">policy ${escapeHtml(r.policyHash)} · approve below ${r.thresholds.approveBelow}, decline at ${r.thresholds.declineAt} · ${escapeHtml(r.startedAt)} → ${escapeHtml(r.finishedAt)} (${formatMs(r.throughput.durationMs)}) · ${r.counts.rows} rows</p>`,
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
