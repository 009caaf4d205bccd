/**
 * workCaseWorkflow: one review, one case (id `case-<transactionId>`), on the cases task queue.
 *
 * The scoring workflow publishes the `review` as a provisional decision, starts this workflow (abandoned on close)
 * and ends: an open case is not a running scoring workflow, so it never counts against the ingest's bound nor sits
 * in the orchestration worker's cache. The case waits durably for the analyst's `resolveCase` update, bounded by a
 * timer (CASE_SLA); then it publishes the final decision and, for an analyst's verdict, the label.
 */
import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FraudflowActivities } from '../activities';
import type { CaseStatus, ResolveCaseRequest } from '../src/schemas/case';
import type { CaseResolution, Decision, DecisionOutcome } from '../src/schemas/decision';
import type { Label } from '../src/schemas/label';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import type { CaseSettings } from '../src/scoring/settings';
import { FraudCaseStatus, FraudCaseVerdict, FraudDecision } from '../src/search-attributes';

export { caseWorkflowId } from '../src/workflow-ids';

export interface WorkCaseInput {
  /** The provisional `review` the scoring workflow published. */
  review: Decision;
  /** The transaction, for the case file. */
  event: TransactionEvent;
  decisionsTopic: string;
  cases: CaseSettings;
}

/** The whole case file and where it stands: what `fraudflow cases show` and the console read. */
export interface CaseFile {
  transactionId: string;
  status: CaseStatus;
  openedAt: string;
  /** When the case expires unless resolved first. */
  dueAt: string;
  review: Decision;
  event: TransactionEvent;
  /** Set once resolved or expired. */
  resolution?: CaseResolution;
  /** The final decision, once published. */
  final?: Decision;
}

/** The analyst's verdict. Answers with the final decision once it is published; a repeat gets the same answer. */
export const resolveCaseUpdate = defineUpdate<Decision, [ResolveCaseRequest]>('resolveCase');
export const caseQuery = defineQuery<CaseFile>('case');

const verdicts: ReadonlySet<string> = new Set(['fraud', 'legitimate']);

/** Publishing retries until Kafka takes it: a final decision or label is never dropped. */
const publishing = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
} as const;

export async function workCaseWorkflow(input: WorkCaseInput): Promise<Decision> {
  const info = workflowInfo();
  const openedAt = info.startTime;
  const file: CaseFile = {
    transactionId: input.review.transactionId,
    status: 'open',
    openedAt: openedAt.toISOString(),
    dueAt: new Date(openedAt.getTime() + input.cases.slaMs).toISOString(),
    review: input.review,
    event: input.event,
  };
  setHandler(caseQuery, () => file);
  setHandler(
    resolveCaseUpdate,
    async (request) => {
      file.resolution ??= {
        resolvedBy: 'analyst',
        verdict: request.verdict,
        analyst: request.analyst,
        ...(request.note ? { note: request.note } : {}),
        openedAt: file.openedAt,
        resolvedAt: new Date(Date.now()).toISOString(),
      };
      await condition(() => file.final !== undefined);
      return file.final as Decision;
    },
    { validator: (request: ResolveCaseRequest) => validateResolution(file, request) },
  );

  const resolved = await condition(() => file.resolution !== undefined, input.cases.slaMs);
  if (!resolved) {
    file.resolution = { resolvedBy: 'expiry', openedAt: file.openedAt, resolvedAt: new Date(Date.now()).toISOString() };
  }
  const resolution = file.resolution as CaseResolution;
  const final = finalDecision(input, resolution, info.workflowId, info.runId);
  const { publishDecision, publishLabel } = proxyActivities<FraudflowActivities>({ ...publishing });
  await publishDecision({ decision: final, topic: input.decisionsTopic });
  if (resolution.resolvedBy === 'analyst') {
    await publishLabel({ label: analystLabel(final.transactionId, resolution), topic: input.cases.labelsTopic });
  }
  file.status = resolution.resolvedBy === 'analyst' ? 'resolved' : 'expired';
  file.final = final;
  // Written with the completion: the closed-workflow visibility record carries them, no separate update.
  upsertSearchAttributes([
    { key: FraudCaseStatus, value: file.status },
    { key: FraudDecision, value: final.decision },
    ...(resolution.verdict ? [{ key: FraudCaseVerdict, value: resolution.verdict }] : []),
  ]);
  await condition(allHandlersFinished);
  return final;
}

/**
 * Refuses, with a message an analyst can act on: an unknown verdict, a verdict meant for another transaction, a
 * case already closed. The same verdict again from the same analyst is accepted (a retried click or command).
 */
export function validateResolution(file: CaseFile, request: ResolveCaseRequest): void {
  const r = request as Partial<ResolveCaseRequest> | undefined;
  if (!r || typeof r !== 'object') throw new Error('resolveCase takes { transactionId, verdict, analyst, note? }');
  if (!verdicts.has(String(r.verdict))) {
    throw new Error(`unknown verdict ${JSON.stringify(r.verdict)}: expected "fraud" or "legitimate"`);
  }
  if (r.transactionId !== file.transactionId) {
    throw new Error(
      `this case is for transaction ${file.transactionId}, not ${JSON.stringify(r.transactionId)}: verdict refused`,
    );
  }
  if (typeof r.analyst !== 'string' || r.analyst.trim() === '') throw new Error('a verdict needs the analyst id');
  const done = file.resolution;
  if (!done) return;
  if (done.resolvedBy === 'analyst' && done.verdict === r.verdict && done.analyst === r.analyst) return;
  const how =
    done.resolvedBy === 'expiry'
      ? `expired at ${done.resolvedAt} (the SLA ran out)`
      : `resolved ${done.verdict} by ${done.analyst} at ${done.resolvedAt}`;
  throw new Error(`case for transaction ${file.transactionId} is closed: ${how}`);
}

/** An analyst's verdict decides; an expired case gets the configured action. */
export function finalOutcome(resolution: CaseResolution, expiryAction: CaseSettings['expiryAction']): DecisionOutcome {
  if (resolution.resolvedBy === 'expiry') return expiryAction;
  return resolution.verdict === 'fraud' ? 'decline' : 'approve';
}

function finalDecision(input: WorkCaseInput, resolution: CaseResolution, workflowId: string, runId: string): Decision {
  const outcome = finalOutcome(resolution, input.cases.expiryAction);
  const why =
    resolution.resolvedBy === 'analyst'
      ? `case: analyst ${resolution.analyst} found it ${resolution.verdict}`
      : `case: no verdict within the SLA of ${input.cases.slaMs / 1000}s: ${outcome} (CASE_EXPIRY_ACTION)`;
  return {
    ...input.review,
    decision: outcome,
    reasons: [...input.review.reasons, why],
    decidedAt: resolution.resolvedAt,
    workflowId,
    runId,
    stage: 'final',
    case: resolution,
  };
}

function analystLabel(transactionId: string, resolution: CaseResolution): Label {
  return {
    schemaVersion: 1,
    transactionId,
    outcome: resolution.verdict ?? 'fraud',
    source: 'analyst',
    reportedAt: resolution.resolvedAt,
    ...(resolution.analyst ? { reportedBy: resolution.analyst } : {}),
  };
}
