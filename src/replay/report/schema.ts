/**
 * The backtest report's contract: what `buildBacktestReport` writes to `report.json`, and what a saved report is
 * parsed against when it is read back.
 */
import { z } from 'zod';

/** Division by zero is `null`, never NaN or Infinity. */
const Ratio = z.number().nullable();
const Count = z.number().int().nonnegative();

export const ConfusionMatrix = z.object({
  truePositives: Count,
  falsePositives: Count,
  trueNegatives: Count,
  falseNegatives: Count,
});
export type ConfusionMatrix = z.infer<typeof ConfusionMatrix>;

/** Detection quality when the decisions in `flagged` count as "fraud"; positives are fraud labels. */
export const OperatingPoint = z.object({
  flagged: z.array(z.enum(['approve', 'review', 'decline'])),
  matrix: ConfusionMatrix,
  precision: Ratio,
  recall: Ratio,
  f1: Ratio,
  accuracy: Ratio,
  falsePositiveRate: Ratio,
});
export type OperatingPoint = z.infer<typeof OperatingPoint>;

/** Nearest-rank percentiles (as in the live progress line) over `count` values; null when there are none. */
export const Percentiles = z.object({ count: Count, p50: Ratio, p95: Ratio, p99: Ratio });
export type Percentiles = z.infer<typeof Percentiles>;

const Tokens = z.object({ input: Count, output: Count });

export const BacktestReport = z.object({
  schemaVersion: z.literal(1),
  replayId: z.string(),
  policyHash: z.string(),
  thresholds: z.object({ approveBelow: z.number(), declineAt: z.number() }),
  startedAt: z.string(),
  finishedAt: z.string(),
  counts: z.object({
    /** scored + invalid */
    rows: Count,
    scored: Count,
    invalid: Count,
    labelled: Count,
    fraud: Count,
    legit: Count,
    unlabelled: Count,
  }),
  decisions: z.object({
    byOutcome: z.object({ approve: Count, review: Count, decline: Count }),
    byPath: z.object({ rules: Count, local: Count, escalated: Count, fallback: Count }),
  }),
  /** Against labelled rows only. */
  operatingPoints: z.object({ decline: OperatingPoint, reviewOrDecline: OperatingPoint }),
  /** Ten buckets of riskScore, [from, to) except the last, which includes 1. */
  scoreDistribution: z.array(
    z.object({ from: z.number(), to: z.number(), fraud: Count, legit: Count, unlabelled: Count }),
  ),
  /** Transactions with at least one hosted model call, whatever its outcome. */
  escalation: z.object({ transactions: Count, rate: Ratio }),
  modelCalls: z.object({
    total: Count,
    local: Count,
    hosted: Count,
    /** Calls whose outcome is not `ok`. */
    failed: Count,
    localShare: Ratio,
    hostedShare: Ratio,
  }),
  tokens: z.object({ local: Tokens, hosted: Tokens }),
  cost: z.object({
    actualUsd: z.number(),
    hostedOnlyUsd: z.number(),
    savingsUsd: z.number(),
    /** Percent (0..100) of the hosted-only cost saved; null when that cost is 0. */
    savingsPct: Ratio,
    hostedPricing: z.object({ inputUsdPerMTok: z.number(), outputUsdPerMTok: z.number() }),
  }),
  latencyMs: z.object({
    /** Sum of a transaction's model call latencies, over transactions with at least one call. */
    model: Percentiles,
    /** decidedAt minus source time, over transactions where it is known. */
    endToEnd: Percentiles,
  }),
  models: z.array(
    z.object({ model: z.string(), provider: z.string(), tier: z.enum(['local', 'hosted']), calls: Count, ok: Count }),
  ),
  throughput: z.object({ durationMs: z.number().nullable(), rowsPerSecond: Ratio }),
  invalidRows: z.array(z.object({ line: z.number().int(), error: z.string() })),
  warnings: z.array(z.string()),
});
export type BacktestReport = z.infer<typeof BacktestReport>;

/** A report read back from disk (`source` names the file in the error); throws when it is not a backtest report. */
export function parseBacktestReport(value: unknown, source: string): BacktestReport {
  const parsed = BacktestReport.safeParse(value);
  if (!parsed.success) throw new Error(`${source} is not a backtest report:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
