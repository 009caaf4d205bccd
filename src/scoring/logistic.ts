/**
 * L2-regularised logistic regression, fitted by Newton's method (iteratively reweighted least squares) with
 * ml-matrix solving each step. Small and explainable: a probability is a weighted sum of standardised inputs,
 * so every weight times its input is that input's contribution to the log-odds. Pure; used by `fraudflow tune`
 * and by the scoring activities (prediction only).
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

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
  /** Newton steps at most. @default 50 */
  maxIterations?: number;
  /** Weight of positive rows, to balance rare fraud against the penalty. @default 1 */
  positiveWeight?: number;
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
export const logit = (p: number): number => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

/** Per-column mean and standard deviation (1 where a column is constant, so it contributes nothing). */
export function standardiser(rows: readonly number[][]): { mean: number[]; scale: number[] } {
  const width = rows[0]?.length ?? 0;
  const mean = new Array<number>(width).fill(0);
  const scale = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j++) mean[j]! += row[j]! / rows.length;
  for (const row of rows) for (let j = 0; j < width; j++) scale[j]! += (row[j]! - mean[j]!) ** 2 / rows.length;
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
  const { mean, scale } = standardiser(x);
  const l2 = opts.l2 ?? 1;
  const positiveWeight = opts.positiveWeight ?? 1;
  const width = mean.length + 1;
  // Design matrix with an intercept column first.
  const design = new Matrix(x.map((row) => [1, ...row.map((v, j) => (v - mean[j]!) / scale[j]!)]));
  const rowWeights = y.map((label) => (label === 1 ? positiveWeight : 1));
  const penalty = Matrix.eye(width, width).mul(l2);
  penalty.set(0, 0, 0);
  let beta = Matrix.zeros(width, 1);
  for (let iteration = 0; iteration < (opts.maxIterations ?? 50); iteration++) {
    const p = design.mmul(beta).to1DArray().map(sigmoid);
    const residual = Matrix.columnVector(p.map((pi, i) => rowWeights[i]! * (y[i]! - pi)));
    const gradient = design.transpose().mmul(residual).sub(penalty.mmul(beta));
    // Hessian Xᵀ·W·X + λI, built as (√W·X)ᵀ(√W·X).
    const rootW = p.map((pi, i) => Math.sqrt(rowWeights[i]! * Math.max(pi * (1 - pi), 1e-9)));
    const weighted = design.clone();
    for (let i = 0; i < weighted.rows; i++)
      for (let j = 0; j < width; j++) weighted.set(i, j, weighted.get(i, j) * rootW[i]!);
    const hessian = weighted.transpose().mmul(weighted).add(penalty);
    const step = new CholeskyDecomposition(hessian).solve(gradient);
    beta = beta.add(step);
    if (Math.max(...step.to1DArray().map(Math.abs)) < 1e-8) break;
  }
  const fitted = beta.to1DArray();
  return { intercept: fitted[0]!, weights: fitted.slice(1), mean, scale };
}
