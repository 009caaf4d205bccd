/** Workflow ids come from the business key, so re-consuming history under any consumer group never double-scores. */
export function scoringWorkflowId(transactionId: string): string {
  return `score-${transactionId}`;
}

export function replayWorkflowId(replayId: string): string {
  return `replay-${replayId}`;
}

export function replayChunkWorkflowId(replayId: string, chunk: number): string {
  return `replay-${replayId}-chunk-${chunk}`;
}

/** A review's case: one per transaction, so a replayed or repeated review never opens a second. */
export function caseWorkflowId(transactionId: string): string {
  return `case-${transactionId}`;
}
