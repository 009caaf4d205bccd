/**
 * Fitting a scoring policy from labelled rows and the local model's embeddings of them: the probe (embedding →
 * fraud log-odds) and its out-of-fold logits, the calibration over card features plus that logit (and the
 * features-only one, for the ablation), the hosted tier's rates on a sample of escalation candidates, and the
 * operating point. Rows may carry weights (legitimate rows kept by sampling); every fit and figure uses them.
 * Pure apart from `measureHosted`, which the caller supplies (the hosted tier is an outside service).
 */
import type { LabelledTransaction } from '../models/training-set';
import type { ScoringPolicy } from '../config/types';
import { evaluateRules, hasEffect } from './rules';
import type { FittedCalibrations } from './calibration-fit';
import { fitCalibrations } from './calibration-fit';
import { rulesFloor } from './decide';
import type { LogisticModel } from './logistic';
import { fitLogistic, predictLogit } from './logistic';
import type { TunedOperatingPoint } from './operating-point';
import { chooseOperatingPoint } from './operating-point';
import type { ScoringPolicyFile } from './policy-file';
import { scoreDistributionOf } from './score-distribution';
import type { HostedRates, OperatingPoint, TuningLimits, TuningRow } from './tuning';
import { outOfFoldLogits } from './tuning';

/** What a first pass embeds with: the local model, and the answer cue its policy puts after the text, if any. */
export interface Embedder {
  model: string;
  answerCue?: string;
}

/** Reports a long step's progress: done of total. */
export type StepProgress = (done: number, total: number) => void;

export interface PolicyFitInput {
  embedder: Embedder;
  /** Labelled rows, oldest first, and the embedding of each. */
  rows: readonly LabelledTransaction[];
  embeddings: readonly number[][];
  /** Transactions each row stands for (1 each when absent): see src/scoring/legit-sampling.ts. */
  weights?: readonly number[];
  rules: ScoringPolicy['rules'];
  /** The hosted tier's own cut points on its answers. */
  hostedThresholds: { reviewAt: number; declineAt: number };
  /** Measures the hosted tier on labelled escalation candidates; undefined when it is not measured. */
  measureHosted: (candidates: LabelledTransaction[]) => Promise<HostedRates | undefined>;
}

export interface PolicyFitOptions {
  name: string;
  limits: TuningLimits;
  /** L2 penalty of the embedding probe. */
  probeL2: number;
  folds: number;
  command: string;
  provenance: Record<string, unknown>;
  /** The probe is given, not fitted: a fine-tuned model's own answer (src/models/answer-head.ts). */
  fixedProbe?: LogisticModel;
  log: (line: string) => void;
  /** Progress of the probe's fits (folds and the final one). */
  progress?: StepProgress;
}

/** A scoring policy fitted on the rows: see the module comment. */
export async function fitScoringPolicy(input: PolicyFitInput, opts: PolicyFitOptions): Promise<ScoringPolicyFile> {
  const { rows, weights } = input;
  const labels = rows.map((r) => r.isFraud);
  const y = labels.map((b) => (b ? 1 : 0));
  const { probe, probeOof } = fitEmbeddingProbe(input.embeddings, y, weights, opts);
  const calibrations = fitCalibrations({ rows, weights, labels, probeOof, folds: opts.folds, log: opts.log });
  const tuningRows = tuningRowsFor(input, calibrations.oofShipped);
  const hosted = await input.measureHosted(escalationCandidates(rows, tuningRows));
  const tuned = chooseOperatingPoint(tuningRows, opts.limits, hosted);
  logOperatingPoint(tuned, opts.log);
  return {
    schemaVersion: 1,
    name: opts.name,
    localModel: input.embedder.model,
    firstPass: {
      kind: 'embedding-probe',
      probe,
      ...(input.embedder.answerCue ? { answerCue: input.embedder.answerCue } : {}),
    },
    calibration: {
      withModel: calibrations.modelAdds,
      model: calibrations.modelAdds ? calibrations.withModel : calibrations.featuresOnly,
      context: calibrations.context,
    },
    thresholds: roundedThresholds(tuned.point, input.hostedThresholds),
    provenance: policyProvenance(opts, input, { calibrations, hosted, tuned }),
  };
}

/** The probe from embeddings to fraud log-odds, fitted on every row, and its out-of-fold logits. */
function fitEmbeddingProbe(
  embeddings: readonly number[][],
  y: number[],
  weights: readonly number[] | undefined,
  opts: PolicyFitOptions,
): { probe: LogisticModel; probeOof: number[] } {
  if (opts.fixedProbe) {
    opts.log("the first pass is the model's own answer: no probe fitted");
    const fixed = opts.fixedProbe;
    return { probe: fixed, probeOof: embeddings.map((e) => predictLogit(fixed, e)) };
  }
  opts.log(`fitting the embedding probe (${embeddings[0]?.length} dimensions, ${opts.folds}-fold out of fold)`);
  let fitted = 0;
  const fitProbe = (x: readonly number[][], t: number[], w?: readonly number[]) => {
    const model = fitLogistic(x, t, { l2: opts.probeL2, ...(w ? { rowWeights: w } : {}) });
    opts.progress?.(++fitted, opts.folds + 1);
    return model;
  };
  const probeOof = outOfFoldLogits(embeddings, y, opts.folds, fitProbe, weights);
  const probe = fitProbe(embeddings, y, weights);
  return { probe, probeOof };
}

/** Each row as tuning sees it: the rules' verdict beside its out-of-fold calibrated probability and its weight. */
function tuningRowsFor(input: PolicyFitInput, probabilities: number[]): TuningRow[] {
  return input.rows.map((r, i) => {
    const ruled = evaluateRules(r.event, input.rules, r.features);
    return {
      isFraud: r.isFraud,
      probability: probabilities[i]!,
      ruleFloor: rulesFloor(ruled),
      ruleEscalates: hasEffect(ruled, 'escalate'),
      weight: input.weights?.[i] ?? 1,
    };
  });
}

/** Escalation candidates: rows the rules do not decline, at or above the 70th percentile of first-pass scores. */
function escalationCandidates(rows: readonly LabelledTransaction[], tuningRows: TuningRow[]): LabelledTransaction[] {
  const sorted = tuningRows.map((r) => r.probability).sort((a, b) => a - b);
  const floor = sorted[Math.floor(0.7 * sorted.length)] ?? 0;
  return rows.filter((_, i) => tuningRows[i]!.ruleFloor !== 'decline' && tuningRows[i]!.probability >= floor);
}

const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits;
const withInterval = (v: number, i: { low: number; high: number }, digits: number) =>
  `${round(v, digits)} [${round(i.low, digits)}, ${round(i.high, digits)}]`;

function logOperatingPoint(tuned: TunedOperatingPoint, log: (l: string) => void): void {
  const { point, figures, intervals } = tuned;
  const band = point.escalation
    ? `[${round(point.escalation.low)}, ${round(point.escalation.high)}], hosted ${point.hostedMode ?? 'decides'}`
    : 'none';
  log(
    `operating point: review ≥ ${round(point.reviewAt)}, decline ≥ ${round(point.declineAt)}, escalation ${band} (${tuned.feasible} points met the limits)`,
  );
  log(
    `expected on the tuning slice (95% bootstrap intervals): recall ${withInterval(figures.recall, intervals.recall, 3)}, ` +
      `decline FPR ${withInterval(figures.falsePositiveRate, intervals.falsePositiveRate, 4)}, ` +
      `review-or-decline FPR ${withInterval(figures.reviewOrDeclineFalsePositiveRate, intervals.reviewOrDeclineFalsePositiveRate, 4)}, ` +
      `decline precision ${withInterval(figures.declinePrecision, intervals.declinePrecision, 3)}, ` +
      `escalated ${withInterval(figures.escalationShare, intervals.escalationShare, 3)}`,
  );
  for (const warning of tuned.warnings) log(`warning: ${warning}`);
}

function roundedThresholds(
  point: OperatingPoint,
  hostedThresholds: { reviewAt: number; declineAt: number },
): ScoringPolicyFile['thresholds'] {
  return {
    reviewAt: round(point.reviewAt, 6),
    declineAt: round(point.declineAt, 6),
    escalation: point.escalation
      ? { low: round(point.escalation.low, 6), high: round(point.escalation.high, 6) }
      : null,
    minConfidence: 0,
    hosted: { ...hostedThresholds, mode: point.hostedMode ?? 'decides' },
  };
}

/**
 * What the policy was fitted on and how: the command, rows, limits, measured rates, expected figures, the tuning
 * score distribution and the curve.
 */
function policyProvenance(
  opts: PolicyFitOptions,
  input: PolicyFitInput,
  fitted: {
    calibrations: FittedCalibrations;
    hosted: HostedRates | undefined;
    tuned: TunedOperatingPoint;
  },
): Record<string, unknown> {
  const { rows, weights } = input;
  const { tuned } = fitted;
  return {
    command: opts.command,
    ...opts.provenance,
    rows: rows.length,
    frauds: rows.filter((r) => r.isFraud).length,
    ...(weights ? { standsFor: Math.round(weights.reduce((s, w) => s + w, 0)) } : {}),
    tunedOn: { from: new Date(rows[0]!.at).toISOString(), until: new Date(rows.at(-1)!.at + 1).toISOString() },
    limits: opts.limits,
    hostedRates: fitted.hosted ?? null,
    hostedLift: tuned.hostedLift ?? null,
    expected: tuned.figures,
    expectedIntervals: tuned.intervals,
    warnings: tuned.warnings,
    ablation: fitted.calibrations.ablation,
    calibrationL2: fitted.calibrations.l2,
    modelAdds: fitted.calibrations.modelAdds,
    withModelCalibration: fitted.calibrations.withModel,
    featuresOnlyCalibration: fitted.calibrations.featuresOnly,
    // What live fraud probabilities are compared with for score drift (src/scoring/score-distribution.ts).
    scoreDistribution: scoreDistributionOf(fitted.calibrations.oofShipped, weights) ?? null,
    curve: tuned.curve.map((c) => ({
      declineAt: round(c.declineAt, 6),
      recall: round(c.recall, 4),
      falsePositiveRate: round(c.falsePositiveRate, 5),
      reviewOrDeclineFalsePositiveRate: round(c.reviewOrDeclineFalsePositiveRate, 5),
    })),
  };
}
