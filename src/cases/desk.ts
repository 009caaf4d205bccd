/**
 * The case desk: what an analyst does with cases, over a Temporal client. Lists come from Temporal's visibility
 * store (the case search attributes), the case file from the case workflow's `case` query, and a verdict goes in as
 * the `resolveCase` update. The CLI (`fraudflow cases`) and the console both work through here.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CaseFile } from '../../workflows/work-case';
import { CaseNotFoundError, CaseVerdictRefusedError, CaseWorkerUnavailableError } from '../errors';
import type { CaseStatus, ResolveCaseRequest } from '../schemas/case';
import { Decision } from '../schemas/decision';
import {
  FraudAmount,
  FraudCaseOpenedAt,
  FraudCaseStatus,
  FraudCaseVerdict,
  FraudDecision,
  FraudMerchantCategory,
  FraudRiskScore,
} from '../search-attributes';
import { caseWorkflowId } from '../workflow-ids';

export type { CaseFile } from '../../workflows/work-case';

/** One row of the case list. */
export interface CaseSummary {
  transactionId: string;
  status: CaseStatus;
  openedAt: Date;
  riskScore: number;
  /** Major units of the transaction's currency. */
  amount: number;
  merchantCategory?: string;
  verdict?: string;
  /** The final decision once the case is closed; `review` while open. */
  decision?: string;
}

export const caseSorts = ['risk', 'amount', 'age'] as const;
export type CaseSort = (typeof caseSorts)[number];

export interface ListCasesOptions {
  /** The cases task queue (one deployment's, or one test's). */
  taskQueue: string;
  /** Only cases waiting for a verdict. @default false */
  open?: boolean;
  /** `risk` and `amount` highest first, `age` oldest first. @default 'age' */
  sort?: CaseSort;
  /** @default 200 */
  limit?: number;
}

/** The wait for a case worker to answer a query before the desk says none is running. */
const queryTimeoutMs = 10_000;

export async function listCases(client: Client, opts: ListCasesOptions): Promise<CaseSummary[]> {
  const clauses = [`WorkflowType = 'workCaseWorkflow'`, `TaskQueue = '${opts.taskQueue}'`];
  if (opts.open) clauses.push(`${FraudCaseStatus.name} = 'open'`);
  const rows: CaseSummary[] = [];
  const limit = opts.limit ?? 200;
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    rows.push(caseSummary(wf));
    if (rows.length >= limit * 5) break;
  }
  return sortCases(rows, opts.sort ?? 'age').slice(0, limit);
}

function caseSummary(wf: WorkflowExecutionInfo): CaseSummary {
  const attrs = wf.typedSearchAttributes;
  const memo = wf.memo as { transactionId?: unknown } | undefined;
  return {
    transactionId: typeof memo?.transactionId === 'string' ? memo.transactionId : wf.workflowId,
    status: (attrs.get(FraudCaseStatus) as CaseStatus | undefined) ?? 'open',
    openedAt: attrs.get(FraudCaseOpenedAt) ?? wf.startTime,
    riskScore: attrs.get(FraudRiskScore) ?? 0,
    amount: attrs.get(FraudAmount) ?? 0,
    merchantCategory: attrs.get(FraudMerchantCategory),
    verdict: attrs.get(FraudCaseVerdict),
    decision: attrs.get(FraudDecision),
  };
}

export function sortCases(rows: CaseSummary[], sort: CaseSort): CaseSummary[] {
  const by: Record<CaseSort, (a: CaseSummary, b: CaseSummary) => number> = {
    risk: (a, b) => b.riskScore - a.riskScore,
    amount: (a, b) => b.amount - a.amount,
    age: (a, b) => a.openedAt.getTime() - b.openedAt.getTime(),
  };
  return [...rows].sort(by[sort]);
}

/** The whole case file, open or closed. */
export async function readCase(client: Client, transactionId: string, taskQueue: string): Promise<CaseFile> {
  const handle = client.workflow.getHandle(caseWorkflowId(transactionId));
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CaseNotFoundError(transactionId);
    throw err;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseWorkerUnavailableError(taskQueue)), queryTimeoutMs);
  });
  try {
    return await Promise.race([handle.query<CaseFile>('case'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Gives the analyst's verdict; answers with the final decision. The same verdict from the same analyst again is
 * harmless, before or after the case closed; anything else on a closed case is refused with how it closed.
 */
export async function resolveCase(client: Client, request: ResolveCaseRequest): Promise<Decision> {
  const handle = client.workflow.getHandle(caseWorkflowId(request.transactionId));
  try {
    const result = await handle.executeUpdate<Decision, [ResolveCaseRequest]>('resolveCase', { args: [request] });
    return Decision.parse(result);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof ApplicationFailure || err.cause instanceof Error ? err.cause.message : '';
      throw new CaseVerdictRefusedError(cause || err.message, request.transactionId);
    }
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // Not found, or already closed (the server refuses updates on closed workflows): read how it ended.
    return closedCaseVerdict(client, request);
  }
}

async function closedCaseVerdict(client: Client, request: ResolveCaseRequest): Promise<Decision> {
  const handle = client.workflow.getHandle(caseWorkflowId(request.transactionId));
  let final: Decision;
  try {
    final = Decision.parse(await handle.result());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CaseNotFoundError(request.transactionId);
    throw err;
  }
  const done = final.case;
  if (done?.resolvedBy === 'analyst' && done.verdict === request.verdict && done.analyst === request.analyst) {
    return final;
  }
  const how =
    done?.resolvedBy === 'expiry'
      ? `expired at ${done.resolvedAt} (the SLA ran out): ${final.decision}`
      : `resolved ${done?.verdict} by ${done?.analyst} at ${done?.resolvedAt}`;
  throw new CaseVerdictRefusedError(
    `case for transaction ${request.transactionId} is closed: ${how}`,
    request.transactionId,
  );
}
