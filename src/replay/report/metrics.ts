/**
 * Backtest metrics: what a replay's decisions say about detection quality, escalation, cost and latency, compared
 * with the ground-truth labels of the historical data. Pure functions: the replay command gathers the rows and
 * writes the report these return as JSON.
 */
import { percentile } from '../../observability/figures';
import type { Decision, DecisionOutcome, ModelCall, ShadowScore } from '../../schemas/decision';
import { firstPassCall, rankingFigures } from '../quality';
import type { BacktestReport, MeasuredOver, OperatingPoint, Percentiles, PolicySource } from './schema';
import { backtestReportVersion } from './schema';

/** One replayed transaction: its decision and, when the source is labelled, the ground truth. */
export interface ScoredRow {
  decision: Decision;
  label?: { isFraud: boolean };
  /**
   * When the replay submitted the transaction (ISO 8601). End-to-end latency is `decidedAt` minus the decision
   * source's timestamp (Kafka), else minus this; rows with neither are left out of it. @default undefined
   */
  submittedAt?: string;
  /**
   * The first pass's fraud probability, for a decision whose model calls do not carry it (a challenger's, scored in
   * shadow). @default the riskScore of the local call that answered
   */
  firstPassProbability?: number;
}

export interface BacktestOptions {
  replayId: string;
  policyHash: string;
  thresholds: { approveBelow: number; declineAt: number };
  /** Prices of the hosted model the hosted-only counterfactual is priced at. */
  hostedPricing: { inputUsdPerMTok: number; outputUsdPerMTok: number };
  /** The wall time the throughput is measured over (reportTiming in ./timing): its bounds and what it spans. */
  startedAt: string;
  finishedAt: string;
  measuredOver: MeasuredOver;
  /** Source rows that never became a transaction (bad JSON, schema violations, unreadable CSV). */
  invalidRows: Array<{ line: number; error: string }>;
  /** Whether the policy was tuned on the source replayed; its warning goes to `warnings`. @default null */
  policySource?: PolicySource | null;
}

const scoreBuckets = 10;

/**
 * The rows as the challenger scored in shadow would have decided them: the outcome the decision policy gave its
 * first pass, and its first-pass probability. Where its policy escalated on the champion's hosted answer, that
 * call is the row's (the challenger would have made it too); where it would have escalated with no hosted answer
 * to reuse, a `skipped` hosted call stands for the call shadow never makes (counted as an escalation, at no cost).
 * A row it failed to score goes to review, as a failed first pass does. Rows without a shadow answer are left out.
 */
export function challengerRows(rows: readonly ScoredRow[]): ScoredRow[] {
  return rows.flatMap((row) => {
    const shadow = row.decision.shadow;
    if (!shadow) return [];
    const answered = shadow.outcome === 'ok' && shadow.decision && shadow.riskScore !== undefined;
    const hostedCalls = challengerHostedCalls(row.decision, shadow);
    const hostedScore =
      shadow.path === 'escalated' ? hostedCalls.find((c) => c.outcome === 'ok')?.riskScore : undefined;
    const answer = answered
      ? { decision: shadow.decision!, riskScore: hostedScore ?? shadow.riskScore!, path: shadow.path ?? 'local' }
      : { decision: 'review' as const, riskScore: 0.5, path: 'fallback' as const };
    const decision: Decision = {
      ...row.decision,
      ...answer,
      // The challenger has no settings of its own: its report is keyed by its policy file's hash.
      policyHash: shadow.policyFileHash,
      modelCalls: answered ? hostedCalls : [],
    };
    return [{ ...row, decision, firstPassProbability: answered ? shadow.riskScore : undefined }];
  });
}

/** The hosted calls the challenger's decision stands on: the champion's, reused, or the one shadow skipped. */
function challengerHostedCalls(champion: Decision, shadow: ShadowScore): ModelCall[] {
  if (!shadow.wouldEscalate) return [];
  const hosted = champion.modelCalls.filter((c) => c.tier === 'hosted');
  // The same chain, failovers included: the challenger's escalation would have gone as the champion's did.
  if (shadow.path === 'escalated') return hosted;
  const skipped: ModelCall = {
    provider: 'hosted',
    model: 'not called in shadow',
    tier: 'hosted',
    outcome: 'skipped',
    error: 'no hosted answer to reuse: shadow never calls a hosted model',
    latencyMs: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  };
  return [skipped];
}

/** How often the challenger scored in shadow agreed with the champion, and how often each went to the hosted tier. */
export interface ShadowAgreement {
  /** Rows the challenger answered (failed ones are left out). */
  scored: number;
  agreed: number;
  agreementRate: number | null;
  championEscalationRate: number | null;
  challengerEscalationRate: number | null;
  /** Escalations the challenger would have made with no hosted answer to reuse: its cost is not in the figures. */
  unansweredEscalations: number;
}

export function shadowAgreement(rows: readonly ScoredRow[]): ShadowAgreement {
  let scored = 0;
  let agreed = 0;
  let championEscalated = 0;
  let challengerEscalated = 0;
  let unansweredEscalations = 0;
  for (const { decision } of rows) {
    const shadow = decision.shadow;
    if (shadow?.outcome !== 'ok') continue;
    scored++;
    if (shadow.agrees) agreed++;
    if (decision.modelCalls.some((c) => c.tier === 'hosted')) championEscalated++;
    if (shadow.wouldEscalate) challengerEscalated++;
    if (shadow.wouldEscalate && shadow.path !== 'escalated') unansweredEscalations++;
  }
  return {
    scored,
    agreed,
    agreementRate: ratio(agreed, scored),
    championEscalationRate: ratio(championEscalated, scored),
    challengerEscalationRate: ratio(challengerEscalated, scored),
    unansweredEscalations,
  };
}

export function buildBacktestReport(rows: ScoredRow[], opts: BacktestOptions): BacktestReport {
  const tally = emptyTally();
  for (const row of rows) tallyRow(tally, row, opts);
  const { calls, escalated, fraud, legit } = tally;
  const scored = rows.length;
  const labelled = fraud + legit;
  return {
    schemaVersion: backtestReportVersion,
    replayId: opts.replayId,
    policyHash: opts.policyHash,
    thresholds: { ...opts.thresholds },
    startedAt: opts.startedAt,
    finishedAt: opts.finishedAt,
    counts: {
      rows: scored + opts.invalidRows.length,
      scored,
      invalid: opts.invalidRows.length,
      labelled,
      fraud,
      legit,
      unlabelled: scored - labelled,
    },
    decisions: { byOutcome: tally.byOutcome, byPath: tally.byPath },
    operatingPoints: {
      decline: operatingPoint(rows, ['decline']),
      reviewOrDecline: operatingPoint(rows, ['review', 'decline']),
    },
    ranking: rankingOf(tally.ranked),
    scoreDistribution: tally.buckets,
    escalation: { transactions: escalated, rate: ratio(escalated, scored) },
    modelCalls: {
      ...calls,
      localShare: ratio(calls.local, calls.total),
      hostedShare: ratio(calls.hosted, calls.total),
    },
    tokens: tally.tokens,
    cost: costOf(tally.usd, opts.hostedPricing),
    latencyMs: { model: percentiles(tally.modelLatencies), endToEnd: percentiles(tally.endToEndLatencies) },
    models: [...tally.models.values()].sort((a, b) => b.calls - a.calls || a.model.localeCompare(b.model)),
    throughput: throughputOf(scored, tally.decided, opts),
    policySource: opts.policySource ?? null,
    invalidRows: opts.invalidRows.map(({ line, error }) => ({ line, error })),
    warnings: warningsOf(tally, opts, scored - labelled),
  };
}

/** Running totals of the one pass over the scored rows. */
interface Tally {
  byOutcome: BacktestReport['decisions']['byOutcome'];
  byPath: BacktestReport['decisions']['byPath'];
  buckets: BacktestReport['scoreDistribution'];
  fraud: number;
  legit: number;
  calls: { total: number; local: number; hosted: number; failed: number };
  tokens: BacktestReport['tokens'];
  /** Keyed by tier, provider and model. */
  models: Map<string, BacktestReport['models'][number]>;
  modelLatencies: number[];
  endToEndLatencies: number[];
  escalated: number;
  usd: { actual: number; localTokensAtHosted: number; hostedCalls: number };
  otherPolicy: number;
  seen: Set<string>;
  duplicates: number;
  /** Labelled rows' ranking scores (rankingScore) and labels. */
  ranked: { scores: number[]; labels: boolean[]; withoutFirstPass: number };
  /** The earliest and latest decidedAt, ms. */
  decided: { first: number; last: number; count: number };
}

function emptyTally(): Tally {
  return {
    byOutcome: { approve: 0, review: 0, decline: 0 },
    byPath: { rules: 0, local: 0, escalated: 0, fallback: 0 },
    buckets: Array.from({ length: scoreBuckets }, (_, i) => ({
      from: i / scoreBuckets,
      to: (i + 1) / scoreBuckets,
      fraud: 0,
      legit: 0,
      unlabelled: 0,
    })),
    fraud: 0,
    legit: 0,
    calls: { total: 0, local: 0, hosted: 0, failed: 0 },
    tokens: { local: { input: 0, output: 0 }, hosted: { input: 0, output: 0 } },
    models: new Map(),
    modelLatencies: [],
    endToEndLatencies: [],
    escalated: 0,
    usd: { actual: 0, localTokensAtHosted: 0, hostedCalls: 0 },
    otherPolicy: 0,
    seen: new Set(),
    duplicates: 0,
    ranked: { scores: [], labels: [], withoutFirstPass: 0 },
    decided: { first: Infinity, last: -Infinity, count: 0 },
  };
}

function tallyRow(tally: Tally, row: ScoredRow, opts: BacktestOptions): void {
  const { decision, label, submittedAt } = row;
  tally.byOutcome[decision.decision]++;
  tally.byPath[decision.path]++;
  if (decision.policyHash !== opts.policyHash) tally.otherPolicy++;
  if (tally.seen.has(decision.transactionId)) tally.duplicates++;
  else tally.seen.add(decision.transactionId);

  const bucket = tally.buckets[Math.min(scoreBuckets - 1, Math.floor(decision.riskScore * scoreBuckets + 1e-9))];
  if (bucket) {
    if (label === undefined) bucket.unlabelled++;
    else if (label.isFraud) bucket.fraud++;
    else bucket.legit++;
  }
  if (label?.isFraud === true) tally.fraud++;
  else if (label?.isFraud === false) tally.legit++;
  if (label !== undefined) {
    const { score, firstPass } = rankingScore(row);
    tally.ranked.scores.push(score);
    tally.ranked.labels.push(label.isFraud);
    if (!firstPass) tally.ranked.withoutFirstPass++;
  }
  const decidedMs = Date.parse(decision.decidedAt);
  if (Number.isFinite(decidedMs)) {
    tally.decided.first = Math.min(tally.decided.first, decidedMs);
    tally.decided.last = Math.max(tally.decided.last, decidedMs);
    tally.decided.count++;
  }

  tallyModelCalls(tally, decision.modelCalls, opts.hostedPricing);

  const sourceTime = decision.source.kind === 'kafka' ? decision.source.timestamp : submittedAt;
  if (sourceTime !== undefined) {
    const ms = Date.parse(decision.decidedAt) - Date.parse(sourceTime);
    if (Number.isFinite(ms)) tally.endToEndLatencies.push(ms);
  }
}

/** One transaction's model calls: by tier, tokens, spend, model used, and their summed latency. */
function tallyModelCalls(tally: Tally, calls: readonly ModelCall[], pricing: BacktestOptions['hostedPricing']): void {
  let modelMs = 0;
  for (const call of calls) {
    tally.calls.total++;
    tally.calls[call.tier]++;
    // A `skipped` call (one a challenger in shadow would have made) did not fail.
    if (call.outcome !== 'ok' && call.outcome !== 'skipped') tally.calls.failed++;
    tally.tokens[call.tier].input += call.inputTokens;
    tally.tokens[call.tier].output += call.outputTokens;
    tally.usd.actual += call.costUsd;
    if (call.tier === 'local') {
      tally.usd.localTokensAtHosted +=
        (call.inputTokens * pricing.inputUsdPerMTok + call.outputTokens * pricing.outputUsdPerMTok) / 1e6;
    } else tally.usd.hostedCalls += call.costUsd;
    modelMs += call.latencyMs;
    const key = `${call.tier}\u0000${call.provider}\u0000${call.model}`;
    const used = tally.models.get(key) ?? {
      model: call.model,
      provider: call.provider,
      tier: call.tier,
      calls: 0,
      ok: 0,
    };
    used.calls++;
    if (call.outcome === 'ok') used.ok++;
    tally.models.set(key, used);
  }
  if (calls.length > 0) tally.modelLatencies.push(modelMs);
  if (calls.some((c) => c.tier === 'hosted')) tally.escalated++;
}

function costOf(usd: Tally['usd'], pricing: BacktestOptions['hostedPricing']): BacktestReport['cost'] {
  // Hosted-only counterfactual: every local call's tokens priced at the hosted model's prices, plus what the hosted
  // calls actually cost:  Σ_local (inputTokens·inputUsdPerMTok + outputTokens·outputUsdPerMTok) / 1e6 + Σ_hosted costUsd.
  // Token counts are the local model's; a hosted tokenizer and the redacted hosted prompt would differ somewhat.
  // Rule-only decisions make no call in either world; an escalated transaction counts its local pass at hosted prices
  // as well as the escalation itself.
  const hostedOnlyUsd = roundUsd(usd.localTokensAtHosted + usd.hostedCalls);
  const actualUsd = roundUsd(usd.actual);
  return {
    actualUsd,
    hostedOnlyUsd,
    savingsUsd: roundUsd(hostedOnlyUsd - actualUsd),
    savingsPct: hostedOnlyUsd > 0 ? ((hostedOnlyUsd - actualUsd) / hostedOnlyUsd) * 100 : null,
    hostedPricing: { inputUsdPerMTok: pricing.inputUsdPerMTok, outputUsdPerMTok: pricing.outputUsdPerMTok },
  };
}

/**
 * What a labelled row is ranked by: its first-pass fraud probability; without one (a rule decline, a first pass that
 * failed or never ran), its decision's riskScore, which is 1 for a rule decline, so the ranking is the pipeline's.
 */
function rankingScore(row: ScoredRow): { score: number; firstPass: boolean } {
  const probability = row.firstPassProbability ?? firstPassCall(row.decision)?.riskScore;
  return probability === undefined
    ? { score: row.decision.riskScore, firstPass: false }
    : { score: probability, firstPass: true };
}

function rankingOf(ranked: Tally['ranked']): BacktestReport['ranking'] {
  return {
    rows: ranked.labels.length,
    withoutFirstPass: ranked.withoutFirstPass,
    ...rankingFigures(ranked.scores, ranked.labels),
  };
}

/** Over the wall time in `opts`, and over scoring alone: the first decision to the last. */
function throughputOf(scored: number, decided: Tally['decided'], opts: BacktestOptions): BacktestReport['throughput'] {
  const durationMs = Date.parse(opts.finishedAt) - Date.parse(opts.startedAt);
  const wallMs = Number.isFinite(durationMs) ? durationMs : null;
  const scoringMs = decided.count >= 2 ? decided.last - decided.first : null;
  return {
    measuredOver: opts.measuredOver,
    durationMs: wallMs,
    rowsPerSecond: perSecond(scored, wallMs),
    scoring: { durationMs: scoringMs, rowsPerSecond: perSecond(scored, scoringMs) },
  };
}

const perSecond = (rows: number, ms: number | null) => (ms !== null && ms > 0 ? rows / (ms / 1000) : null);

function warningsOf(tally: Tally, opts: BacktestOptions, unlabelled: number): string[] {
  const { policyHash } = opts;
  const warnings: string[] = [];
  if (opts.policySource?.warning) warnings.push(opts.policySource.warning);
  if (tally.otherPolicy > 0) {
    warnings.push(`${tally.otherPolicy} decision(s) carry a policyHash other than ${policyHash}`);
  }
  if (tally.duplicates > 0) warnings.push(`${tally.duplicates} decision(s) repeat a transactionId already seen`);
  if (unlabelled > 0) {
    warnings.push(`${unlabelled} decision(s) have no label and are left out of the confusion matrices`);
  }
  return warnings;
}

function operatingPoint(rows: ScoredRow[], flagged: DecisionOutcome[]): OperatingPoint {
  const m = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (const { decision, label } of rows) {
    if (label === undefined) continue;
    const flag = flagged.includes(decision.decision);
    if (label.isFraud) m[flag ? 'truePositives' : 'falseNegatives']++;
    else m[flag ? 'falsePositives' : 'trueNegatives']++;
  }
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = m;
  return {
    flagged,
    matrix: m,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    // 2PR/(P+R) written over counts: defined whenever there is any positive label or flag.
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    falsePositiveRate: ratio(fp, fp + tn),
  };
}

export function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, p50: null, p95: null, p99: null };
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

/** Nano-dollar precision: enough for per-token prices, without float noise like 0.30000000000000004. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
