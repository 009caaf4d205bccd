/**
 * The final decision policy: thresholds on the chosen model score, floored by the rules. Pure and shared by the
 * workflow, replay reports and tests.
 */
import type { ScoringPolicy } from '../config';
import type { DecisionOutcome, ModelCall, RuleHit, ScoringPath } from '../schemas/decision';
import type { RiskAssessment } from '../schemas/risk-assessment';
import { hasEffect } from './rules';

const severity: Record<DecisionOutcome, number> = { approve: 0, review: 1, decline: 2 };

/** The stricter of two outcomes. */
export function stricter(a: DecisionOutcome, b: DecisionOutcome): DecisionOutcome {
  return severity[a] >= severity[b] ? a : b;
}

/** Maps a risk score to an outcome by the configured thresholds. */
export function outcomeForScore(
  riskScore: number,
  policy: Pick<ScoringPolicy, 'approveBelow' | 'declineAt'>,
): DecisionOutcome {
  if (riskScore >= policy.declineAt) return 'decline';
  if (riskScore < policy.approveBelow) return 'approve';
  return 'review';
}

/** True when a first-pass answer is too uncertain to act on and should go to a hosted model. */
export function isAmbiguous(
  assessment: RiskAssessment,
  policy: Pick<ScoringPolicy, 'ambiguousLow' | 'ambiguousHigh' | 'minConfidence'>,
): boolean {
  return (
    (assessment.riskScore >= policy.ambiguousLow && assessment.riskScore <= policy.ambiguousHigh) ||
    assessment.confidence < policy.minConfidence
  );
}

/**
 * Whether a rule settles the decision with no model asked: an allow (the rule set's precedence left it the only
 * decisive hit) or a decline. The scoring workflow's first test before the first pass.
 */
export function settledByRules(hits: RuleHit[]): boolean {
  return hasEffect(hits, 'allow') || hasEffect(hits, 'decline');
}

/**
 * Whether the evidence asks for the hosted tier: no usable first pass, an ambiguous one, or an escalate rule. The
 * escalation switch, the hosted chain and the day's budget decide whether it is then asked.
 */
export function escalationWanted(
  local: ModelAnswer | undefined,
  policy: Pick<ScoringPolicy, 'ambiguousLow' | 'ambiguousHigh' | 'minConfidence'>,
  hits: RuleHit[],
): boolean {
  return !local || isAmbiguous(local.assessment, policy) || hasEffect(hits, 'escalate');
}

/** The outcome floor set by rules: a model may make a decision stricter, never looser. */
export function rulesFloor(hits: RuleHit[]): DecisionOutcome {
  if (hasEffect(hits, 'decline')) return 'decline';
  if (hasEffect(hits, 'review')) return 'review';
  return 'approve';
}

/** Combines the model's outcome with the rules: rules always outrank models. */
export function finalOutcome(modelOutcome: DecisionOutcome, hits: RuleHit[]): DecisionOutcome {
  return stricter(modelOutcome, rulesFloor(hits));
}

/** A model's answer as the policy sees it. */
export interface ModelAnswer {
  assessment: RiskAssessment;
  call: Pick<ModelCall, 'provider'>;
}

export interface PolicyInput {
  policy: ScoringPolicy;
  ruleHits: RuleHit[];
  /** The first pass's answer, when it gave a usable one. */
  local?: ModelAnswer;
  /** The hosted answer, when escalation gave a usable one. */
  hosted?: ModelAnswer;
  /** A path an earlier step settled: `rules` (a rule declined) or `fallback` (no usable or affordable answer). */
  settledPath?: ScoringPath;
}

export interface PolicyVerdict {
  outcome: DecisionOutcome;
  riskScore: number;
  path: ScoringPath;
  /** Why, in order; they follow the reasons the earlier steps gave. */
  reasons: string[];
  /** Who decided: the provider whose answer was used, `rules`, or `none`. */
  provider: string;
}

/** The decision policy: thresholds on the chosen score, floored by the rules; never approves without an answer. */
export function applyDecisionPolicy(input: PolicyInput): PolicyVerdict {
  const { hosted, local, settledPath, ruleHits } = input;
  const chosen = hosted ?? (settledPath === undefined ? local : undefined);
  const path = settledPath ?? (hosted ? 'escalated' : local ? 'local' : 'fallback');
  const verdict = modelVerdict(input, path, chosen);
  const outcome = finalOutcome(verdict.outcome, ruleHits);
  if (outcome !== verdict.outcome) verdict.reasons.push(`rules raised ${verdict.outcome} to ${outcome}`);
  const provider = chosen?.call.provider ?? (path === 'rules' ? 'rules' : 'none');
  return { outcome, riskScore: verdict.riskScore, path, reasons: verdict.reasons, provider };
}

/** The outcome the model answers (or their absence) give, before the rules' floor. */
function modelVerdict(
  input: PolicyInput,
  path: ScoringPath,
  chosen: ModelAnswer | undefined,
): { outcome: DecisionOutcome; riskScore: number; reasons: string[] } {
  if (path === 'rules') {
    // A rule settled it: an allow rule (a rules file's; precedence left it the only decisive hit) or a decline.
    const allowed = hasEffect(input.ruleHits, 'allow');
    return allowed
      ? { outcome: 'approve', riskScore: 0, reasons: [] }
      : { outcome: 'decline', riskScore: 1, reasons: [] };
  }
  const { policy, local } = input;
  if (!chosen || path === 'fallback') {
    // No usable model answer: a human looks at it. Never approve blind.
    const riskScore = local?.assessment.riskScore ?? 0.5;
    return { outcome: 'review', riskScore, reasons: ['no usable model answer: sent to review'] };
  }
  const riskScore = chosen.assessment.riskScore;
  // A hosted answer is the hosted model's own probability, judged by its own cut points.
  const cutPoints =
    path === 'escalated' ? { approveBelow: policy.hostedReviewAt, declineAt: policy.hostedDeclineAt } : policy;
  let outcome = outcomeForScore(riskScore, cutPoints);
  if (path === 'escalated' && policy.hostedMode === 'raises' && local) {
    // The tuned policy found the hosted tier better at catching than at clearing: it may only raise.
    outcome = stricter(outcome, outcomeForScore(local.assessment.riskScore, policy));
  }
  // An ambiguous first pass that could not be escalated is never approved on its own.
  if (path === 'local' && isAmbiguous(chosen.assessment, policy)) outcome = stricter(outcome, 'review');
  return { outcome, riskScore, reasons: chosen.assessment.reasons.map((r) => `${chosen.call.provider}: ${r}`) };
}
