/**
 * Fitting the calibration: from a transaction's features (card history and context) and the local model's
 * out-of-fold logit to a fraud probability, with the ablation that says what each part adds.
 *
 * Two stages. The features' calibration is fitted first, its L2 penalty chosen by time-ordered cross-validation
 * (folds are contiguous stretches of time; with tens of frauds a penalty fixed in advance either memorises them or
 * ignores the inputs that carry them). The model then enters through a stack of two inputs, the features' logit and
 * the model's, fitted on their out-of-fold values: with three parameters it cannot lose much to the better of the
 * two alone, where one model over every input at once let the model's noisy logit pull the features' weights
 * about. The stack collapses back into one logistic model over every input, so a decision's reasons still come
 * from per-input contributions. Pure.
 */
import type { LabelledTransaction } from '../models/training-set';
import { calibrationVector } from './calibration';
import type { CalibrationContext } from './calibration-context';
import { fitCalibrationContext } from './calibration-context';
import type { LogisticModel } from './logistic';
import { fitLogistic, sigmoid } from './logistic';
import { logLoss, rankingFiguresOf } from './score-figures';
import { outOfFoldLogits } from './tuning';

/** L2 penalties the features' calibration chooses from. */
export const calibrationL2Grid = [0.1, 0.3, 1, 3, 10, 30, 100] as const;

/**
 * Penalties the stack chooses from. Its penalty pulls toward "the features' logit as it is, the model's at
 * nothing", so the strongest one is the features alone (an intercept aside): the model moves the stack off them
 * only as far as the out-of-fold log loss rewards.
 */
export const stackL2Grid = [1, 10, 100, 1000, 10_000] as const;

export interface CalibrationFitInput {
  /** Labelled rows, oldest first (folds are contiguous in time). */
  rows: readonly LabelledTransaction[];
  weights?: readonly number[];
  labels: readonly boolean[];
  /** The model's out-of-fold logit of each row. */
  probeOof: readonly number[];
  folds: number;
  log: (line: string) => void;
}

export interface AblationFigures {
  auc: number;
  logLoss: number;
  recallAt1PctFpr: number;
  recallAt5PctFpr: number;
}

export interface FittedCalibrations {
  context: CalibrationContext;
  featuresOnly: LogisticModel;
  /** Features and the model (the stack collapsed into one model). */
  withModel: LogisticModel;
  /**
   * Whether the policy ships the calibration with the model: only when the model earns its place, a lower
   * out-of-fold log loss than the features alone. Otherwise the features' calibration is shipped.
   */
  modelAdds: boolean;
  /** Out-of-fold probabilities of the shipped calibration, for the operating point. */
  oofShipped: number[];
  /** The features' chosen penalty and each candidate's out-of-fold log loss; the stack's chosen penalty. */
  l2: { chosen: number; logLoss: Record<string, number>; stack: number };
  /**
   * Out of fold: the model alone, the features alone, both (the stack), and the one the policy ships (both when the
   * model adds, else the features alone): never worse than the better of the two alone on log loss.
   */
  ablation: {
    modelAlone: AblationFigures;
    featuresOnly: AblationFigures;
    featuresPlusModel: AblationFigures;
    shipped: AblationFigures;
  };
}

export function fitCalibrations(input: CalibrationFitInput): FittedCalibrations {
  const { rows, weights, labels, probeOof, folds } = input;
  const y = labels.map((b) => (b ? 1 : 0));
  const context = fitCalibrationContext(
    rows.map((r) => r.event),
    weights,
  );
  const x = rows.map((r) => calibrationVector(r.event, r.features, context));
  const features = fitFeaturesCalibration(x, y, labels, weights, folds);
  const stackRows = features.outOfFold.map((f, i) => [f, probeOof[i]!]);
  const stacked = chooseByOutOfFoldLoss(stackL2Grid, stackRows, y, labels, weights, folds, [1, 0]);
  const oofWithModel = stacked.outOfFold.map(sigmoid);
  const stack = stacked.model;
  const measure = (scores: number[]) => ablationFigures(scores, labels, weights);
  const ablation = {
    modelAlone: measure(probeOof.map(sigmoid)),
    featuresOnly: measure(features.outOfFold.map(sigmoid)),
    featuresPlusModel: measure(oofWithModel),
  };
  const modelAdds = ablation.featuresPlusModel.logLoss < ablation.featuresOnly.logLoss;
  const withShipped = {
    ...ablation,
    shipped: modelAdds ? ablation.featuresPlusModel : ablation.featuresOnly,
  };
  input.log(
    `calibration L2 by time-ordered cross-validation: features ${features.l2.chosen}, model stack ${stacked.l2.chosen}`,
  );
  input.log(
    `ablation (out of fold): model alone AUC ${ablation.modelAlone.auc}, features ${ablation.featuresOnly.auc}, features + model ${ablation.featuresPlusModel.auc}`,
  );
  input.log(
    modelAdds
      ? `the model adds to the features (out-of-fold log loss ${ablation.featuresPlusModel.logLoss} against ${ablation.featuresOnly.logLoss}): the calibration reads both`
      : `the model adds nothing the features do not carry (out-of-fold log loss ${ablation.featuresPlusModel.logLoss} against ${ablation.featuresOnly.logLoss}): the calibration reads the features alone`,
  );
  return {
    context,
    featuresOnly: features.model,
    withModel: collapseStack(features.model, stack),
    modelAdds,
    oofShipped: modelAdds ? oofWithModel : features.outOfFold.map(sigmoid),
    l2: { ...features.l2, stack: stacked.l2.chosen },
    ablation: withShipped,
  };
}

/** The features' calibration at the grid's penalty with the lowest out-of-fold log loss, and its OOF logits. */
function fitFeaturesCalibration(
  x: number[][],
  y: number[],
  labels: readonly boolean[],
  weights: readonly number[] | undefined,
  folds: number,
) {
  return chooseByOutOfFoldLoss(calibrationL2Grid, x, y, labels, weights, folds);
}

/**
 * A logistic model at the penalty of `grid` whose fits have the lowest out-of-fold log loss over folds contiguous
 * in time, its out-of-fold logits, and every candidate's loss.
 */
function chooseByOutOfFoldLoss(
  grid: readonly number[],
  x: number[][],
  y: number[],
  labels: readonly boolean[],
  weights: readonly number[] | undefined,
  folds: number,
  priorWeights?: readonly number[],
) {
  const fit = (l2: number) => (fx: number[][], fy: number[], fw?: readonly number[]) =>
    fitLogistic(fx, fy, { l2, ...(fw ? { rowWeights: fw } : {}), ...(priorWeights ? { priorWeights } : {}) });
  const candidates = grid.map((l2) => {
    const outOfFold = outOfFoldLogits(x, y, folds, fit(l2), weights);
    return { l2, outOfFold, loss: logLoss(outOfFold.map(sigmoid), labels, weights) };
  });
  const best = candidates.reduce((a, b) => (b.loss < a.loss ? b : a));
  return {
    model: fit(best.l2)(x, y, weights),
    outOfFold: best.outOfFold,
    l2: { chosen: best.l2, logLoss: Object.fromEntries(candidates.map((c) => [String(c.l2), round(c.loss)])) },
  };
}

/**
 * One logistic model over the features and the model's logit equal to the stack over (features' logit, model
 * logit): the features' weights scaled by the stack's first weight, the model's logit as the last input.
 */
export function collapseStack(features: LogisticModel, stack: LogisticModel): LogisticModel {
  const [wf, wm] = stack.weights as [number, number];
  const [mf, mm] = stack.mean as [number, number];
  const [sf, sm] = stack.scale as [number, number];
  const k = wf / sf;
  return {
    intercept: stack.intercept + k * (features.intercept - mf),
    weights: [...features.weights.map((w) => k * w), wm],
    mean: [...features.mean, mm],
    scale: [...features.scale, sm],
  };
}

function ablationFigures(scores: number[], labels: readonly boolean[], weights?: readonly number[]): AblationFigures {
  const figures = rankingFiguresOf(scores, labels, weights);
  return {
    auc: round(figures.auc),
    logLoss: round(logLoss(scores, labels, weights)),
    recallAt1PctFpr: round(figures.recallAt1PctFpr),
    recallAt5PctFpr: round(figures.recallAt5PctFpr),
  };
}

const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits;
