/**
 * A fine-tuned model against its base on the held-out slice: the paired-bootstrap differences of the figures fraud
 * teams compare models by, and the table and lines `model train` and `model list` print.
 */
import type { DifferenceInterval } from '../scoring/paired-bootstrap';
import { differenceVerdict, pairedDifference, signedDifference } from '../scoring/paired-bootstrap';
import type { PolicyFigures } from '../scoring/held-out';
import { roundFigure } from '../scoring/held-out';
import { rankingFigureFns } from '../scoring/score-figures';
import type { RegisteredModel } from './registry';

/** Fine-tuned minus base on the held-out rows, with paired-bootstrap intervals: a gain, a loss, or noise. */
export function heldOutDifference(labels: boolean[], base: number[], tuned: number[]) {
  const scores = { champion: base, challenger: tuned };
  const rounded = (d: DifferenceInterval): DifferenceInterval => ({
    ...d,
    estimate: roundFigure(d.estimate),
    low: roundFigure(d.low),
    high: roundFigure(d.high),
  });
  return {
    auc: rounded(pairedDifference(labels, scores, (p, y) => rankingFigureFns.auc(p, y))),
    recallAt1PctFpr: rounded(pairedDifference(labels, scores, (p, y) => rankingFigureFns.recallAt1PctFpr(p, y))),
  };
}

export function comparisonTable(m: RegisteredModel): string {
  const b = m.heldOut.base;
  const f = m.heldOut.fineTuned;
  const row = (name: string, key: keyof PolicyFigures) => `| ${name} | ${b[key]} | ${f[key]} |`;
  const d = m.heldOut.difference;
  return [
    `held out: ${b.rows} rows (${b.frauds} fraud) from ${m.heldOut.from}`,
    `| | ${m.base.tag} | ${m.tag} |`,
    '| --- | --- | --- |',
    row('AUC', 'auc'),
    row('recall at 1% FPR', 'recallAt1PctFpr'),
    row('decline F1', 'declineF1'),
    row('review-or-decline recall', 'flaggedRecall'),
    row('escalated share', 'escalatedShare'),
    ...(d ? [differenceLine('AUC', d.auc), differenceLine('recall at 1% FPR', d.recallAt1PctFpr)] : []),
  ].join('\n');
}

/** "fine-tuned - base, AUC: +0.0028, 95% interval [-0.0101, +0.0160] (1000 paired resamples): within noise". */
export function differenceLine(figure: string, d: DifferenceInterval): string {
  const signed = signedDifference;
  const level = `${Math.round(d.level * 100)}%`;
  return (
    `fine-tuned - base, ${figure}: ${signed(d.estimate)}, ${level} interval [${signed(d.low)}, ${signed(d.high)}] ` +
    `(${d.resamples} paired resamples): ${differenceVerdict(d)}`
  );
}
