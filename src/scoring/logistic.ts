/**
 * L2-regularised logistic regression with row weights, fitted by L-BFGS. Small and explainable: a probability is
 * a weighted sum of standardised inputs, so every weight times its input is that input's contribution to the
 * log-odds. A fit costs O(rows × inputs) per iteration (Newton's method cost O(rows × inputs²) per step and took
 * minutes over a 576-dim embedding). Pure; used by tuning and training, and by the scoring activities (prediction).
 */
import { minimiseLbfgs } from './lbfgs';

/** A fitted model over standardised inputs: logit = intercept + Σ weight·(x − mean)/scale. */
export interface LogisticModel {
  intercept: number;
  weights: number[];
  mean: number[];
  scale: number[];
}

export interface LogisticFitOptions {
  /** L2 penalty on the weights (not the intercept), in units of the summed log-likelihood. @default 1 */
  l2?: number;
  /** L-BFGS iterations at most. @default 500 */
  maxIterations?: number;
  /** Weight of positive rows, to balance rare fraud against the penalty. @default 1 */
  positiveWeight?: number;
  /**
   * Each row's weight: how many transactions it stands for (a sampled-out legitimate row's share, see
   * src/scoring/legit-sampling.ts). @default 1 for every row
   */
  rowWeights?: readonly number[];
  /**
   * Weights (in the inputs' own units) the L2 penalty pulls toward instead of 0: a fit that starts from a belief,
   * e.g. "the features' logit as it is, the model's at nothing", and moves off it only as far as the rows demand.
   * @default every weight 0
   */
  priorWeights?: readonly number[];
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
export const logit = (p: number): number => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};
/** log(1 + e^z) without overflow. */
const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/** Per-column (weighted) mean and standard deviation (1 where a column is constant, so it contributes nothing). */
export function standardiser(
  rows: readonly number[][],
  rowWeights?: readonly number[],
): { mean: number[]; scale: number[] } {
  const width = rows[0]?.length ?? 0;
  const mean = new Array<number>(width).fill(0);
  const scale = new Array<number>(width).fill(0);
  const weightOf = (i: number) => rowWeights?.[i] ?? 1;
  let total = 0;
  rows.forEach((_, i) => (total += weightOf(i)));
  rows.forEach((row, i) => {
    const w = weightOf(i) / total;
    for (let j = 0; j < width; j++) mean[j]! += w * row[j]!;
  });
  rows.forEach((row, i) => {
    const w = weightOf(i) / total;
    for (let j = 0; j < width; j++) scale[j]! += w * (row[j]! - mean[j]!) ** 2;
  });
  return { mean, scale: scale.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

/** Each input's contribution to the log-odds. */
export function contributions(model: LogisticModel, x: readonly number[]): number[] {
  return model.weights.map((w, j) => (w * (x[j]! - model.mean[j]!)) / model.scale[j]!);
}

export function predictLogit(model: LogisticModel, x: readonly number[]): number {
  return contributions(model, x).reduce((sum, c) => sum + c, model.intercept);
}

export function predictProbability(model: LogisticModel, x: readonly number[]): number {
  return sigmoid(predictLogit(model, x));
}

/** Fits y ∈ {0,1} on rows x. Deterministic: the same rows give the same model. */
export function fitLogistic(
  x: readonly number[][],
  y: readonly number[],
  opts: LogisticFitOptions = {},
): LogisticModel {
  if (x.length === 0 || x.length !== y.length)
    throw new Error('fitLogistic needs as many labels as rows, at least one');
  if (opts.rowWeights && opts.rowWeights.length !== x.length)
    throw new Error('fitLogistic needs one row weight per row');
  const { mean, scale } = standardiser(x, opts.rowWeights);
  const design = standardisedDesign(x, mean, scale);
  const weights = y.map((label, i) => (opts.rowWeights?.[i] ?? 1) * (label === 1 ? (opts.positiveWeight ?? 1) : 1));
  // The prior in standardised units: a weight w on x is w·scale on (x − mean)/scale.
  const prior = mean.map((_, j) => (opts.priorWeights?.[j] ?? 0) * scale[j]!);
  const objective = penalisedLogLoss(design, y, weights, opts.l2 ?? 1, prior);
  const beta = minimiseLbfgs(objective, new Float64Array(mean.length + 1), {
    maxIterations: opts.maxIterations ?? 500,
  });
  return { intercept: beta[0]!, weights: Array.from(beta.subarray(1)), mean, scale };
}

/** Rows standardised into one flat row-major array (rows × width), the layout the objective walks through. */
function standardisedDesign(x: readonly number[][], mean: number[], scale: number[]): Float64Array {
  const width = mean.length;
  const design = new Float64Array(x.length * width);
  x.forEach((row, i) => {
    for (let j = 0; j < width; j++) design[i * width + j] = (row[j]! - mean[j]!) / scale[j]!;
  });
  return design;
}

/**
 * The weighted negative log-likelihood plus l2/2·‖weights − prior‖² and its gradient, over β = [intercept,
 * weights]: two passes over the rows per evaluation.
 */
function penalisedLogLoss(
  design: Float64Array,
  y: readonly number[],
  rowWeights: readonly number[],
  l2: number,
  prior: readonly number[],
): (beta: Float64Array, gradient: Float64Array) => number {
  const rows = y.length;
  const width = prior.length;
  return (beta, gradient) => {
    gradient.fill(0);
    let loss = 0;
    for (let i = 0; i < rows; i++) {
      const offset = i * width;
      let z = beta[0]!;
      for (let j = 0; j < width; j++) z += beta[j + 1]! * design[offset + j]!;
      const w = rowWeights[i]!;
      loss += w * (y[i] === 1 ? softplus(-z) : softplus(z));
      const residual = w * (sigmoid(z) - y[i]!);
      gradient[0]! += residual;
      for (let j = 0; j < width; j++) gradient[j + 1]! += residual * design[offset + j]!;
    }
    for (let j = 1; j <= width; j++) {
      const off = beta[j]! - prior[j - 1]!;
      loss += 0.5 * l2 * off ** 2;
      gradient[j]! += l2 * off;
    }
    return loss;
  };
}
