/** Two backtest reports side by side: the key metrics of each and how they moved (b − a). */
import type { DecisionOutcome } from '../../schemas/decision';
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
  read: ReadMetric,
];

type ReadMetric = (r: BacktestReport) => number | null;

/** Share of the scored transactions decided `outcome`. */
function outcomeRate(outcome: DecisionOutcome): ReadMetric {
  return (r) => ratio(r.decisions.byOutcome[outcome], r.counts.scored);
}

/** Precision, recall, F1 and false-positive rate at one operating point. */
function detectionMetrics(point: keyof BacktestReport['operatingPoints'], flag: string): MetricDefinition[] {
  const measures = [
    ['precision', 'Precision', 'higher'],
    ['recall', 'Recall', 'higher'],
    ['f1', 'F1', 'higher'],
    ['falsePositiveRate', 'False-positive rate', 'lower'],
  ] as const;
  return measures.map(([measure, name, better]) => [
    `${point}.${measure}`,
    `${name} (flag = ${flag})`,
    'ratio',
    better,
    (r) => r.operatingPoints[point][measure],
  ]);
}

/** p50, p95 and p99 of one latency. */
function latencyMetrics(latency: keyof BacktestReport['latencyMs'], name: string): MetricDefinition[] {
  return (['p50', 'p95', 'p99'] as const).map((p) => [
    `latencyMs.${latency}.${p}`,
    `${name} ${p}`,
    'ms',
    'lower',
    (r) => r.latencyMs[latency][p],
  ]);
}

const comparedMetrics: MetricDefinition[] = [
  ['counts.scored', 'Transactions scored', 'count', null, (r) => r.counts.scored],
  ['counts.invalid', 'Invalid rows', 'count', 'lower', (r) => r.counts.invalid],
  ['decisions.declineRate', 'Decline rate', 'ratio', null, outcomeRate('decline')],
  ['decisions.reviewRate', 'Review rate', 'ratio', 'lower', outcomeRate('review')],
  ...detectionMetrics('decline', 'decline'),
  ...detectionMetrics('reviewOrDecline', 'review or decline'),
  ['ranking.auc', 'First-pass ROC AUC', 'ratio', 'higher', (r) => r.ranking.auc],
  ['ranking.recallAt1PctFpr', 'First-pass recall at 1% FPR', 'ratio', 'higher', (r) => r.ranking.recallAt1PctFpr],
  ['ranking.recallAt5PctFpr', 'First-pass recall at 5% FPR', 'ratio', 'higher', (r) => r.ranking.recallAt5PctFpr],
  ['escalation.rate', 'Escalation rate', 'ratio', 'lower', (r) => r.escalation.rate],
  ['modelCalls.hostedShare', 'Hosted share of model calls', 'ratio', 'lower', (r) => r.modelCalls.hostedShare],
  ['cost.actualUsd', 'Actual model cost', 'usd', 'lower', (r) => r.cost.actualUsd],
  ['cost.hostedOnlyUsd', 'Hosted-only counterfactual', 'usd', null, (r) => r.cost.hostedOnlyUsd],
  ['cost.savingsPct', 'Savings vs hosted-only', 'percent', 'higher', (r) => r.cost.savingsPct],
  ...latencyMetrics('model', 'Model time'),
  ...latencyMetrics('endToEnd', 'End-to-end'),
  ['throughput.rowsPerSecond', 'Throughput (wall time)', 'rows/s', 'higher', (r) => r.throughput.rowsPerSecond],
  [
    'throughput.scoring.rowsPerSecond',
    'Throughput (scoring alone)',
    'rows/s',
    'higher',
    (r) => r.throughput.scoring.rowsPerSecond,
  ],
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
