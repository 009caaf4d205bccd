/**
 * hostedBudgetLedgerWorkflow: one per deployment and UTC day (id `hosted-budget-<orchestration queue>-<yyyy-mm-dd>`),
 * the durable count of hosted
 * spend shared by every worker and process. Scoring workflows ask it through an activity before escalating and
 * report each paid call to it with a signal. Spend is counted once per call id, so a retried report is harmless.
 */
import { condition, continueAsNew, defineQuery, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';

export interface HostedSpend {
  /** Unique per paid call: `<workflowId>:<provider>`. */
  callId: string;
  costUsd: number;
}

export interface LedgerState {
  day: string;
  spentUsd: number;
  calls: number;
  /** Call ids already counted (kept across continue-as-new). */
  seen: string[];
}

export const recordSpendSignal = defineSignal<[HostedSpend]>('recordSpend');
export const spentQuery = defineQuery<{ day: string; spentUsd: number; calls: number }>('spent');

/** `scope` is the deployment's orchestration task queue, so deployments sharing a namespace keep separate budgets. */
export function budgetLedgerWorkflowId(scope: string, day: string): string {
  return `hosted-budget-${scope}-${day}`;
}

/** Keeps the history short: past this many signals the ledger continues as new with its totals. */
const signalsPerRun = 1000;

export async function hostedBudgetLedgerWorkflow(state: LedgerState): Promise<LedgerState> {
  const seen = new Set(state.seen);
  let signals = 0;
  setHandler(recordSpendSignal, (spend) => {
    signals++;
    if (seen.has(spend.callId)) return;
    seen.add(spend.callId);
    state.spentUsd += spend.costUsd;
    state.calls++;
  });
  setHandler(spentQuery, () => ({ day: state.day, spentUsd: state.spentUsd, calls: state.calls }));

  // The ledger lives until a day after its own day ends, so late reports still count; then it closes.
  const endOfDay = Date.parse(`${state.day}T00:00:00Z`) + 2 * 24 * 3600 * 1000;
  const remaining = Math.max(1000, endOfDay - Date.now());
  const expired = !(await condition(
    () => signals >= signalsPerRun || workflowInfo().continueAsNewSuggested,
    remaining,
  ));
  if (expired) return { ...state, seen: [] };
  return continueAsNew<typeof hostedBudgetLedgerWorkflow>({ ...state, seen: [...seen] });
}
