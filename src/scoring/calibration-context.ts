/**
 * The transaction's context beside its card history: when in the day it happened, who the cardholder is, and how
 * its amount compares with what is usual in its merchant category. A card's own history misses these (a first
 * purchase has none), and fraud on real card data leans on them: large amounts in categories where purchases are
 * small, late at night. A linear calibration reads a bent amount scale through hinges at the tuning rows'
 * quantiles, so it can weigh "far above usual" more than "a little above". Pure; the reference is fitted by
 * `fraudflow tune` and stored in the policy file.
 */
import { z } from 'zod';
import { amountInUsd } from '../features/usd-rates';
import type { CardFeatures } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';

/** Quantiles of the tuning rows at which the amount scales bend. */
export const hingeQuantiles = [0.5, 0.75, 0.9, 0.97] as const;

/** What the context inputs are measured against, fitted on the tuning rows. */
export const CalibrationContext = z.object({
  /** Median log(1 + amount in USD) per merchant category (its name, or its MCC when it has none). */
  categoryLogAmount: z.record(z.string(), z.number()),
  /** The same over every row: what a category the tuning rows never saw is compared with. */
  overallLogAmount: z.number(),
  /** log(1 + amount in USD) at {@link hingeQuantiles}. */
  amountKnots: z.array(z.number()).length(hingeQuantiles.length),
  /** Amount against its category (log ratio) at {@link hingeQuantiles}. */
  categoryKnots: z.array(z.number()).length(hingeQuantiles.length),
});
export type CalibrationContext = z.infer<typeof CalibrationContext>;

const hingeNames = (what: string) => hingeQuantiles.map((q) => `${what} above p${Math.round(q * 100)}`);

/** The context inputs' names, in order, as reasons show them. */
export const contextInputs = [
  'hour of day (sine)',
  'hour of day (cosine)',
  'late evening',
  'cardholder age',
  'age unknown',
  'amount vs category',
  ...hingeNames('log amount'),
  ...hingeNames('amount vs category'),
  'amount vs category at night',
] as const;

const categoryOf = (event: TransactionEvent) => event.merchant.category ?? event.merchant.mcc;
const logAmountUsd = (event: TransactionEvent) => Math.log1p(Math.max(0, amountInUsd(event.amount)));
const hinges = (v: number, knots: readonly number[]) => knots.map((k) => Math.max(0, v - k));

/** Whole years from an ISO date of birth to the transaction's date; undefined when unknown or implausible. */
export function cardholderAge(event: TransactionEvent): number | undefined {
  const born = event.customer?.dateOfBirth;
  if (!born) return undefined;
  const [by, bm, bd] = born.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = event.occurredAt.slice(0, 10).split('-').map(Number) as [number, number, number];
  const age = ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
  return age >= 0 && age <= 120 ? age : undefined;
}

/** Log ratio of the amount to its category's median in the reference. */
function amountVsCategory(event: TransactionEvent, context: CalibrationContext): number {
  const typical = context.categoryLogAmount[categoryOf(event)] ?? context.overallLogAmount;
  return logAmountUsd(event) - typical;
}

/** The context inputs of one transaction (same order as {@link contextInputs}). */
export function contextVector(event: TransactionEvent, f: CardFeatures, context: CalibrationContext): number[] {
  const angle = (2 * Math.PI * f.localHour) / 24;
  const age = cardholderAge(event);
  const relative = amountVsCategory(event, context);
  const night = f.localHour >= 22 || f.localHour < 6 ? 1 : 0;
  return [
    Math.sin(angle),
    Math.cos(angle),
    f.localHour >= 22 ? 1 : 0,
    age ?? 0,
    age === undefined ? 1 : 0,
    relative,
    ...hinges(logAmountUsd(event), context.amountKnots),
    ...hinges(relative, context.categoryKnots),
    night * relative,
  ];
}

/** The weighted q-quantile of values (weights: how many transactions each row stands for). */
export function weightedQuantile(values: readonly number[], weights: readonly number[], q: number): number {
  const order = values.map((v, i) => ({ v, w: weights[i] ?? 1 })).sort((a, b) => a.v - b.v);
  const total = order.reduce((s, o) => s + o.w, 0);
  let seen = 0;
  for (const o of order) {
    seen += o.w;
    if (seen >= q * total) return o.v;
  }
  return order.at(-1)?.v ?? 0;
}

/** The reference fitted on the tuning rows. Labels play no part: it describes traffic, not fraud. */
export function fitCalibrationContext(
  events: readonly TransactionEvent[],
  weights: readonly number[] = events.map(() => 1),
): CalibrationContext {
  const logAmounts = events.map(logAmountUsd);
  const byCategory = new Map<string, { v: number[]; w: number[] }>();
  events.forEach((e, i) => {
    const entry = byCategory.get(categoryOf(e)) ?? { v: [], w: [] };
    entry.v.push(logAmounts[i]!);
    entry.w.push(weights[i] ?? 1);
    byCategory.set(categoryOf(e), entry);
  });
  const categoryLogAmount = Object.fromEntries(
    [...byCategory].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, s]) => [c, weightedQuantile(s.v, s.w, 0.5)]),
  );
  const partial = { categoryLogAmount, overallLogAmount: weightedQuantile(logAmounts, weights, 0.5) };
  const relative = events.map((e) => amountVsCategory(e, { ...partial, amountKnots: [], categoryKnots: [] }));
  return {
    ...partial,
    amountKnots: hingeQuantiles.map((q) => weightedQuantile(logAmounts, weights, q)),
    categoryKnots: hingeQuantiles.map((q) => weightedQuantile(relative, weights, q)),
  };
}
