/**
 * scoreTransactionWorkflow: one transaction, one workflow (id `score-<transactionId>`), one published decision.
 *
 * Rules first; then the local model's first pass; ambiguous or failed first passes escalate through the hosted
 * provider chain in order; the decision policy combines the chosen score with the rules; the decision is
 * published to Kafka and returned. Every step, retry and failover is an activity in the history.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { FraudflowActivities, ModelScore } from '../activities';
import { ModelFailureType, nonRetryableModelFailures } from '../src/failure-types';
import type {
  Decision,
  DecisionOutcome,
  DecisionSource,
  ModelCall,
  RuleHit,
  ScoringPath,
} from '../src/schemas/decision';
import { decisionVersion } from '../src/schemas/decision';
import { toMajorUnits } from '../src/schemas/money';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import { finalOutcome, isAmbiguous, outcomeForScore, stricter } from '../src/scoring/decide';
import { evaluateRules, hasEffect } from '../src/scoring/rules';
export { scoringWorkflowId } from '../src/workflow-ids';
import type { ModelCallPolicy, ScoringSettings } from '../src/scoring/settings';
import {
  FraudAmount,
  FraudDecision,
  FraudEscalated,
  FraudMerchantCategory,
  FraudProvider,
  FraudRiskScore,
  FraudScoringPath,
} from '../src/search-attributes';

export interface ScoreTransactionInput {
  event: TransactionEvent;
  source: DecisionSource;
  settings: ScoringSettings;
}

export interface ScoringStatus {
  stage: 'rules' | 'local' | 'escalating' | 'deciding' | 'publishing' | 'done';
  ruleHits: RuleHit[];
  modelCalls: ModelCall[];
  decision?: Decision;
}

/** Where the workflow is and what it has learned so far; readable from the UI's Queries tab. */
export const statusQuery = defineQuery<ScoringStatus>('status');

/** Retry options for one model tier. Invalid output is retried like a transient error, up to `maxAttempts`. */
function modelActivityOptions(taskQueue: string, p: ModelCallPolicy, summary: string): ActivityOptions {
  return {
    taskQueue,
    summary,
    startToCloseTimeout: p.startToCloseMs,
    // Bounds all attempts on one provider so a flapping provider cannot hold the decision hostage.
    scheduleToCloseTimeout: p.startToCloseMs * p.maxAttempts + 30_000,
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: '10s',
      maximumAttempts: p.maxAttempts,
      nonRetryableErrorTypes: nonRetryableModelFailures,
    },
  };
}

/** Publishing retries until Kafka takes it: a decision is never dropped. */
const publishing = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
} as const;

function failureDetail(err: unknown): { outcome: ModelCall['outcome']; error: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return {
      outcome: cause.type === ModelFailureType.invalidOutput ? 'invalid_output' : 'error',
      error: `${cause.type ?? 'Error'}: ${cause.message}`,
    };
  }
  return { outcome: 'error', error: cause instanceof Error ? cause.message : String(cause) };
}

export async function scoreTransactionWorkflow(input: ScoreTransactionInput): Promise<Decision> {
  const { event, settings } = input;
  const { policy } = settings;
  const startedAt = Date.now();
  const status: ScoringStatus = { stage: 'rules', ruleHits: [], modelCalls: [] };
  setHandler(statusQuery, () => status);

  const activities = proxyActivities<FraudflowActivities>({ startToCloseTimeout: '1m' });
  const { publishDecision } = proxyActivities<FraudflowActivities>({
    taskQueue: settings.taskQueues.orchestration,
    ...publishing,
  });

  const timeline: string[] = [];
  const note = (step: string) => {
    timeline.push(step);
    setCurrentDetails(timeline.join(' → '));
  };

  // 1. Deterministic rules.
  const ruleHits = evaluateRules(event, policy.rules);
  status.ruleHits = ruleHits;
  const reasons = ruleHits.map((h) => `rule ${h.rule}: ${h.detail}`);
  if (ruleHits.length > 0) note(`rules: ${ruleHits.map((h) => `${h.rule}→${h.effect}`).join(', ')}`);

  let chosen: ModelScore | undefined;
  let path: ScoringPath;
  const modelCalls = status.modelCalls;

  if (hasEffect(ruleHits, 'decline')) {
    // A rule decline is final; no model can approve it, so no model is asked.
    path = 'rules';
  } else {
    // 2. First pass on the local model.
    status.stage = 'local';
    let local: ModelScore | undefined;
    try {
      local = await activities.scoreWithLocalModel.executeWithOptions(
        modelActivityOptions(settings.taskQueues.localScoring, settings.local, `local model ${settings.local.model}`),
        [{ event }],
      );
      modelCalls.push(local.call);
      note(`local: ${local.assessment.riskScore.toFixed(2)} (confidence ${local.assessment.confidence.toFixed(2)})`);
    } catch (err) {
      const detail = failureDetail(err);
      modelCalls.push(failedCall('local', settings.local.model, 'local', detail, startedAt));
      note(`local: ${detail.outcome}`);
      reasons.push(`local model gave no usable answer (${detail.error.split('\n')[0]})`);
    }

    // 3. Escalation when the first pass is ambiguous, invalid, or a rule demands it.
    const needsEscalation = !local || isAmbiguous(local.assessment, policy) || hasEffect(ruleHits, 'escalate');
    if (needsEscalation && policy.escalationEnabled && settings.hosted.providers.length > 0) {
      status.stage = 'escalating';
      note('escalate');
      for (const provider of settings.hosted.providers) {
        const attemptStarted = Date.now();
        try {
          const hosted = await activities.escalateToHostedModel.executeWithOptions(
            modelActivityOptions(settings.taskQueues.hostedScoring, settings.hosted, `hosted ${provider}`),
            [{ event, provider }],
          );
          modelCalls.push(hosted.call);
          note(`${provider}: ${hosted.assessment.riskScore.toFixed(2)}`);
          chosen = hosted;
          break;
        } catch (err) {
          const detail = failureDetail(err);
          modelCalls.push(failedCall(provider, provider, 'hosted', detail, attemptStarted));
          note(`${provider}: ${detail.outcome}`);
          reasons.push(`hosted ${provider} failed (${detail.error.split('\n')[0]})`);
        }
      }
      path = chosen ? 'escalated' : 'fallback';
    } else if (local && !needsEscalation) {
      chosen = local;
      path = 'local';
    } else {
      // Ambiguous or invalid first pass, with escalation disabled or no provider configured.
      path = local ? 'local' : 'fallback';
      chosen = local;
      if (local) reasons.push('first pass ambiguous and escalation is disabled');
    }
  }

  // 4. The decision policy: thresholds on the chosen score, floored by the rules.
  status.stage = 'deciding';
  let modelOutcome: DecisionOutcome;
  let riskScore: number;
  if (path === 'rules') {
    modelOutcome = 'decline';
    riskScore = 1;
  } else if (chosen && path !== 'fallback') {
    riskScore = chosen.assessment.riskScore;
    modelOutcome = outcomeForScore(riskScore, policy);
    if (path === 'local' && isAmbiguous(chosen.assessment, policy)) modelOutcome = stricter(modelOutcome, 'review');
    reasons.push(...chosen.assessment.reasons.map((r) => `${chosen?.call.provider}: ${r}`));
  } else {
    // No usable model answer: a human looks at it. Never approve blind.
    modelOutcome = 'review';
    riskScore = 0.5;
    reasons.push('no usable model answer: sent to review');
  }
  const outcome = finalOutcome(modelOutcome, ruleHits);
  if (outcome !== modelOutcome) reasons.push(`rules raised ${modelOutcome} to ${outcome}`);

  const info = workflowInfo();
  const decision: Decision = {
    schemaVersion: decisionVersion,
    transactionId: event.transactionId,
    decision: outcome,
    riskScore,
    reasons,
    path,
    ruleHits,
    modelCalls,
    decidedAt: new Date(Date.now()).toISOString(),
    workflowId: info.workflowId,
    runId: info.runId,
    source: input.source,
    policyHash: settings.policyHash,
    promptVersion: settings.promptVersion,
  };
  note(outcome.toUpperCase());
  upsertSearchAttributes([
    { key: FraudDecision, value: outcome },
    { key: FraudRiskScore, value: riskScore },
    { key: FraudEscalated, value: modelCalls.some((c) => c.tier === 'hosted') },
    { key: FraudScoringPath, value: path },
    { key: FraudProvider, value: chosen?.call.provider ?? (path === 'rules' ? 'rules' : 'none') },
    { key: FraudMerchantCategory, value: event.merchant.mcc },
    { key: FraudAmount, value: toMajorUnits(event.amount) },
  ]);

  // 5. Publish; the workflow result is the decision.
  status.stage = 'publishing';
  await publishDecision({ decision, topic: settings.decisionsTopic });
  status.stage = 'done';
  status.decision = decision;
  return decision;
}

function failedCall(
  provider: string,
  model: string,
  tier: ModelCall['tier'],
  detail: { outcome: ModelCall['outcome']; error: string },
  since: number,
): ModelCall {
  return {
    provider,
    model,
    tier,
    outcome: detail.outcome,
    error: detail.error.slice(0, 500),
    latencyMs: Date.now() - since,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  };
}
