/**
 * The final decision policy: thresholds on the chosen model score, floored by the rules. Pure and shared by the
 * workflow, replay reports and tests.
 */
import type { ScoringPolicy } from '../config';
import type { DecisionOutcome, RuleHit } from '../schemas/decision';
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
