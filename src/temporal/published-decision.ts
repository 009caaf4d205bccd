/**
 * A scoring workflow's decision as it was published, read back from the workflow's history: the input of its
 * `publishDecision` activity, decoded through the client's codec. The workflow's result is only a receipt
 * (ScoringReceipt); workflows of earlier versions returned the whole decision, which is read from there instead.
 */
import type { Client } from '@temporalio/client';
import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { Decision } from '../schemas/decision';
import { scoringWorkflowId } from '../workflow-ids';

export class DecisionNotFound extends Error {}

/** The decision of the scoring workflow `workflowId` (its latest run unless `runId` is given). */
export async function publishedDecision(client: Client, workflowId: string, runId?: string): Promise<Decision> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const converter = client.options.loadedDataConverter;
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'publishDecision') {
      const [request] = await decodeArrayFromPayloads(converter, scheduled.input?.payloads);
      return Decision.parse((request as { decision: unknown }).decision);
    }
  }
  const completed = history.events?.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads;
  const [result] = await decodeArrayFromPayloads(converter, completed);
  const legacy = Decision.safeParse(result);
  if (legacy.success) return legacy.data;
  throw new DecisionNotFound(`${workflowId} has published no decision yet`);
}

/** gRPC's NOT_FOUND: fetching the history of a workflow the server does not have (the client does not map it). */
const grpcNotFound = 5;

/** The decision on a transaction, by its id; DecisionNotFound when it has no scoring workflow (any more). */
export async function decisionOfTransaction(client: Client, transactionId: string): Promise<Decision> {
  try {
    return await publishedDecision(client, scoringWorkflowId(transactionId));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && Number(err.code) === grpcNotFound))
      throw new DecisionNotFound(`no scoring workflow for transaction ${transactionId} (or its history has expired)`);
    throw err;
  }
}
