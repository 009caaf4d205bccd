/**
 * Decision quality against labels: what a fraud team judges fraudflow by. Pure: `npm run bench:quality` and the
 * main job gather the decisions and labels, and the hosted-only counterfactual's price per call; the backtest report
 * ranks its rows with the same first-pass probability and figures.
 */
import type { ReplayResultRow } from './contracts';
import type { Decision, ModelCall } from '../schemas/decision';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { OutcomeRates } from '../scoring/outcome-tally';
import { addOutcome, emptyTally, outcomeRates } from '../scoring/outcome-tally';
import { percentile } from '../observability/figures';
import type { LogisticModel } from '../scoring/logistic';
import { predictProbability } from '../scoring/logistic';
import { calibrationVector } from '../scoring/calibration';
import type { CalibrationContext } from '../scoring/calibration-context';
import { sigmoid } from '../scoring/logistic';
import { rankingFiguresOf } from '../scoring/score-figures';
import { roundFigure } from '../scoring/held-out';

export interface QualityFigures extends OutcomeRates {
  frauds: number;
  legitimate: number;
  /** Hosted spend / what sending every transaction to the hosted tier would have cost. */
  hostedCostShare: number;
  hostedCostUsd: number;
  hostedOnlyCostUsd: number;
  localFirstPassP50Ms: number;
  localFirstPassP99Ms: number;
  paths: Record<string, number>;
  outcomes: Record<string, number>;
}

const share = (n: number, d: number) => (d > 0 ? n / d : 0);

/** Figures of a labelled replay; `hostedCallUsd` prices one hosted call for the hosted-only counterfactual. */
export function qualityFigures(rows: readonly ReplayResultRow[], hostedCallUsd: number): QualityFigures {
  const labelled = rows.filter((r) => r.label !== undefined);
  const tally = emptyTally();
  let hostedCostUsd = 0;
  const paths: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const localLatencies: number[] = [];
  for (const { decision, label } of labelled) {
    addOutcome(tally, label!.isFraud, {
      decline: decision.decision === 'decline' ? 1 : 0,
      flag: decision.decision === 'approve' ? 0 : 1,
      escalated: decision.modelCalls.some((c) => c.tier === 'hosted'),
    });
    hostedCostUsd += decision.modelCalls.reduce((s, c) => s + c.costUsd, 0);
    paths[decision.path] = (paths[decision.path] ?? 0) + 1;
    outcomes[decision.decision] = (outcomes[decision.decision] ?? 0) + 1;
    for (const c of decision.modelCalls) if (c.tier === 'local' && c.outcome === 'ok') localLatencies.push(c.latencyMs);
  }
  const hostedOnlyCostUsd = labelled.length * hostedCallUsd;
  localLatencies.sort((a, b) => a - b);
  return {
    ...outcomeRates(tally),
    frauds: tally.fraud,
    legitimate: tally.legit,
    hostedCostShare: share(hostedCostUsd, hostedOnlyCostUsd),
    hostedCostUsd,
    hostedOnlyCostUsd,
    localFirstPassP50Ms: percentile(localLatencies, 50),
    localFirstPassP99Ms: percentile(localLatencies, 99),
    paths,
    outcomes,
  };
}

/** A stored decision with the event it was made on (joined from the replay's chunks by line). */
export type ScoredRow = ReplayResultRow & { event: TransactionEvent };

/** The local model call that answered the first pass; undefined for a rule decline or a failed first pass. */
export function firstPassCall(decision: Decision): ModelCall | undefined {
  return decision.modelCalls.find((c) => c.tier === 'local' && c.outcome === 'ok');
}

/**
 * How well scores rank fraud above legitimate transactions, whatever the thresholds: ROC AUC and recall at 1% and 5%
 * false-positive rate. Each is null unless the labels hold both classes: neither means anything with one.
 */
export interface RankingFigures {
  auc: number | null;
  recallAt1PctFpr: number | null;
  recallAt5PctFpr: number | null;
}

export function rankingFigures(scores: readonly number[], labels: readonly boolean[]): RankingFigures {
  const frauds = labels.filter(Boolean).length;
  if (frauds === 0 || frauds === labels.length) return { auc: null, recallAt1PctFpr: null, recallAt5PctFpr: null };
  return rankingFiguresOf(scores, labels);
}

type HeldOutFigures = Pick<RankingFigures, 'auc' | 'recallAt1PctFpr'>;

export interface Ablation {
  rows: number;
  modelAlone: HeldOutFigures;
  featuresOnly: HeldOutFigures;
  featuresPlusModel: HeldOutFigures;
}

/** The calibrations a policy carries: the features alone and with the model, over the same context. */
export interface AblationCalibrations {
  featuresOnly: LogisticModel;
  withModel: LogisticModel;
  context?: CalibrationContext;
}

/**
 * The model's contribution on held-out rows: the probe's raw log-odds alone, the features-only calibration and the
 * features-plus-model one, whichever of the two the policy ships. Rows without a first pass are left out.
 */
export function heldOutAblation(rows: readonly ScoredRow[], calibrations: AblationCalibrations): Ablation {
  const usable = rows.flatMap((r) => {
    const call = firstPassCall(r.decision);
    if (!r.label || !r.decision.features || call?.rawScore === undefined) return [];
    const x = calibrationVector(r.event, r.decision.features, calibrations.context);
    return [{ label: r.label.isFraud, raw: call.rawScore, x }];
  });
  const labels = usable.map((u) => u.label);
  const measure = (scores: number[]): HeldOutFigures => {
    const { auc, recallAt1PctFpr } = rankingFigures(scores, labels);
    return { auc: rounded(auc), recallAt1PctFpr: rounded(recallAt1PctFpr) };
  };
  return {
    rows: usable.length,
    modelAlone: measure(usable.map((u) => sigmoid(u.raw))),
    featuresOnly: measure(usable.map((u) => predictProbability(calibrations.featuresOnly, u.x))),
    featuresPlusModel: measure(usable.map((u) => predictProbability(calibrations.withModel, [...u.x, u.raw]))),
  };
}

const rounded = (v: number | null) => (v === null ? null : roundFigure(v));
