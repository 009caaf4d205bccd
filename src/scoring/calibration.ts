/**
 * Calibration: from a transaction's card-history features and the local model's raw output to a fraud
 * probability, with each input's share of the log-odds so a decision can say why. Pure; the fitted weights come
 * from a scoring policy file written by `fraudflow tune`.
 */
import { toMajorUnits } from '../money';
import type { CardFeatures } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { CalibrationContext } from './calibration-context';
import { contextInputs, contextVector } from './calibration-context';
import type { LogisticModel } from './logistic';
import { contributions, sigmoid } from './logistic';

/** The calibration's card-history inputs, in order; names are what reasons show. */
export const calibrationInputs = [
  'log amount',
  'card txns 1h',
  'card txns 24h',
  'card txns 7d',
  'card spend 24h',
  'amount vs card mean',
  'amount z-score',
  'card history size',
  'time since previous',
  'merchants 24h',
  'countries 24h',
  'new merchant',
  'new category',
  'new country',
  'distance from previous',
  'speed from previous',
  'night hour',
  'small amounts 10m',
  'online',
  'abroad',
] as const;

const log1p = (v: number | null | undefined) => Math.log1p(Math.max(0, v ?? 0));
const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const flag = (b: boolean | undefined) => (b ? 1 : 0);
const monthSeconds = 30 * 24 * 3600;

/**
 * The calibration's input vector for one transaction: the card-history inputs ({@link calibrationInputs}), then,
 * when the calibration has a context reference, the context inputs (src/scoring/calibration-context.ts).
 */
export function calibrationVector(event: TransactionEvent, f: CardFeatures, context?: CalibrationContext): number[] {
  const history = cardHistoryVector(event, f);
  return context ? [...history, ...contextVector(event, f, context)] : history;
}

/** Every input name of a calibration, in order, the model's raw logit last when it reads it. */
export function calibrationInputNames(calibration: { withModel: boolean; context?: CalibrationContext }): string[] {
  return [
    ...calibrationInputs,
    ...(calibration.context ? contextInputs : []),
    ...(calibration.withModel ? ['local model'] : []),
  ];
}

function cardHistoryVector(event: TransactionEvent, f: CardFeatures): number[] {
  const abroad = event.cardholderCountry !== undefined && event.cardholderCountry !== event.merchant.country;
  return [
    log1p(toMajorUnits(event.amount)),
    log1p(f.txnCount1h),
    log1p(f.txnCount24h),
    log1p(f.txnCount7d),
    log1p(f.amountSum24hUsd),
    f.amountRatioToMean === null ? 0 : clip(Math.log(Math.max(f.amountRatioToMean, 1e-3)), -5, 5),
    f.amountZScore === null ? 0 : clip(f.amountZScore, -5, 10),
    log1p(f.historyCount),
    log1p(f.secondsSincePrevious ?? monthSeconds),
    log1p(f.distinctMerchants24h),
    log1p(f.distinctCountries24h),
    flag(f.firstTimeMerchant),
    flag(f.firstTimeCategory),
    flag(f.firstTimeCountry),
    log1p(f.distanceKmFromPrevious),
    log1p(f.speedKmhFromPrevious),
    f.localHour < 6 ? 1 : 0,
    log1p(f.smallAmountCount10m),
    flag(event.channel === 'ecommerce' || event.channel === 'mail_phone'),
    flag(abroad),
  ];
}

/**
 * A fitted calibration; `withModel` says whether the model's raw logit is its last input, `context` (absent in
 * policies tuned before it existed) whether it reads the context inputs too.
 */
export interface Calibration {
  model: LogisticModel;
  withModel: boolean;
  context?: CalibrationContext;
}

export interface CalibratedScore {
  probability: number;
  /** The inputs that moved the log-odds most, strongest first, e.g. `amount vs card mean +1.8`. */
  drivers: string[];
}

/** Calibrated fraud probability from the features and (when the calibration uses it) the model's raw logit. */
export function calibrate(
  calibration: Calibration,
  event: TransactionEvent,
  features: CardFeatures,
  modelLogit?: number,
): CalibratedScore {
  const x = calibrationVector(event, features, calibration.context);
  if (calibration.withModel) x.push(modelLogit ?? 0);
  const parts = contributions(calibration.model, x);
  const logOdds = parts.reduce((s, c) => s + c, calibration.model.intercept);
  const names = calibrationInputNames(calibration);
  const drivers = parts
    .map((c, i) => ({ name: names[i] ?? `input ${i}`, c }))
    .filter((d) => Math.abs(d.c) >= 0.5)
    .sort((a, b) => Math.abs(b.c) - Math.abs(a.c))
    .slice(0, 4)
    .map((d) => `${d.name} ${d.c >= 0 ? '+' : ''}${d.c.toFixed(1)}`);
  // Six decimals: enough for any threshold, and a pass-through calibration returns the model's score exactly.
  return { probability: Math.round(sigmoid(logOdds) * 1e6) / 1e6, drivers };
}
