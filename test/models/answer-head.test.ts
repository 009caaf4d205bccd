import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generator/synthetic';
import { answerProbe, dot, fitAnswerHead } from '../../src/models/answer-head';
import { fitLogistic, logit, predictLogit } from '../../src/scoring/logistic';
import { rocAuc } from '../../src/scoring/tuning';

/**
 * Unit states like a model's (48 dimensions here, 576 in SmolLM2): one common direction carries most of each state,
 * and fraud moves a state a little along one other dimension, with noise in the rest. 600 rows, 60 frauds.
 */
function states() {
  const random = mulberry32(11);
  const isFraud = Array.from({ length: 600 }, (_, i) => i % 10 === 0);
  const rows = isFraud.map((fraud) => {
    const x = [1, ...Array.from({ length: 47 }, () => (random() - 0.5) * 0.1)];
    x[1]! += fraud ? 0.05 : 0;
    const norm = Math.sqrt(dot(x, x));
    return x.map((v) => v / norm);
  });
  return { rows, isFraud };
}

describe('fitAnswerHead', () => {
  it("folds the probe into one direction whose dot product with a state is the probe's log-odds", () => {
    const { rows, isFraud } = states();
    const head = fitAnswerHead(rows, isFraud, 0.1);
    const probe = fitLogistic(rows, isFraud.map(Number), { l2: 30 });
    const gaps = rows.map((e) => Math.abs(dot(head.direction, e) - predictLogit(probe, e)));
    expect(gaps.reduce((a, g) => a + g, 0) / gaps.length).toBeLessThan(0.1);
    expect(Math.max(...gaps)).toBeLessThan(0.3);
    const auc = rocAuc(
      rows.map((e) => dot(head.direction, e)),
      isFraud,
    );
    expect(auc).toBeGreaterThan(0.9);
    expect(
      Math.abs(
        auc -
          rocAuc(
            rows.map((e) => predictLogit(probe, e)),
            isFraud,
          ),
      ),
    ).toBeLessThan(0.005);
    expect(head.fittedOn).toEqual({ rows: 600, frauds: 60, answerShare: 0.1 });
  });

  it("moves the intercept from the rows' fraud share to the training examples' share", () => {
    const { rows, isFraud } = states();
    const natural = fitAnswerHead(rows, isFraud, 0.1);
    const balanced = fitAnswerHead(rows, isFraud, 0.4);
    const shift = logit(0.4) - logit(0.1);
    for (const e of rows.slice(0, 50))
      expect(Math.abs(dot(balanced.direction, e) - dot(natural.direction, e) - shift)).toBeLessThan(0.05);
  });

  it('refuses rows of one class', () => {
    const { rows } = states();
    expect(() =>
      fitAnswerHead(
        rows,
        rows.map(() => false),
        0.5,
      ),
    ).toThrow(/frauds and legitimate rows/);
  });
});

describe('answerProbe', () => {
  it("scores a state with the model's own answer direction, fitting nothing", () => {
    const { rows } = states();
    const direction = rows[1]!.map((_, j) => Math.sin(j));
    const probe = answerProbe(direction);
    for (const e of rows.slice(0, 20)) expect(predictLogit(probe, e)).toBeCloseTo(dot(direction, e), 10);
  });
});
