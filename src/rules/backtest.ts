/**
 * Backtesting a rule set on a scored replay, with no model call: each stored decision is decided again with the
 * candidate rules' hits over its stored event, features and model answers (src/scoring/decide.ts, the policy
 * streaming uses). The same is done with the live rules, so the change is measured like for like.
 *
 * What the stored answers cannot say is counted, not guessed: a transaction a rule declined was never scored, so
 * when the candidate no longer declines it it goes to review (`unscored`); one the candidate wants escalated that
 * was not escalated then keeps its first-pass answer (`escalationsWithoutAnswer`).
 */
import type { ScoringPolicy } from '../config';
import type { ScoredRow } from '../replay/quality';
import type { Decision, DecisionOutcome, RuleHit } from '../schemas/decision';
import { applyDecisionPolicy, isAmbiguous } from '../scoring/decide';
import type { ModelAnswer } from '../scoring/decide';
import type { OutcomeRates } from '../scoring/outcome-tally';
import { addOutcome, emptyTally, outcomeRates } from '../scoring/outcome-tally';
import { hasEffect } from '../scoring/rules';
import type { TuningLimits } from '../scoring/tuning';
import { withinLimits } from '../scoring/tuning';
import type { CompiledRuleSet } from './compile';
import { evaluateRuleSet, evaluateRuleSetHeld, ruleInputFor } from './evaluate';
import { isListed } from './list-kinds';

/** List entries by `<kind>:<name>`: the backtest reads lists once, not per row. */
export type ListSnapshot = Map<string, ReadonlySet<string>>;

export interface RulePerformance {
  rule: string;
  action: string;
  mode: string;
  /** Transactions the rule held on (before precedence). */
  hits: number;
  fraudHit: number;
  legitimateHit: number;
}

export interface RuleSetFigures extends OutcomeRates {
  /** Transactions sent to review. */
  reviews: number;
  reviewShare: number;
  unscored: number;
  escalationsWithoutAnswer: number;
}

export interface Backtest {
  rows: number;
  labelled: number;
  candidate: RuleSetFigures & { hash: string };
  live: RuleSetFigures & { hash: string };
  /** The replay's own decisions: what `rules test` with the rules the replay ran with must reproduce. */
  stored: RuleSetFigures;
  rules: RulePerformance[];
  /** Transactions whose outcome the candidate changes. */
  changed: number;
  /** The policy limits the candidate breaks (empty: within them). */
  limitsBroken: string[];
}

/** A decision again, from the stored answers, with these rule hits. */
export function redecide(
  row: ScoredRow,
  hits: RuleHit[],
  policy: ScoringPolicy,
): { outcome: DecisionOutcome; escalated: boolean; unscored: boolean; escalationWithoutAnswer: boolean } {
  const { decision } = row;
  const local = answerOf(decision, 'local');
  const hosted = answerOf(decision, 'hosted');
  const base = { policy, ruleHits: hits };
  if (hasEffect(hits, 'allow') || hasEffect(hits, 'decline')) {
    const v = applyDecisionPolicy({ ...base, settledPath: 'rules' });
    return { outcome: v.outcome, escalated: false, unscored: false, escalationWithoutAnswer: false };
  }
  if (decision.path === 'rules' || (decision.path === 'fallback' && !decision.features)) {
    // Never scored (a rule declined it) or no history: a human would look at it.
    const v = applyDecisionPolicy({ ...base, settledPath: 'fallback' });
    return {
      outcome: v.outcome,
      escalated: false,
      unscored: decision.path === 'rules',
      escalationWithoutAnswer: false,
    };
  }
  const wanted = !local || isAmbiguous(local.assessment, policy) || hasEffect(hits, 'escalate');
  const used = wanted && policy.escalationEnabled ? hosted : undefined;
  const settledPath = decision.path === 'fallback' && !used ? 'fallback' : undefined;
  const v = applyDecisionPolicy({ ...base, local, hosted: used, settledPath });
  return {
    outcome: v.outcome,
    escalated: used !== undefined,
    unscored: false,
    escalationWithoutAnswer: wanted && policy.escalationEnabled && !hosted && decision.path === 'local',
  };
}

function answerOf(decision: Decision, tier: 'local' | 'hosted'): ModelAnswer | undefined {
  const call = decision.modelCalls.find((c) => c.tier === tier && c.outcome === 'ok' && c.riskScore !== undefined);
  if (!call) return undefined;
  return {
    assessment: { riskScore: call.riskScore!, confidence: call.confidence ?? 1, reasons: [] },
    call: { provider: call.provider },
  };
}

interface Tallies {
  tally: ReturnType<typeof emptyTally>;
  reviews: number;
  unscored: number;
  escalationsWithoutAnswer: number;
  outcomes: DecisionOutcome[];
}

/** Runs both rule sets over every labelled row of a scored replay. */
export function backtestRuleSet(input: {
  rows: readonly ScoredRow[];
  candidate: CompiledRuleSet;
  live: CompiledRuleSet;
  lists: ListSnapshot;
  policy: ScoringPolicy;
  limits: TuningLimits;
}): Backtest {
  const labelled = input.rows.filter((r) => r.label !== undefined);
  const performance = new Map<string, RulePerformance>(
    input.candidate.rules.map((r) => [
      r.name,
      { rule: r.name, action: r.action, mode: r.mode, hits: 0, fraudHit: 0, legitimateHit: 0 },
    ]),
  );
  const candidate = emptyTallies();
  const live = emptyTallies();
  const stored = emptyTallies();
  for (const row of labelled) {
    const isFraud = row.label!.isFraud;
    const memberships = membershipsOf(input.candidate, row, input.lists);
    const { verdict, held } = evaluateRuleSetHeld(
      input.candidate,
      ruleInputFor(row.event, row.decision.features, memberships),
    );
    for (const name of held) {
      const p = performance.get(name)!;
      p.hits++;
      if (isFraud) p.fraudHit++;
      else p.legitimateHit++;
    }
    count(candidate, isFraud, redecide(row, verdict.hits, input.policy));
    const liveVerdict = evaluateRuleSet(
      input.live,
      ruleInputFor(row.event, row.decision.features, membershipsOf(input.live, row, input.lists)),
    );
    count(live, isFraud, redecide(row, liveVerdict.hits, input.policy));
    count(stored, isFraud, {
      outcome: row.decision.decision,
      escalated: row.decision.modelCalls.some((c) => c.tier === 'hosted'),
      unscored: false,
      escalationWithoutAnswer: false,
    });
  }
  const candidateFigures = figuresOf(candidate);
  const limitsBroken = brokenLimits(candidateFigures, input.limits);
  return {
    rows: input.rows.length,
    labelled: labelled.length,
    candidate: { ...candidateFigures, hash: input.candidate.hash },
    live: { ...figuresOf(live), hash: input.live.hash },
    stored: figuresOf(stored),
    rules: [...performance.values()],
    changed: candidate.outcomes.filter((o, i) => o !== live.outcomes[i]).length,
    limitsBroken,
  };
}

function membershipsOf(set: CompiledRuleSet, row: ScoredRow, lists: ListSnapshot): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [name, kind] of Object.entries(set.lists)) {
    out[name] = isListed(kind, row.event, lists.get(`${kind}:${name}`) ?? new Set());
  }
  return out;
}

function emptyTallies(): Tallies {
  return { tally: emptyTally(), reviews: 0, unscored: 0, escalationsWithoutAnswer: 0, outcomes: [] };
}

function count(t: Tallies, isFraud: boolean, r: ReturnType<typeof redecide>): void {
  addOutcome(t.tally, isFraud, {
    decline: r.outcome === 'decline' ? 1 : 0,
    flag: r.outcome === 'approve' ? 0 : 1,
    escalated: r.escalated,
  });
  if (r.outcome === 'review') t.reviews++;
  if (r.unscored) t.unscored++;
  if (r.escalationWithoutAnswer) t.escalationsWithoutAnswer++;
  t.outcomes.push(r.outcome);
}

function figuresOf(t: Tallies): RuleSetFigures {
  const rates = outcomeRates(t.tally);
  return {
    ...rates,
    reviews: t.reviews,
    reviewShare: rates.transactions > 0 ? t.reviews / rates.transactions : 0,
    unscored: t.unscored,
    escalationsWithoutAnswer: t.escalationsWithoutAnswer,
  };
}

function brokenLimits(f: RuleSetFigures, limits: TuningLimits): string[] {
  if (withinLimits(f, limits)) return [];
  const broken: string[] = [];
  if (f.escalationShare > limits.maxEscalation)
    broken.push(`escalation share ${f.escalationShare.toFixed(4)} > ${limits.maxEscalation}`);
  if (f.falsePositiveRate > limits.maxFalsePositiveRate) {
    broken.push(`false-positive rate ${f.falsePositiveRate.toFixed(4)} > ${limits.maxFalsePositiveRate}`);
  }
  if (f.reviewOrDeclineFalsePositiveRate > limits.maxReviewFalsePositiveRate) {
    broken.push(
      `review-or-decline false-positive rate ${f.reviewOrDeclineFalsePositiveRate.toFixed(4)} > ${limits.maxReviewFalsePositiveRate}`,
    );
  }
  if (f.declinePrecision < limits.minDeclinePrecision) {
    broken.push(`decline precision ${f.declinePrecision.toFixed(4)} < ${limits.minDeclinePrecision}`);
  }
  return broken;
}
