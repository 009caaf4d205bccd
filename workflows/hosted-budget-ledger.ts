/**
 * hostedBudgetLedgerWorkflow: the per-day hosted-spend ledger of fraudflow 0.2.0 and before (id
 * `hosted-budget-<orchestration queue>-<yyyy-mm-dd>`). Nothing starts one any more: hosted spend is reserved and
 * settled in the Redis ledger (src/models/hosted-spend-ledger.ts), since this one carried every call id of the day
 * and passed Temporal's payload limit at ~40,000 paid calls. It stays registered so ledgers started by 0.2.0 close
 * on their own two days after their day; remove it in the release after.
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
