/**
 * The anchor in the room: the gradient-boosted model a fraud team runs today (LightGBM over point-in-time card
 * history features, bench/quality/anchor.py), trained on the same tuning rows as fraudflow and scored on the same
 * held-out rows, then set beside fraudflow's first-pass probabilities: AUC, recall at 1% and 5% false-positive
 * rate, best F1, each with fraudflow's difference and its paired-bootstrap interval, and the anchor's recall at
 * fraudflow's own operating points. A benchmark figure, never a test threshold.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { amountInUsd } from '../../src/features/usd-rates';
import type { CardFeatures } from '../../src/schemas/card-features';
import type { TransactionEvent } from '../../src/schemas/transaction-event';
import { cardholderAge } from '../../src/scoring/calibration-context';
import type { DifferenceInterval } from '../../src/scoring/paired-bootstrap';
import { pairedDifference } from '../../src/scoring/paired-bootstrap';
import { bestF1, rankingFigureFns, recallAtFalsePositiveRate } from '../../src/scoring/score-figures';

/** Pinned so the anchor's figures are reproducible. */
const anchorPackages = ['lightgbm==4.7.0', 'scikit-learn==1.9.1'];

/** A venv with the anchor's packages from PyPI, made once per Python and package versions. */
export function ensureAnchorPython(cacheDir: string, log: (line: string) => void): string {
  const pythonVersion = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim().replace(/\s+/g, '-');
  const venv = path.join(cacheDir, 'anchor', `venv-${pythonVersion}-${anchorPackages.join('-')}`);
  const python = path.join(venv, 'bin', 'python');
  if (fs.existsSync(path.join(venv, '.complete'))) return python;
  log(`installing the anchor (${anchorPackages.join(', ')}) from PyPI into ${venv}`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', ...anchorPackages], { stdio: 'inherit' });
  fs.writeFileSync(path.join(venv, '.complete'), '');
  return python;
}

export interface AnchorRow {
  event: TransactionEvent;
  features: CardFeatures;
}

/** What the anchor reads: the card's point-in-time history and the transaction itself. */
const anchorColumns = [
  'amount usd',
  'hour',
  'age',
  'category',
  'txns 1h',
  'txns 24h',
  'txns 7d',
  'spend 1h',
  'spend 24h',
  'spend 7d',
  'amount vs card mean',
  'seconds since previous',
  'history size',
  'first time at merchant',
  'first time in category',
] as const;

function anchorRow(row: AnchorRow, categories: Map<string, number>): (number | null)[] {
  const { event, features: f } = row;
  return [
    amountInUsd(event.amount),
    f.localHour,
    cardholderAge(event) ?? null,
    categories.get(event.merchant.category ?? event.merchant.mcc) ?? null,
    f.txnCount1h,
    f.txnCount24h,
    f.txnCount7d,
    f.amountSum1hUsd,
    f.amountSum24hUsd,
    f.amountSum7dUsd,
    f.amountRatioToMean,
    f.secondsSincePrevious,
    f.historyCount,
    f.firstTimeMerchant ? 1 : 0,
    f.firstTimeCategory ? 1 : 0,
  ];
}

const AnchorAnswer = z.object({
  scores: z.array(z.number()),
  chosen: z.object({ trees: z.number(), leaves: z.number(), outOfFoldLogLoss: z.number(), lightgbm: z.string() }),
});
export type AnchorAnswer = z.infer<typeof AnchorAnswer>;

/** The anchor trained on `train` (oldest first) and its fraud scores of `test`. */
export function scoreWithAnchor(
  python: string,
  train: { rows: AnchorRow[]; labels: boolean[] },
  test: AnchorRow[],
): AnchorAnswer {
  const names = [...train.rows, ...test].map((r) => r.event.merchant.category ?? r.event.merchant.mcc);
  const categories = new Map([...new Set(names)].sort().map((c, i) => [c, i]));
  const input = {
    columns: anchorColumns,
    categorical: ['category'],
    train: { x: train.rows.map((r) => anchorRow(r, categories)), y: train.labels.map((f) => (f ? 1 : 0)) },
    test: { x: test.map((r) => anchorRow(r, categories)) },
  };
  const script = path.join(__dirname, 'anchor.py');
  const run = spawnSync(python, [script], { input: JSON.stringify(input), maxBuffer: 1 << 28, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the anchor failed (exit ${run.status}): ${run.stderr}`);
  const answer = AnchorAnswer.parse(JSON.parse(run.stdout));
  if (answer.scores.length !== test.length) throw new Error('the anchor scored another number of rows');
  return answer;
}

const figureFns = { ...rankingFigureFns, bestF1 } as const;
type FigureName = keyof typeof figureFns;

export interface SideBySide {
  rows: number;
  frauds: number;
  anchor: Record<FigureName, number>;
  fraudflow: Record<FigureName, number>;
  /** fraudflow minus the anchor, with its 95% paired-bootstrap interval. */
  difference: Record<FigureName, DifferenceInterval>;
  /** The anchor's recall at the false-positive rates fraudflow's decisions ran at. */
  atFraudflowOperatingPoints: { falsePositiveRate: number; fraudflowRecall: number; anchorRecall: number }[];
}

export function sideBySide(
  labels: boolean[],
  scores: { anchor: number[]; fraudflow: number[] },
  operatingPoints: { falsePositiveRate: number; recall: number }[],
): SideBySide {
  const figures = (s: number[]) =>
    Object.fromEntries(Object.entries(figureFns).map(([k, f]) => [k, round(f(s, labels))])) as Record<
      FigureName,
      number
    >;
  const pair = { champion: scores.anchor, challenger: scores.fraudflow };
  return {
    rows: labels.length,
    frauds: labels.filter(Boolean).length,
    anchor: figures(scores.anchor),
    fraudflow: figures(scores.fraudflow),
    difference: Object.fromEntries(
      Object.entries(figureFns).map(([k, f]) => [k, roundInterval(pairedDifference(labels, pair, (s, y) => f(s, y)))]),
    ) as Record<FigureName, DifferenceInterval>,
    atFraudflowOperatingPoints: operatingPoints.map((p) => ({
      falsePositiveRate: round(p.falsePositiveRate),
      fraudflowRecall: round(p.recall),
      anchorRecall: round(recallAtFalsePositiveRate(scores.anchor, labels, p.falsePositiveRate)),
    })),
  };
}

const round = (v: number) => Math.round(v * 10_000) / 10_000;
const roundInterval = (d: DifferenceInterval): DifferenceInterval => ({
  ...d,
  estimate: round(d.estimate),
  low: round(d.low),
  high: round(d.high),
});
