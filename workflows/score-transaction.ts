/**
 * scoreTransactionWorkflow: one transaction, one workflow (id `score-<transactionId>`), one published decision.
 *
 * Rules first; then the local model's first pass; ambiguous or failed first passes escalate through the hosted
 * provider chain in order (within the day's hosted budget); the decision policy combines the chosen score with
 * the rules; the decision is published to Kafka and returned. Every step, retry and failover is an activity in
 * the history, and a decision deadline bounds the whole: past it, the transaction goes to review.
 */
import {
  defineQuery,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FraudflowActivities } from '../activities';
import { toMajorUnits } from '../src/money';
import type { CardFeatures } from '../src/schemas/card-features';
import type { Decision, ScoringReceipt, ShadowScore } from '../src/schemas/decision';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import { hostedAnswerOf } from '../src/scoring/challenger';
import type { ScoringSettings } from '../src/scoring/settings';
import { caseWorkflowId } from '../src/workflow-ids';
import {
  FraudAmount,
  FraudCaseOpenedAt,
  FraudCaseStatus,
  FraudDecision,
  FraudEscalated,
  FraudMerchantCategory,
  FraudProvider,
  FraudRiskScore,
  FraudRulesHash,
  FraudScoringPath,
} from '../src/search-attributes';
import { decideTransaction, failureDetail, firstLine } from './decide-transaction';
import type { ScoreTransactionInput, ScoringObserver, ScoringStatus } from './decide-transaction';
import { workCaseWorkflow } from './work-case';

export type { ScoreTransactionInput, ScoringStatus } from './decide-transaction';
export { scoringWorkflowId } from '../src/workflow-ids';

/** Where the workflow is and what it has learned so far; readable from the UI's Queries tab. */
export const statusQuery = defineQuery<ScoringStatus>('status');

/** Publishing retries until Kafka takes it: a decision is never dropped. */
const publishing = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
} as const;

/**
 * Marks workflows whose code scores a challenger in shadow. Workflows started by older code never ran the step;
 * `patched` keeps them replaying as they ran (docs/operations.md, "Changing workflow code").
 */
export const shadowScoringPatch = 'shadow-scoring-1';

/**
 * Marks workflows whose decision deadline runs from the workflow's start (the execution-started event), so time a
 * transaction waits for a worker (a backlog, a deploy, every worker down) counts against it. Older workflows ran it
 * from their first workflow task; `patched` keeps them replaying as they ran.
 */
export const deadlineFromWorkflowStartPatch = 'decision-deadline-from-workflow-start';

/**
 * Whether the decision deadline runs from the workflow's start. Settings from 0.4.0 on say so in the input, which
 * history keeps, so the workflow records no patch marker (and the server no TemporalChangeVersion update) per
 * transaction; inputs without it are older and ask `patched` as those workflows did.
 */
function deadlineFromStart(settings: ScoringSettings): boolean {
  return settings.deadlineFrom === 'workflow-start' || patched(deadlineFromWorkflowStartPatch);
}

/**
 * Marks workflows whose `review` opens a case: the review is published as provisional and a `case-<transactionId>`
 * workflow is started before this one ends. Older workflows never started one; `patched` keeps them replaying.
 */
export const casePerReviewPatch = 'case-per-review-1';

/**
 * Starts the review's case on the cases task queue, abandoned when this workflow closes: the case outlives the
 * scoring workflow, so hours of waiting hold neither the ingest's running bound nor the orchestration cache.
 */
async function openCase(input: ScoreTransactionInput, decision: Decision, observer: ScoringObserver): Promise<void> {
  const { settings, event } = input;
  if (!settings.cases) return;
  const workflowId = caseWorkflowId(event.transactionId);
  try {
    await startChild(workCaseWorkflow, {
      workflowId,
      taskQueue: settings.taskQueues.cases,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // Case lists read the transaction from here rather than parsing it back out of the workflow id.
      memo: { transactionId: event.transactionId },
      typedSearchAttributes: [
        { key: FraudCaseStatus, value: 'open' },
        { key: FraudCaseOpenedAt, value: new Date(Date.now()) },
        { key: FraudDecision, value: 'review' },
        { key: FraudRiskScore, value: decision.riskScore },
        { key: FraudAmount, value: toMajorUnits(event.amount) },
        { key: FraudMerchantCategory, value: event.merchant.mcc },
      ],
      args: [{ review: decision, event, decisionsTopic: settings.decisionsTopic, cases: settings.cases }],
    });
    observer.note(`case opened: ${workflowId}`);
  } catch (err) {
    // The transaction already has its case (one per transaction): nothing more to open.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    observer.note(`case already open: ${workflowId}`);
  }
}

/**
 * The challenger's first pass on the decided transaction, then the decision policy under its thresholds with the
 * champion's rule hits and hosted answer, on the shadow task queue, one attempt within SHADOW_TIMEOUT_MS. It starts
 * after the decision is published and its failure is only recorded: the champion's decision neither waits for it
 * nor changes.
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
    // Only input changes here, never the commands: the policy step runs inside the activity.
    return await scoreChallenger({
      event,
      features,
      policyFileHash: shadow.policyFileHash,
      // The old name too, for shadow workers not yet deployed (they read only `policyHash`).
      policyHash: shadow.policyFileHash,
      model: shadow.model,
      champion: {
        decision: decision.decision,
        ruleHits: decision.ruleHits,
        firstPassScore: firstPass?.riskScore,
        policy: settings.policy,
        hostedChain: settings.hosted.length > 0,
        hosted: hostedAnswerOf(decision.modelCalls),
        escalated: decision.modelCalls.some((c) => c.tier === 'hosted'),
      },
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const error = firstLine(failureDetail(err).error).slice(0, 300);
    return {
      model: shadow.model,
      policyFileHash: shadow.policyFileHash,
      outcome: 'error',
      latencyMs: Date.now() - started,
      error,
    };
  }
}

/** The decision's headline and where it went: the decision itself is in history once, as the publish's input. */
function receiptOf(decision: Decision, published: ScoringReceipt['published']): ScoringReceipt {
  const { transactionId, riskScore, path, reasons, decidedAt, policyHash, rulesHash, stage, shadow } = decision;
  return {
    transactionId,
    decision: decision.decision,
    riskScore,
    path,
    reasons,
    decidedAt,
    policyHash,
    ...(rulesHash ? { rulesHash } : {}),
    ...(stage ? { stage } : {}),
    ...(shadow ? { shadow } : {}),
    published,
  };
}

export async function scoreTransactionWorkflow(input: ScoreTransactionInput): Promise<ScoringReceipt> {
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

  // `runStartTime` would not do: the SDK sets it to the first workflow task's time, as `Date.now()` reads there.
  const deadlineFrom = deadlineFromStart(input.settings) ? info.startTime.getTime() : Date.now();
  const { decision, provider } = await decideTransaction(
    input,
    observer,
    { workflowId: info.workflowId, runId: info.runId, spendKey: info.workflowId },
    deadlineFrom,
  );
  // Publish first, then set the decision's search attributes in the same workflow task that completes the workflow:
  // the server writes them with the closed-workflow visibility record and skips the separate visibility update
  // (one visibility write fewer per decision; see docs/performance.md).
  status.stage = 'publishing';
  const opensCase = decision.decision === 'review' && input.settings.cases !== undefined && patched(casePerReviewPatch);
  if (opensCase) decision.stage = 'provisional';
  const topic = input.settings.decisionsTopic;
  const published = await publishDecision({ decision, topic });
  if (input.settings.shadow && decision.features && patched(shadowScoringPatch)) {
    decision.shadow = await scoreInShadow(input.event, input.settings, decision, decision.features);
    observer.note(`shadow ${decision.shadow.model}: ${decision.shadow.decision ?? decision.shadow.outcome}`);
  }
  if (opensCase) await openCase(input, decision, observer);
  upsertSearchAttributes([
    { key: FraudDecision, value: decision.decision },
    { key: FraudRiskScore, value: decision.riskScore },
    { key: FraudEscalated, value: decision.modelCalls.some((c) => c.tier === 'hosted') },
    { key: FraudScoringPath, value: decision.path },
    { key: FraudProvider, value: provider },
    { key: FraudMerchantCategory, value: input.event.merchant.mcc },
    { key: FraudAmount, value: toMajorUnits(input.event.amount) },
    // Only decisions a rules file decided carry it: earlier histories replay with the attributes they set.
    ...(decision.rulesHash ? [{ key: FraudRulesHash, value: decision.rulesHash }] : []),
  ]);
  status.stage = 'done';
  status.decision = decision;
  return receiptOf(decision, { topic, ...published });
}
