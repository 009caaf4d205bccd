/**
 * scoreTransactionWorkflow: one transaction, one workflow (id `score-<transactionId>`), one published decision.
 *
 * Rules first; then the local model's first pass; ambiguous or failed first passes escalate through the hosted
 * provider chain in order (within the day's hosted budget); the decision policy combines the chosen score with
 * the rules; the decision is published to Kafka and returned. Every step, retry and failover is an activity in
 * the history, and a decision deadline bounds the whole: past it, the transaction goes to review.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
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
  ShadowScore,
} from '../src/schemas/decision';
import { decisionVersion } from '../src/schemas/versions';
import { toMajorUnits } from '../src/money';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import type { CardFeatures } from '../src/schemas/card-features';
import { finalOutcome, isAmbiguous, outcomeForScore, stricter } from '../src/scoring/decide';
import { evaluateRules, hasEffect } from '../src/scoring/rules';
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
export { scoringWorkflowId } from '../src/workflow-ids';

export interface ScoreTransactionInput {
  event: TransactionEvent;
  source: DecisionSource;
  settings: ScoringSettings;
  /** The card's point-in-time features, when the caller computed them (replay); otherwise read from the store. */
  features?: CardFeatures;
}

export interface ScoringStatus {
  stage: 'rules' | 'local' | 'escalating' | 'deciding' | 'publishing' | 'done';
  ruleHits: RuleHit[];
  modelCalls: ModelCall[];
  /** The case-file timeline, also shown as the workflow's current details in the UI. */
  timeline: string[];
  decision?: Decision;
}

/** Where the workflow is and what it has learned so far; readable from the UI's Queries tab. */
export const statusQuery = defineQuery<ScoringStatus>('status');

/** Activity options for one model provider: its timeouts and retries, from config, visible in history. */
function modelActivityOptions(taskQueue: string, p: ModelCallPolicy, summary: string): ActivityOptions {
  return {
    taskQueue,
    summary,
    startToCloseTimeout: p.startToCloseMs,
    scheduleToCloseTimeout: p.scheduleToCloseMs,
    retry: {
      initialInterval: p.initialBackoffMs,
      backoffCoefficient: 2,
      maximumInterval: p.maxBackoffMs,
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

/** Reading and adding to the budget ledger: quick, retried briefly; a ledger outage must not block decisions. */
const budgeting = {
  startToCloseTimeout: 10_000,
  scheduleToCloseTimeout: 30_000,
  retry: { initialInterval: '500ms', maximumInterval: '5s' },
} as const;

/**
 * The card-history step: a local activity on the orchestration worker (one Redis round trip, no task-queue hop).
 * A store outage is retried like any activity failure, within the decision deadline.
 */
const readingFeatures = {
  startToCloseTimeout: 5_000,
  scheduleToCloseTimeout: 60_000,
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
} as const;

/** The decision deadline has passed: no further model or ledger call is made. */
class DeadlinePassed extends Error {}

function failureDetail(err: unknown): { outcome: ModelCall['outcome']; error: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return {
      outcome: cause.type === ModelFailureType.invalidOutput ? 'invalid_output' : 'error',
      error: `${cause.type ?? 'Error'}: ${cause.message}`,
    };
  }
  return { outcome: 'error', error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) };
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

const firstLine = (s: string) => s.split('\n')[0] ?? s;

/** How one decision's progress is reported: the streaming workflow shows it in the UI; a replay batch ignores it. */
export interface ScoringObserver {
  status: ScoringStatus;
  note(step: string): void;
}

/** A fresh status whose notes go nowhere (batch scoring). */
export function silentObserver(): ScoringObserver {
  const status: ScoringStatus = { stage: 'rules', ruleHits: [], modelCalls: [], timeline: [] };
  return { status, note: (step) => void status.timeline.push(step) };
}

/**
 * The scoring logic shared by streaming and replay: rules, first pass, escalation within budget and deadline,
 * and the decision policy. Deterministic workflow code; every model call is an activity.
 * `budgetKey` identifies this transaction's paid calls in the budget ledger.
 */
export async function decideTransaction(
  input: ScoreTransactionInput,
  observer: ScoringObserver,
  ids: { workflowId: string; runId: string; budgetKey: string },
): Promise<{ decision: Decision; provider: string }> {
  const { event, settings } = input;
  const { policy } = settings;
  const startedAt = Date.now();
  const day = new Date(startedAt).toISOString().slice(0, 10);
  const status = observer.status;
  const note = (step: string) => observer.note(step);

  const models = proxyActivities<FraudflowActivities>({ startToCloseTimeout: '1m' });
  const localModels = proxyLocalActivities<FraudflowActivities>({ startToCloseTimeout: '1m' });
  const ledger = proxyActivities<FraudflowActivities>({ taskQueue: settings.taskQueues.orchestration, ...budgeting });

  /**
   * The decision deadline, enforced by the server through each model and ledger call's schedule-to-close timeout
   * (at most the time left) rather than by a workflow timer: no timer to start, cancel and later fire for every
   * transaction. A call cut off by the deadline fails at the deadline; past it, no call is made.
   */
  const remainingMs = () => settings.deadlineMs - (Date.now() - startedAt);
  function withinDeadline<T extends { scheduleToCloseTimeout?: number }>(options: T): T {
    const left = remainingMs();
    if (left <= 0) throw new DeadlinePassed();
    return { ...options, scheduleToCloseTimeout: Math.min(options.scheduleToCloseTimeout ?? left, left) };
  }

  const modelCalls = status.modelCalls;
  const reasons: string[] = [];

  // 1. The card's history before this transaction, then deterministic rules over the event and its features.
  let features = input.features;
  if (!features) {
    try {
      features = await localModels.computeCardFeatures.executeWithOptions(withinDeadline(readingFeatures), [{ event }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      note('card history unavailable');
      reasons.push(`card history unavailable (${firstLine(failureDetail(err).error)}): sent to review`);
    }
  }
  const ruleHits = evaluateRules(event, policy.rules, features);
  status.ruleHits = ruleHits;
  reasons.push(...ruleHits.map((h) => `rule ${h.rule}: ${h.detail}`));
  if (ruleHits.length > 0) note(`rules: ${ruleHits.map((h) => `${h.rule}→${h.effect}`).join(', ')}`);

  let local: ModelScore | undefined;
  let hosted: ModelScore | undefined;
  let path: ScoringPath | undefined;

  /** Hosted spend still allowed today? Fails open to "no": a ledger we cannot read must not cost money. */
  async function budgetLeft(): Promise<boolean> {
    if (settings.budget.dailyUsd <= 0) return false;
    try {
      return (
        (await ledger.readHostedSpend.executeWithOptions(withinDeadline(budgeting), [{ day }])) <
        settings.budget.dailyUsd
      );
    } catch (err) {
      if (isCancellation(err) || err instanceof DeadlinePassed) throw err;
      if (remainingMs() <= 0) throw new DeadlinePassed();
      reasons.push('hosted budget ledger unreadable: treated as spent');
      return false;
    }
  }

  /** Steps 2 and 3, bounded by the decision deadline. Sets `local`, `hosted` and (when decided) `path`. */
  async function scoreWithModels(features: CardFeatures): Promise<void> {
    const request = { event, features, policyHash: settings.policyFileHash, model: settings.local.model };
    // 2. First pass on the local model.
    status.stage = 'local';
    const localStarted = Date.now();
    try {
      const options = withinDeadline(
        modelActivityOptions(settings.taskQueues.localScoring, settings.local, `local model ${settings.local.model}`),
      );
      local = settings.localFirstPassAsLocalActivity
        ? await localModels.scoreWithLocalModel.executeWithOptions(
            {
              startToCloseTimeout: options.startToCloseTimeout,
              scheduleToCloseTimeout: options.scheduleToCloseTimeout,
              retry: options.retry,
              summary: options.summary,
            },
            [request],
          )
        : await models.scoreWithLocalModel.executeWithOptions(options, [request]);
      modelCalls.push(local.call);
      note(`local: ${local.assessment.riskScore.toFixed(2)} (confidence ${local.assessment.confidence.toFixed(2)})`);
    } catch (err) {
      if (isCancellation(err) || err instanceof DeadlinePassed) throw err;
      const detail = failureDetail(err);
      modelCalls.push(failedCall('local', settings.local.model, 'local', detail, localStarted));
      note(`local: ${detail.outcome}`);
      reasons.push(`local model gave no usable answer (${firstLine(detail.error)})`);
      if (remainingMs() <= 0) throw new DeadlinePassed();
    }

    // 3. Escalation when the first pass is ambiguous, invalid, or a rule demands it.
    const wanted = !local || isAmbiguous(local.assessment, policy) || hasEffect(ruleHits, 'escalate');
    if (!wanted || !policy.escalationEnabled || settings.hosted.length === 0) {
      if (wanted && local) reasons.push('first pass ambiguous and escalation is off');
      return;
    }
    if (!(await budgetLeft())) {
      note('hosted budget spent');
      reasons.push(`hosted budget of $${settings.budget.dailyUsd} for ${day} is spent: no escalation`);
      if (settings.budget.whenExhausted === 'review') path = 'fallback';
      return;
    }
    status.stage = 'escalating';
    note('escalate');
    for (const provider of settings.hosted) {
      const attemptStarted = Date.now();
      try {
        hosted = await models.escalateToHostedModel.executeWithOptions(
          withinDeadline(
            modelActivityOptions(settings.taskQueues.hostedScoring, provider, `hosted ${provider.provider}`),
          ),
          [{ event, features, provider: provider.provider }],
        );
        modelCalls.push(hosted.call);
        note(`${provider.provider}: ${hosted.assessment.riskScore.toFixed(2)}`);
        if (hosted.call.costUsd > 0) {
          // Money spent is recorded even past the deadline: the ledger must not undercount.
          await ledger
            .recordHostedSpend({
              day,
              spend: { callId: `${ids.budgetKey}:${provider.provider}`, costUsd: hosted.call.costUsd },
            })
            .catch((err: unknown) => {
              if (isCancellation(err)) throw err;
              reasons.push('hosted spend could not be recorded in the budget ledger');
            });
        }
        return;
      } catch (err) {
        if (isCancellation(err) || err instanceof DeadlinePassed) throw err;
        const detail = failureDetail(err);
        modelCalls.push(failedCall(provider.provider, provider.model, 'hosted', detail, attemptStarted));
        note(`${provider.provider}: ${detail.outcome}`);
        reasons.push(`hosted ${provider.provider} failed (${firstLine(detail.error)})`);
        if (remainingMs() <= 0) throw new DeadlinePassed();
      }
    }
    // Every provider failed: no usable escalation.
    path = 'fallback';
  }

  if (hasEffect(ruleHits, 'decline')) {
    // A rule decline is final; no model can approve it, so no model is asked.
    path = 'rules';
  } else if (!features) {
    // Without the card's history neither the calibration nor the rules can judge it: a human does.
    path = 'fallback';
  } else {
    try {
      await scoreWithModels(features);
    } catch (err) {
      if (!(err instanceof DeadlinePassed)) throw err;
      note('deadline passed');
      reasons.push(`decision deadline of ${settings.deadlineMs / 1000}s passed before a usable model answer`);
      path = hosted ? 'escalated' : 'fallback';
    }
  }

  // 4. The decision policy: thresholds on the chosen score, floored by the rules.
  status.stage = 'deciding';
  const chosen = hosted ?? (path === undefined ? local : undefined);
  path ??= hosted ? 'escalated' : local ? 'local' : 'fallback';
  let modelOutcome: DecisionOutcome;
  let riskScore: number;
  if (path === 'rules') {
    modelOutcome = 'decline';
    riskScore = 1;
  } else if (chosen && path !== 'fallback') {
    riskScore = chosen.assessment.riskScore;
    // A hosted answer is the hosted model's own probability, judged by its own cut points.
    const cutPoints =
      path === 'escalated' ? { approveBelow: policy.hostedReviewAt, declineAt: policy.hostedDeclineAt } : policy;
    modelOutcome = outcomeForScore(riskScore, cutPoints);
    if (path === 'escalated' && policy.hostedMode === 'raises' && local) {
      // The tuned policy found the hosted tier better at catching than at clearing: it may only raise.
      modelOutcome = stricter(modelOutcome, outcomeForScore(local.assessment.riskScore, policy));
    }
    // An ambiguous first pass that could not be escalated is never approved on its own.
    if (path === 'local' && isAmbiguous(chosen.assessment, policy)) modelOutcome = stricter(modelOutcome, 'review');
    reasons.push(...chosen.assessment.reasons.map((r) => `${chosen.call.provider}: ${r}`));
  } else {
    // No usable model answer: a human looks at it. Never approve blind.
    modelOutcome = 'review';
    riskScore = local?.assessment.riskScore ?? 0.5;
    reasons.push('no usable model answer: sent to review');
  }
  const outcome = finalOutcome(modelOutcome, ruleHits);
  if (outcome !== modelOutcome) reasons.push(`rules raised ${modelOutcome} to ${outcome}`);

  const decision: Decision = {
    schemaVersion: decisionVersion,
    transactionId: event.transactionId,
    decision: outcome,
    riskScore,
    reasons,
    path,
    ruleHits,
    features,
    modelCalls,
    decidedAt: new Date(Date.now()).toISOString(),
    workflowId: ids.workflowId,
    runId: ids.runId,
    source: input.source,
    policyHash: settings.policyHash,
    promptVersion: settings.promptVersion,
  };
  note(outcome.toUpperCase());
  return { decision, provider: chosen?.call.provider ?? (path === 'rules' ? 'rules' : 'none') };
}

/**
 * Marks workflows whose code scores a challenger in shadow. Workflows started by older code never ran the step;
 * `patched` keeps them replaying as they ran (docs/operations.md, "Changing workflow code").
 */
export const shadowScoringPatch = 'shadow-scoring-1';

/**
 * The challenger's first pass on the decided transaction, on the shadow task queue, one attempt within
 * SHADOW_TIMEOUT_MS. It starts after the decision is published and its failure is only recorded: the champion's
 * decision neither waits for it nor changes.
 */
export async function scoreInShadow(
  event: TransactionEvent,
  settings: ScoringSettings,
  decision: Decision,
  features: CardFeatures,
): Promise<ShadowScore> {
  const shadow = settings.shadow;
  if (!shadow) throw new Error('no challenger in these settings');
  const { scoreChallenger } = proxyActivities<FraudflowActivities>({
    taskQueue: settings.taskQueues.shadowScoring,
    scheduleToCloseTimeout: shadow.timeoutMs,
    retry: { maximumAttempts: 1 },
    summary: `shadow ${shadow.model}`,
  });
  const started = Date.now();
  const firstPass = decision.modelCalls.find((c) => c.tier === 'local' && c.outcome === 'ok');
  try {
    return await scoreChallenger({
      event,
      features,
      policyHash: shadow.policyFileHash,
      model: shadow.model,
      champion: { decision: decision.decision, ruleHits: decision.ruleHits, firstPassScore: firstPass?.riskScore },
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const error = firstLine(failureDetail(err).error).slice(0, 300);
    return {
      model: shadow.model,
      policyHash: shadow.policyFileHash,
      outcome: 'error',
      latencyMs: Date.now() - started,
      error,
    };
  }
}

export async function scoreTransactionWorkflow(input: ScoreTransactionInput): Promise<Decision> {
  const info = workflowInfo();
  const status: ScoringStatus = { stage: 'rules', ruleHits: [], modelCalls: [], timeline: [] };
  setHandler(statusQuery, () => status);
  const observer: ScoringObserver = {
    status,
    note(step) {
      status.timeline.push(step);
      setCurrentDetails(status.timeline.join(' → '));
    },
  };
  const { publishDecision } = proxyActivities<FraudflowActivities>({
    taskQueue: input.settings.taskQueues.orchestration,
    ...publishing,
  });

  const { decision, provider } = await decideTransaction(input, observer, {
    workflowId: info.workflowId,
    runId: info.runId,
    budgetKey: info.workflowId,
  });
  // Publish first, then set the decision's search attributes in the same workflow task that completes the workflow:
  // the server writes them with the closed-workflow visibility record and skips the separate visibility update
  // (one visibility write fewer per decision; see docs/performance.md).
  status.stage = 'publishing';
  await publishDecision({ decision, topic: input.settings.decisionsTopic });
  if (input.settings.shadow && decision.features && patched(shadowScoringPatch)) {
    decision.shadow = await scoreInShadow(input.event, input.settings, decision, decision.features);
    observer.note(`shadow ${decision.shadow.model}: ${decision.shadow.decision ?? decision.shadow.outcome}`);
  }
  upsertSearchAttributes([
    { key: FraudDecision, value: decision.decision },
    { key: FraudRiskScore, value: decision.riskScore },
    { key: FraudEscalated, value: decision.modelCalls.some((c) => c.tier === 'hosted') },
    { key: FraudScoringPath, value: decision.path },
    { key: FraudProvider, value: provider },
    { key: FraudMerchantCategory, value: input.event.merchant.mcc },
    { key: FraudAmount, value: toMajorUnits(input.event.amount) },
  ]);
  status.stage = 'done';
  status.decision = decision;
  return decision;
}
