/**
 * Shadow scoring: a challenger model's first pass on a transaction the champion has already decided, on a task
 * queue and worker capacity of its own, then the champion's decision policy under the challenger's thresholds
 * (src/scoring/challenger.ts). Its answer is compared with the champion's and recorded (metrics and the workflow's
 * result); it never reaches the published decision, and it never calls a hosted model.
 */
import type { Config, ScoringPolicy } from '../src/config';
import { resolvePolicy } from '../src/models/assigned-settings';
import type { ModelAssignmentStore } from '../src/models/assignment';
import type { ModelClients } from '../src/models/clients';
import { metrics } from '../src/observability/metrics';
import type { DecisionOutcome, RuleHit, ShadowScore } from '../src/schemas/decision';
import { decideAsChallenger } from '../src/scoring/challenger';
import type { ModelAnswer } from '../src/scoring/decide';
import { policyWithThresholds } from '../src/scoring/policy-file';
import type { ScoreRequest } from './model-scoring';
import { circuitOpen, requestedPolicyFile, scoreFirstPass, scoreWith, unknownPolicy } from './model-scoring';

export interface ShadowRequest extends ScoreRequest {
  model: string;
  /** What the champion decided and the evidence it decided on. */
  champion: {
    decision: DecisionOutcome;
    ruleHits: RuleHit[];
    firstPassScore?: number;
    /**
     * The settings' decision policy the champion decided under; the challenger's thresholds go over it.
     * @default the worker's configured policy (workflows scheduled before it was sent)
     */
    policy?: ScoringPolicy;
    /** Whether the settings named a hosted provider. @default whether the worker's config names one */
    hostedChain?: boolean;
    /** The champion's hosted answer, when it escalated and got one: reused, never asked again. */
    hosted?: ModelAnswer;
    /** Whether the champion went to the hosted tier (made a hosted call). @default false */
    escalated?: boolean;
  };
}

export function createShadowScoringActivities(deps: {
  config: Config;
  models: ModelClients;
  assignments?: ModelAssignmentStore;
}) {
  const failed = (model: string) => metrics.shadowScores.inc({ model, agreement: 'failed' });

  const scoreChallenger = async (req: ShadowRequest): Promise<ShadowScore> => {
    const policyFileHash = requestedPolicyFile(req);
    const policy = await resolvePolicy(policyFileHash, deps.config.scoringPolicy, deps.assignments);
    if (!policy) {
      failed(req.model);
      throw unknownPolicy(policyFileHash);
    }
    const target = deps.models.local.acquire();
    if (!target) throw circuitOpen('local', 'every local endpoint is open', req.event.transactionId);
    const started = performance.now();
    const local = await scoreWith(target, req.event, () => scoreFirstPass(target, req, policy)).catch(
      (err: unknown) => {
        failed(req.model);
        throw err;
      },
    );
    const latencyMs = Math.round(performance.now() - started);
    const { champion } = req;
    const verdict = decideAsChallenger({
      policy: policyWithThresholds(champion.policy ?? deps.config.policy, policy.policy),
      hostedChain: champion.hostedChain ?? deps.config.hosted.providers.length > 0,
      local,
      champion,
    });
    const riskScore = local.assessment.riskScore;
    recordShadowMetrics(req, verdict, riskScore, latencyMs);
    return {
      model: req.model,
      policyFileHash: policy.hash,
      outcome: 'ok',
      riskScore,
      decision: verdict.outcome,
      path: verdict.path,
      wouldEscalate: verdict.wouldEscalate,
      agrees: verdict.agrees,
      latencyMs,
    };
  };
  return { scoreChallenger };
}

function recordShadowMetrics(
  req: ShadowRequest,
  verdict: ReturnType<typeof decideAsChallenger>,
  riskScore: number,
  latencyMs: number,
): void {
  const { model, champion } = req;
  metrics.shadowScores.inc({ model, agreement: verdict.agrees ? 'agree' : 'disagree' });
  // Both sides' escalations over the same transactions: the challenger's hosted cost beside the champion's.
  if (champion.escalated) {
    metrics.shadowEscalations.inc({ model, scorer: 'champion', answer: champion.hosted ? 'answered' : 'unanswered' });
  }
  if (verdict.wouldEscalate) {
    const answer = verdict.reusedHostedAnswer ? 'answered' : 'unanswered';
    metrics.shadowEscalations.inc({ model, scorer: 'challenger', answer });
  }
  metrics.shadowLatency.observe({ model }, latencyMs / 1000);
  if (champion.firstPassScore !== undefined)
    metrics.shadowScoreDelta.observe({ model }, riskScore - champion.firstPassScore);
}
