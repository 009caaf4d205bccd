/**
 * A challenger scored in shadow, judged as the champion is judged: its first pass through the same decision policy
 * (applyDecisionPolicy) under its own thresholds, with the champion's rule hits. Shadow never calls a hosted model:
 * where the challenger's policy would escalate and the champion escalated and got an answer, that answer (same
 * transaction, same provider chain) is what the challenger would have seen, and is reused; where the champion got
 * none, the challenger is judged as an ambiguous first pass that could not be escalated (at least review). Pure:
 * the shadow-scoring activity, the report and tests share it.
 */
import type { ScoringPolicy } from '../config';
import type { DecisionOutcome, ModelCall, RuleHit, ScoringPath } from '../schemas/decision';
import { applyDecisionPolicy, escalationWanted, settledByRules } from './decide';
import type { ModelAnswer } from './decide';

/** What the champion's decision leaves for the challenger to be judged beside. */
export interface ChampionEvidence {
  decision: DecisionOutcome;
  ruleHits: RuleHit[];
  /** The champion's hosted answer, when it escalated and got one. */
  hosted?: ModelAnswer;
}

export interface ChallengerEvidence {
  /** The challenger's decision policy: its policy file's thresholds over the champion's (policyWithThresholds). */
  policy: ScoringPolicy;
  /** Whether the settings name a hosted provider to escalate to (an empty chain never escalates). */
  hostedChain: boolean;
  /** The challenger's first pass, when it gave a usable answer. */
  local?: ModelAnswer;
  champion: ChampionEvidence;
}

export interface ChallengerVerdict {
  outcome: DecisionOutcome;
  riskScore: number;
  path: ScoringPath;
  /** Its policy would have sent the transaction to the hosted tier (before the day's budget, which shadow never reads). */
  wouldEscalate: boolean;
  /** It would have escalated, and the champion's hosted answer was there to judge it by. */
  reusedHostedAnswer: boolean;
  /** Its outcome is the champion's. */
  agrees: boolean;
}

/** The challenger's decision under its own policy, on the evidence the champion's decision gathered. */
export function decideAsChallenger(evidence: ChallengerEvidence): ChallengerVerdict {
  const { policy, local, champion } = evidence;
  const ruleHits = champion.ruleHits;
  if (settledByRules(ruleHits)) {
    const verdict = applyDecisionPolicy({ policy, ruleHits, local, settledPath: 'rules' });
    return verdictOf(verdict, champion, { wouldEscalate: false, reusedHostedAnswer: false });
  }
  const wouldEscalate = escalationWanted(local, policy, ruleHits) && policy.escalationEnabled && evidence.hostedChain;
  // No hosted answer to reuse: the policy's own case of an escalation that gave none. With a first pass, path
  // `local` (an ambiguous one is at least review); without one, `fallback` (review).
  const hosted = wouldEscalate ? champion.hosted : undefined;
  const verdict = applyDecisionPolicy({ policy, ruleHits, local, hosted });
  return verdictOf(verdict, champion, { wouldEscalate, reusedHostedAnswer: hosted !== undefined });
}

function verdictOf(
  verdict: ReturnType<typeof applyDecisionPolicy>,
  champion: ChampionEvidence,
  escalation: Pick<ChallengerVerdict, 'wouldEscalate' | 'reusedHostedAnswer'>,
): ChallengerVerdict {
  return {
    outcome: verdict.outcome,
    riskScore: verdict.riskScore,
    path: verdict.path,
    ...escalation,
    agrees: verdict.outcome === champion.decision,
  };
}

/** The champion's hosted answer from its decision's model calls: the hosted call that answered, if any. */
export function hostedAnswerOf(calls: readonly ModelCall[]): ModelAnswer | undefined {
  const call = calls.find((c) => c.tier === 'hosted' && c.outcome === 'ok' && c.riskScore !== undefined);
  if (!call || call.riskScore === undefined) return undefined;
  return {
    assessment: { riskScore: call.riskScore, confidence: call.confidence ?? 1, reasons: [] },
    call: { provider: call.provider },
  };
}
