/** Task queues. Tests pass their own names through the workflow input so runs cannot see each other's work. */
export const taskQueues = {
  /** Workflows and decision publishing. */
  orchestration: 'fraudflow-orchestration',
  /** First-pass scoring; activity slots sized to the local model server's parallel capacity. */
  localScoring: 'fraudflow-local-scoring',
  /** Escalation to hosted providers; rate limited server-side per task queue. */
  hostedScoring: 'fraudflow-hosted-scoring',
} as const;
export type TaskQueues = { -readonly [K in keyof typeof taskQueues]: string };
