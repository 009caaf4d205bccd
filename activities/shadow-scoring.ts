/**
 * Shadow scoring: a challenger model's first pass on a transaction the champion has already decided, on a task
 * queue and worker capacity of its own. Its answer is compared with the champion's and recorded (metrics and the
 * workflow's result); it never reaches the published decision.
 */
import type { Config } from '../src/config';
import { resolvePolicy } from '../src/models/assigned-settings';
import type { ModelAssignmentStore } from '../src/models/assignment';
import type { ModelClients } from '../src/models/clients';
import { metrics } from '../src/observability/metrics';
import type { DecisionOutcome, RuleHit, ShadowScore } from '../src/schemas/decision';
import { finalOutcome, outcomeForScore } from '../src/scoring/decide';
import { policyThresholds } from '../src/scoring/policy-file';
import type { ScoreRequest } from './model-scoring';
import { circuitOpen, scoreFirstPass, scoreWith, unknownPolicy } from './model-scoring';

export interface ShadowRequest extends ScoreRequest {
  policyHash: string;
  model: string;
  /** What the champion decided: its outcome, the rules that floored it, its first pass's probability. */
  champion: { decision: DecisionOutcome; ruleHits: RuleHit[]; firstPassScore?: number };
}

export function createShadowScoringActivities(deps: {
  config: Config;
  models: ModelClients;
  assignments?: ModelAssignmentStore;
}) {
  const scoreChallenger = async (req: ShadowRequest): Promise<ShadowScore> => {
    const policy = await resolvePolicy(req.policyHash, deps.config.scoringPolicy, deps.assignments);
    if (!policy) {
      metrics.shadowScores.inc({ model: req.model, agreement: 'failed' });
      throw unknownPolicy(req.policyHash);
    }
    const target = deps.models.local.acquire();
    if (!target) throw circuitOpen('local', 'every local endpoint is open', req.event.transactionId);
    const started = performance.now();
    const score = await scoreWith(target, req.event, () => scoreFirstPass(target, req, policy)).catch(
      (err: unknown) => {
        metrics.shadowScores.inc({ model: req.model, agreement: 'failed' });
        throw err;
      },
    );
    const latencyMs = Math.round(performance.now() - started);
    const riskScore = score.assessment.riskScore;
    const own = outcomeForScore(riskScore, policyThresholds(policy.policy));
    const decision = finalOutcome(own, req.champion.ruleHits);
    const agrees = decision === req.champion.decision;
    metrics.shadowScores.inc({ model: req.model, agreement: agrees ? 'agree' : 'disagree' });
    metrics.shadowLatency.observe({ model: req.model }, latencyMs / 1000);
    if (req.champion.firstPassScore !== undefined)
      metrics.shadowScoreDelta.observe({ model: req.model }, riskScore - req.champion.firstPassScore);
    return { model: req.model, policyHash: req.policyHash, outcome: 'ok', riskScore, decision, agrees, latencyMs };
  };
  return { scoreChallenger };
}
