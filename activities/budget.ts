/** Budget activities: read and add to the day's durable hosted-spend ledger (a Temporal workflow). */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TaskQueues } from '../src/task-queues';
import type { HostedSpend, LedgerState } from '../workflows/hosted-budget-ledger';
import { budgetLedgerWorkflowId, recordSpendSignal, spentQuery } from '../workflows/hosted-budget-ledger';
import type { hostedBudgetLedgerWorkflow } from '../workflows/hosted-budget-ledger';

export function createBudgetActivities(deps: { client: Client; taskQueues: TaskQueues }) {
  /** USD spent on hosted models on `day` (UTC) so far; 0 before the first paid call. */
  const readHostedSpend = async (req: { day: string }): Promise<number> => {
    try {
      const spent = await deps.client.workflow
        .getHandle(budgetLedgerWorkflowId(deps.taskQueues.orchestration, req.day))
        .query(spentQuery);
      return spent.spentUsd;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 0;
      throw err;
    }
  };

  /** Adds one paid call to the day's ledger, starting the ledger if this is the day's first. */
  const recordHostedSpend = async (req: { day: string; spend: HostedSpend }): Promise<void> => {
    const initial: LedgerState = { day: req.day, spentUsd: 0, calls: 0, seen: [] };
    await deps.client.workflow.signalWithStart<typeof hostedBudgetLedgerWorkflow, [HostedSpend]>(
      'hostedBudgetLedgerWorkflow',
      {
        workflowId: budgetLedgerWorkflowId(deps.taskQueues.orchestration, req.day),
        taskQueue: deps.taskQueues.orchestration,
        args: [initial],
        signal: recordSpendSignal,
        signalArgs: [req.spend],
      },
    );
  };

  return { readHostedSpend, recordHostedSpend };
}
