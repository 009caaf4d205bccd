/** The bare-Temporal ceiling's activities: they do nothing, so only Temporal's own cost is measured. */

export function createBareActivities(deps: { onFinished: (at: number) => void }) {
  return {
    /** Stands in for scoreWithLocalModel, on the local-scoring task queue. */
    scoreNoop: (): Promise<void> => Promise.resolve(),
    /** Stands in for publishDecision, on the orchestration task queue: the workflow's last step. */
    publishNoop: (): Promise<void> => {
      deps.onFinished(Date.now());
      return Promise.resolve();
    },
  };
}
export type BareActivities = ReturnType<typeof createBareActivities>;
