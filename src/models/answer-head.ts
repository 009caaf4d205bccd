/**
 * The answer head: where fine-tuning starts. Before any weight of the body is trained, the model's output rows for
 * the two answers (`fraud: yes`, `fraud: no`) are set from a logistic probe fitted on the base model's states at the
 * answer cue over the training slice, so the model answers as well as that probe from its first step ("linear
 * probing, then fine-tuning": a head learned from scratch would send large, uninformed gradients through the body
 * and distort the states the answer is read from). The body is then fine-tuned from there at a small rate.
 *
 * The states Ollama returns are the normed last-token states scaled to unit length, and they lie close to one
 * common direction; the output layer has no bias, so the probe's intercept rides on a carrier: the direction whose
 * dot product with the fitted states is closest to 1 (least squares).
 * Pure: `fraudflow model train` embeds the rows and writes the rows into the model (answer-head.py).
 */
import { Matrix, solve } from 'ml-matrix';
import { z } from 'zod';
import { fitLogistic, logit, standardiser } from '../scoring/logistic';
import type { LogisticModel } from '../scoring/logistic';

/** What answer-head.py writes into the model: the answer direction and the states' mean direction. */
export const AnswerHead = z.object({
  /** d: d·state is the fraud log-odds the head starts from (for a state near the mean direction). */
  direction: z.array(z.number()),
  /** u: the mean of the unit states the head was fitted on. */
  meanState: z.array(z.number()),
  /** The probe's fit: rows, frauds, and the fraud share the intercept was moved to (the training examples'). */
  fittedOn: z.object({ rows: z.number().int(), frauds: z.number().int(), answerShare: z.number() }),
});
export type AnswerHead = z.infer<typeof AnswerHead>;

/**
 * Fits the probe on `states` (unit vectors) and folds it into one direction. `answerShare` is the fraud share of
 * the examples the model is then trained on: the intercept moves from the rows' share to it, so the head starts
 * at the prior the training examples have.
 */
export function fitAnswerHead(
  states: readonly number[][],
  isFraud: readonly boolean[],
  answerShare: number,
  l2 = 30,
): AnswerHead {
  const frauds = isFraud.filter(Boolean).length;
  if (frauds === 0 || frauds === isFraud.length) throw new Error('the answer head needs frauds and legitimate rows');
  const probe = fitLogistic(states, isFraud.map(Number), { l2 });
  const shift = logit(answerShare) - logit(frauds / isFraud.length);
  const c = carrier(states);
  const v = probe.weights.map((w, j) => w / probe.scale[j]!);
  // logit = intercept + Σ wⱼ(xⱼ − μⱼ)/σⱼ = b + v·x, and b·(c·x) ≈ b for every fitted state.
  const b = probe.intercept - probe.weights.reduce((sum, w, j) => sum + (w * probe.mean[j]!) / probe.scale[j]!, 0);
  return {
    direction: v.map((vj, j) => vj + (b + shift) * c[j]!),
    meanState: standardiser(states).mean,
    fittedOn: { rows: states.length, frauds, answerShare },
  };
}

/** The c minimising Σ(c·x − 1)² over the states (with a tiny ridge, so a constant column cannot break it). */
export function carrier(states: readonly number[][]): number[] {
  const x = new Matrix(states);
  const gram = x.transpose().mmul(x);
  for (let j = 0; j < gram.rows; j++) gram.set(j, j, gram.get(j, j) + 1e-9 * states.length);
  const target = x.transpose().mmul(Matrix.ones(states.length, 1));
  return solve(gram, target).getColumn(0);
}

/**
 * The probe a fine-tuned model's policy scores with: the model's own answer, (yes row − no row)·state times the
 * state's scale, read from its output layer (answer-head.py `read`). Nothing is fitted on the calibration slice.
 */
export function answerProbe(direction: readonly number[]): LogisticModel {
  return {
    intercept: 0,
    weights: [...direction],
    mean: direction.map(() => 0),
    scale: direction.map(() => 1),
  };
}

export const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, x, j) => sum + x * b[j]!, 0);
