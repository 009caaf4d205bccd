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

/**
 * How well the first-pass fraud probability ranks fraud above legitimate transactions over the labelled rows,
 * whatever the thresholds: what a fraud team sets beside its own model's figures. Null without both classes.
 */
export const Ranking = z.object({
  /** Labelled rows ranked. */
  rows: Count,
  /**
   * Of those, rows without a first-pass probability, ranked by their decision's riskScore instead: 1 for a rule
   * decline, the fallback's score for a first pass that failed or never ran (0.5 unless the hosted tier answered).
   */
  withoutFirstPass: Count,
  auc: Ratio,
  recallAt1PctFpr: Ratio,
  recallAt5PctFpr: Ratio,
});
export type Ranking = z.infer<typeof Ranking>;

/**
 * What `throughput.durationMs` spans, from `startedAt` to `finishedAt`: `command` is the replay command's wall time
 * from its start to its report (start-up, preparation, scoring and the report: what its user waited); `replay` is
 * the replay workflow's, from its first run's start to its close, for a replay this command did not start (resumed,
 * or rebuilt by `report <id>` without a saved command time).
 */
export const MeasuredOver = z.enum(['command', 'replay']);
export type MeasuredOver = z.infer<typeof MeasuredOver>;

export const Throughput = z.object({
  measuredOver: MeasuredOver,
  durationMs: z.number().nullable(),
  /** Scored rows per second of `durationMs`. */
  rowsPerSecond: Ratio,
  /** Scoring alone: from the first decision to the last (decidedAt); null with fewer than two decision times. */
  scoring: z.object({ durationMs: z.number().nullable(), rowsPerSecond: Ratio }),
});
export type Throughput = z.infer<typeof Throughput>;

/**
 * Whether the policy that decided was tuned on the source replayed (src/replay/report/policy-source.ts): a policy
 * tuned on other data brings calibration and thresholds that mean little here.
 */
export const PolicySource = z.object({
  /** The policy file's name. */
  policy: z.string(),
  verdict: z.enum(['same-source', 'other-source', 'shipped', 'unknown']),
  /** The replay the policy was tuned on, from its provenance. */
  tuningReplayId: z.string().nullable(),
  /** That replay's source, when known. */
  tunedOn: z.string().nullable(),
  /** The source of this replay. */
  replayed: z.string(),
  /** Also in `warnings`; null for `same-source`. */
  warning: z.string().nullable(),
});
export type PolicySource = z.infer<typeof PolicySource>;

/** 2: ranking, policySource and the throughput's span added; durationMs no longer the last workflow run's alone. */
export const backtestReportVersion = 2;

export const BacktestReport = z.object({
  schemaVersion: z.literal(backtestReportVersion),
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
  ranking: Ranking,
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
  throughput: Throughput,
  /** Null when not checked: no decisions, or the policy the replay ran with is not known here. */
  policySource: PolicySource.nullable(),
  invalidRows: z.array(z.object({ line: z.number().int(), error: z.string() })),
  warnings: z.array(z.string()),
});
export type BacktestReport = z.infer<typeof BacktestReport>;

/** A report read back from disk (`source` names the file in the error); throws when it is not a backtest report. */
export function parseBacktestReport(value: unknown, source: string): BacktestReport {
  const version = z.object({ schemaVersion: z.number(), replayId: z.string() }).safeParse(value);
  if (version.success && version.data.schemaVersion < backtestReportVersion) {
    throw new Error(
      `${source} was written by an earlier release (report schema ${version.data.schemaVersion}): rebuild it from its stored decisions with fraudflow report ${version.data.replayId}`,
    );
  }
  const parsed = BacktestReport.safeParse(value);
  if (!parsed.success) throw new Error(`${source} is not a backtest report:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
