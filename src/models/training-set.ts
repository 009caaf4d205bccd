/**
 * The fine-tuning set: labelled history turned into exactly what the first pass sends the local model (the
 * transaction line and its card-history line, from firstPassText) followed by the answer wanted. Rows are split by
 * time into three slices that never share a transaction: the oldest fine-tune the model, the middle fit the scoring
 * policy of each model compared, the latest are held out and only measured.
 */
import { createHash } from 'node:crypto';
import type { CardFeatures } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';
import { answerCue, firstPassText } from './first-pass';

export interface LabelledTransaction {
  event: TransactionEvent;
  features: CardFeatures;
  isFraud: boolean;
  /** occurredAt in ms since the epoch. */
  at: number;
}

/** The answer the fine-tuned model learns to give after a first-pass text. */
export const answerLine = (isFraud: boolean) => `${answerCue} ${isFraud ? 'yes' : 'no'}`;

/** One training example: the first-pass text, then the answer. */
export function trainingExample(row: LabelledTransaction): string {
  return `${firstPassText(row.event, row.features)}\n${answerLine(row.isFraud)}\n`;
}

export interface TimeSlices<T> {
  /** The oldest rows: the fine-tuning set is drawn from these. */
  train: T[];
  /** The next rows: each compared model's probe, calibration and thresholds are fitted here. */
  calibrate: T[];
  /** The latest rows: measured, never fitted on. */
  heldOut: T[];
}

/** Splits rows (oldest first) by time at the given shares; the held-out slice is what is left. */
export function sliceByTime<T extends { at: number }>(
  rows: readonly T[],
  shares: { train: number; calibrate: number },
): TimeSlices<T> {
  if (shares.train <= 0 || shares.calibrate <= 0 || shares.train + shares.calibrate >= 1)
    throw new RangeError('train and calibrate shares must be positive and leave a held-out slice');
  const sorted = [...rows].sort((a, b) => a.at - b.at);
  const a = Math.floor(sorted.length * shares.train);
  const b = Math.floor(sorted.length * (shares.train + shares.calibrate));
  return { train: sorted.slice(0, a), calibrate: sorted.slice(a, b), heldOut: sorted.slice(b) };
}

/**
 * At most `maxRows` training rows: every fraud (up to half of them), legitimate rows evenly spread over the slice
 * for the rest; in time order. Fraud is rare, so without this most steps would teach only "no".
 */
export function sampleTrainingRows<T extends LabelledTransaction>(rows: readonly T[], maxRows: number): T[] {
  const frauds = rows.filter((r) => r.isFraud);
  const legit = rows.filter((r) => !r.isFraud);
  const keptFrauds = evenlySpread(frauds, Math.min(frauds.length, Math.floor(maxRows / 2)));
  const keptLegit = evenlySpread(legit, Math.min(legit.length, maxRows - keptFrauds.length));
  return [...keptFrauds, ...keptLegit].sort((a, b) => a.at - b.at);
}

/**
 * The rows the answer head is fitted on: at most `maxRows`, evenly spread over the slice in time, so the fraud
 * share stays the slice's own (the head's intercept is moved from it to the training examples' share).
 */
export function sampleHeadRows<T extends LabelledTransaction>(rows: readonly T[], maxRows: number): T[] {
  return evenlySpread(rows, maxRows);
}

function evenlySpread<T>(rows: readonly T[], n: number): T[] {
  if (n >= rows.length) return [...rows];
  if (n <= 0) return [];
  const step = rows.length / n;
  return Array.from({ length: n }, (_, i) => rows[Math.floor(i * step)]!);
}

/** The training text and its hash (sha256, 16 hex digits): the lineage of a fine-tuned model. */
export function trainingText(rows: readonly LabelledTransaction[]): { text: string; hash: string } {
  const text = rows.map(trainingExample).join('\n');
  return { text, hash: createHash('sha256').update(text).digest('hex').slice(0, 16) };
}
