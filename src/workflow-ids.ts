/** Workflow ids come from the business key, so re-consuming history under any consumer group never double-scores. */
export function scoringWorkflowId(transactionId: string): string {
  return `score-${transactionId}`;
}
