/**
 * How a fitted scoring policy does on rows it never saw: calibrated probabilities from the policy's probe over a
 * model's embeddings, then the figures fraud teams compare models by.
 */
import type { CardFeatures } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';
import { calibrate } from './calibration';
import { predictLogit } from './logistic';
import type { ScoringPolicyFile } from './policy-file';
import { recallAtFalsePositiveRate, rocAuc } from './tuning';

export interface EmbeddedRow {
  event: TransactionEvent;
  features: CardFeatures;
  isFraud: boolean;
  embedding: number[];
}

/** The calibrated fraud probability an embedding-probe policy gives a row. */
export function policyProbability(policy: ScoringPolicyFile, row: EmbeddedRow): number {
  if (policy.firstPass.kind !== 'embedding-probe') throw new Error(`policy ${policy.name} has no embedding probe`);
  const logit = predictLogit(policy.firstPass.probe, row.embedding);
  return calibrate(policy.calibration, row.event, row.features, logit).probability;
}

export interface PolicyFigures {
  rows: number;
  frauds: number;
  auc: number;
  recallAt1PctFpr: number;
  declineF1: number;
  flaggedRecall: number;
  escalatedShare: number;
}

export function policyFigures(policy: ScoringPolicyFile, rows: readonly EmbeddedRow[]): PolicyFigures {
  return figuresAt(
    policy.thresholds,
    rows.map((r) => policyProbability(policy, r)),
    rows.map((r) => r.isFraud),
  );
}

/** The figures of probabilities `p` already computed for labelled rows, at a policy's thresholds. */
export function figuresAt(
  thresholds: ScoringPolicyFile['thresholds'],
  p: readonly number[],
  labels: readonly boolean[],
): PolicyFigures {
  const { declineAt, reviewAt, escalation } = thresholds;
  const frauds = labels.filter(Boolean).length;
  const declined = p.map((v) => v >= declineAt);
  const truePositives = declined.filter((d, i) => d && labels[i]).length;
  const precision = truePositives / Math.max(1, declined.filter(Boolean).length);
  const recall = truePositives / Math.max(1, frauds);
  const flagged = p.filter((v, i) => v >= reviewAt && labels[i]).length;
  const inBand = escalation ? p.filter((v) => v >= escalation.low && v <= escalation.high).length : 0;
  return {
    rows: labels.length,
    frauds,
    auc: roundFigure(rocAuc(p, labels)),
    recallAt1PctFpr: roundFigure(recallAtFalsePositiveRate(p, labels, 0.01)),
    declineF1: roundFigure(precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0),
    flaggedRecall: roundFigure(flagged / Math.max(1, frauds)),
    escalatedShare: roundFigure(inBand / Math.max(1, labels.length)),
  };
}

/** Figures are kept to four decimals. */
export const roundFigure = (v: number) => Math.round(v * 10_000) / 10_000;
