/**
 * The bare-Temporal ceiling: a workflow with the same shape as scoreTransactionWorkflow on the path the
 * benchmark exercises (the card-history local activity on the real feature store, one activity on the
 * local-scoring queue, then one on the orchestration queue) and nothing else. Optional features add back, one at a
 * time, what scoreTransactionWorkflow does on top (search attributes, its payload size, the codec), so the gap
 * between the two can be taken apart (`npm run bench -- --only bare-temporal --bare-like search-attributes,...`);
 * `timer` measures the workflow timer scoreTransactionWorkflow no longer starts (docs/performance.md).
 */
import { CancellationScope, proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { TransactionEvent } from '../../src/schemas/transaction-event';
import type { BareActivities } from '../bare-activities';
import {
  FraudAmount,
  FraudDecision,
  FraudEscalated,
  FraudMerchantCategory,
  FraudProvider,
  FraudRiskScore,
  FraudScoringPath,
} from '../../src/search-attributes';

export interface BareWorkflowInput {
  localScoringQueue: string;
  /**
   * Run the scoring activity inside CancellationScope.withTimeout: a durable timer started and then cancelled in
   * every workflow, as scoreTransactionWorkflow's decision deadline once was. Its deadline now bounds each call's
   * schedule-to-close timeout and starts no timer; this measures what that saved.
   */
  deadlineMs?: number;
  /** Upsert the seven search attributes scoreTransactionWorkflow sets on every decision, after publishing as it does. */
  searchAttributes?: boolean;
  /** Carried through both activities, so payloads are the size of scoreTransactionWorkflow's. */
  payload?: unknown;
  /** The card-history step scoreTransactionWorkflow takes first: a local activity on the feature store. */
  event?: TransactionEvent;
}

export async function bareWorkflow(input: BareWorkflowInput): Promise<void> {
  const { scoreNoop } = proxyActivities<BareActivities>({
    taskQueue: input.localScoringQueue,
    startToCloseTimeout: '1m',
  });
  const { publishNoop } = proxyActivities<BareActivities>({ startToCloseTimeout: '30s' });
  const { computeCardFeatures } = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '5s' });
  if (input.event) await computeCardFeatures({ event: input.event });
  let answer: unknown;
  const score = async () => {
    answer = await scoreNoop(input.payload);
  };
  if (input.deadlineMs !== undefined) await CancellationScope.withTimeout(input.deadlineMs, score);
  else await score();
  await publishNoop(answer);
  if (input.searchAttributes) {
    upsertSearchAttributes([
      { key: FraudDecision, value: 'approve' },
      { key: FraudRiskScore, value: 0.1 },
      { key: FraudEscalated, value: false },
      { key: FraudScoringPath, value: 'local' },
      { key: FraudProvider, value: 'local' },
      { key: FraudMerchantCategory, value: '5411' },
      { key: FraudAmount, value: 42.5 },
    ]);
  }
}
