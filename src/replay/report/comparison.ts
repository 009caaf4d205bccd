/** Two backtest reports side by side: the key metrics of each and how they moved (b − a). */
import { ratio } from './metrics';
import type { BacktestReport } from './schema';

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
