/** Task queues, named `<prefix>-<role>` (TASK_QUEUE_PREFIX) so deployments and tests can share a namespace. */
export interface TaskQueues {
  /** Workflows, decision publishing and the hosted budget ledger. */
  orchestration: string;
  /** First-pass scoring; activity slots sized to the local model servers' parallel capacity. */
  localScoring: string;
  /** Escalation to hosted providers; rate limited server-side per task queue. */
  hostedScoring: string;
  /** A challenger model's first passes, in shadow: capacity of its own, so the champion never waits for it. */
  shadowScoring: string;
  /** Open cases waiting for an analyst: a worker and cache of their own, so they never crowd out scoring. */
  cases: string;
}

export function taskQueuesFor(prefix: string): TaskQueues {
  return {
    orchestration: `${prefix}-orchestration`,
    localScoring: `${prefix}-local-scoring`,
    hostedScoring: `${prefix}-hosted-scoring`,
    shadowScoring: `${prefix}-shadow-scoring`,
    cases: `${prefix}-cases`,
  };
}
