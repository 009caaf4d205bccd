/**
 * The bare-Temporal ceiling: a workflow with the same shape as scoreTransactionWorkflow on the path the
 * benchmark exercises (one activity on the local-scoring queue, then one on the orchestration queue) and
 * nothing else: no input to speak of, no codec, no Kafka.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from '../bare-activities';

export interface BareWorkflowInput {
  localScoringQueue: string;
}

export async function bareWorkflow(input: BareWorkflowInput): Promise<void> {
  const { scoreNoop } = proxyActivities<BareActivities>({
    taskQueue: input.localScoringQueue,
    startToCloseTimeout: '1m',
  });
  const { publishNoop } = proxyActivities<BareActivities>({ startToCloseTimeout: '30s' });
  await scoreNoop();
  await publishNoop();
}
