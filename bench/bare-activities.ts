/** The bare-Temporal ceiling's activities: they do nothing, so only Temporal's own cost is measured. */

export function createBareActivities(deps: { onFinished: (at: number) => void }) {
  return {
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
