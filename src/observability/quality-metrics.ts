/**
 * Live quality as Prometheus metrics: what the outcomes process knows of labels coming back, and the rolling
 * precision, recall, false-positive rate, label delay and score drift per policy hash (src/outcomes/live-quality.ts).
 * Gauges are recomputed from the outcome store, so every outcomes process shows the same figures.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { OutcomeCounts } from '../outcomes/store';
import { outcomeCountNames } from '../outcomes/store';
import type { WindowQuality } from '../outcomes/live-quality';
import { confusionCells, flagLevels } from '../outcomes/live-quality';
import { registry } from './metrics';

const perWindow = ['policy_hash', 'window'] as const;
const perLevel = ['policy_hash', 'window', 'level'] as const;

export const qualityMetrics = {
  labels: new Counter({
    name: 'fraudflow_labels_received_total',
    help: 'Labels read from the labels topic by what they did: first, duplicate, replaced, kept, dead_lettered',
    labelNames: ['effect'] as const,
    registers: [registry],
  }),
  labelDelay: new Histogram({
    name: 'fraudflow_label_delay_seconds',
    help: "Time from a transaction's decision to its first label (reportedAt − decidedAt), by label source",
    labelNames: ['source'] as const,
    buckets: [60, 3600, 6 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400, 60 * 86_400, 120 * 86_400],
    registers: [registry],
  }),
  outcomeStoreErrors: new Counter({
    name: 'fraudflow_outcome_store_errors_total',
    help: 'Outcome store operations that failed and were tried again (the message stays unacknowledged)',
    registers: [registry],
  }),
  invalidDecisions: new Counter({
    name: 'fraudflow_outcomes_invalid_decisions_total',
    help: 'Messages on the decisions topic that are not a Decision (skipped by the outcomes process)',
    registers: [registry],
  }),
  outcomeCounts: new Gauge({
    name: 'fraudflow_outcome_counts',
    help: 'Cumulative counts kept in the outcome store (decisions, labels, duplicates, conflicts, …) by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  awaitingDecision: new Gauge({
    name: 'fraudflow_labels_awaiting_decision',
    help: 'Labels kept for a transaction whose decision has not arrived (yet)',
    registers: [registry],
  }),
  labelled: new Gauge({
    name: 'fraudflow_live_labelled_outcomes',
    help: "Labelled outcomes in the window by the policy's decision and the label's outcome",
    labelNames: ['policy_hash', 'window', 'decision', 'outcome'] as const,
    registers: [registry],
  }),
  precision: new Gauge({
    name: 'fraudflow_live_precision',
    help: 'Flagged transactions that were fraud, over labelled outcomes in the window (level: decline, review_or_decline)',
    labelNames: perLevel,
    registers: [registry],
  }),
  recall: new Gauge({
    name: 'fraudflow_live_recall',
    help: 'Labelled frauds that were flagged, in the window (level: decline, review_or_decline)',
    labelNames: perLevel,
    registers: [registry],
  }),
  falsePositiveRate: new Gauge({
    name: 'fraudflow_live_false_positive_rate',
    help: 'Labelled legitimate transactions that were flagged, in the window (level: decline, review_or_decline)',
    labelNames: perLevel,
    registers: [registry],
  }),
  meanLabelDelay: new Gauge({
    name: 'fraudflow_live_label_delay_mean_seconds',
    help: 'Mean time from decision to label of the labelled outcomes in the window',
    labelNames: perWindow,
    registers: [registry],
  }),
  scoreDriftPsi: new Gauge({
    name: 'fraudflow_score_drift_psi',
    help: "Population stability index of live first-pass fraud probabilities against the policy's tuning distribution",
    labelNames: perWindow,
    registers: [registry],
  }),
  scoreDriftWarning: new Gauge({
    name: 'fraudflow_score_drift_warning',
    help: '1 when the score drift PSI is past SCORE_DRIFT_PSI_WARNING',
    labelNames: perWindow,
    registers: [registry],
  }),
  scoredInWindow: new Gauge({
    name: 'fraudflow_live_scored',
    help: 'Decisions with a first-pass probability in the window (the sample score drift is measured on)',
    labelNames: perWindow,
    registers: [registry],
  }),
};

const rateGauges = [qualityMetrics.precision, qualityMetrics.recall, qualityMetrics.falsePositiveRate] as const;
const windowGauges = [
  qualityMetrics.labelled,
  qualityMetrics.meanLabelDelay,
  qualityMetrics.scoreDriftPsi,
  qualityMetrics.scoreDriftWarning,
  qualityMetrics.scoredInWindow,
  ...rateGauges,
] as const;

/** Replaces every live-quality gauge with `qualities` (an undefined figure is left out, not shown as 0). */
export function showLiveQuality(
  qualities: readonly WindowQuality[],
  counts: OutcomeCounts,
  awaitingDecision: number,
): void {
  for (const gauge of windowGauges) gauge.reset();
  for (const kind of outcomeCountNames) qualityMetrics.outcomeCounts.set({ kind }, counts[kind]);
  qualityMetrics.awaitingDecision.set(awaitingDecision);
  for (const q of qualities) {
    const at = { policy_hash: q.policyHash, window: q.window };
    for (const cell of confusionCells) {
      const [decision, outcome] = cell.split('|');
      qualityMetrics.labelled.set({ ...at, decision, outcome }, q.tally.cells[cell]);
    }
    for (const level of flagLevels) {
      const rates = q.rates[level];
      if (rates.precision !== undefined) qualityMetrics.precision.set({ ...at, level }, rates.precision);
      if (rates.recall !== undefined) qualityMetrics.recall.set({ ...at, level }, rates.recall);
      if (rates.falsePositiveRate !== undefined) {
        qualityMetrics.falsePositiveRate.set({ ...at, level }, rates.falsePositiveRate);
      }
    }
    if (q.meanLabelDelaySeconds !== undefined) qualityMetrics.meanLabelDelay.set(at, q.meanLabelDelaySeconds);
    qualityMetrics.scoredInWindow.set(at, q.drift.scored);
    if (q.drift.psi !== undefined) {
      qualityMetrics.scoreDriftPsi.set(at, q.drift.psi);
      qualityMetrics.scoreDriftWarning.set(at, q.drift.warning ? 1 : 0);
    }
  }
}
