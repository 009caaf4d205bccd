/**
 * The bare-Temporal ceiling's activities: no-ops, so only Temporal's own cost is measured, plus the card-history
 * step scoreTransactionWorkflow also takes (the same activity on the same feature store), timed per call.
 */
import { createFeatureActivities } from '../activities/card-features';
import type { CardHistoryStore } from '../src/features/store';
import type { TransactionEvent } from '../src/schemas/transaction-event';

export function createBareActivities(deps: {
  onFinished: (at: number) => void;
  store: CardHistoryStore;
  onFeatureStep: (ms: number) => void;
}) {
  const features = createFeatureActivities({ store: deps.store });
  return {
    computeCardFeatures: async (req: { event: TransactionEvent }) => {
      const started = performance.now();
      const result = await features.computeCardFeatures(req);
      deps.onFeatureStep(performance.now() - started);
      return result;
    },
    /** Stands in for scoreWithLocalModel, on the local-scoring task queue; echoes its payload back. */
    scoreNoop: (payload?: unknown): Promise<unknown> => Promise.resolve(payload),
    /** Stands in for publishDecision, on the orchestration task queue: the workflow's last step. */
    publishNoop: (_payload?: unknown): Promise<void> => {
      deps.onFinished(Date.now());
      return Promise.resolve();
    },
  };
}
export type BareActivities = ReturnType<typeof createBareActivities>;
