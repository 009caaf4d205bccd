import type { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import type { Config } from '../src/config';
import type { ModelClients } from '../src/models/clients';
import { createModelScoringActivities } from './model-scoring';
import { createPublishingActivities } from './publishing';
import { createBudgetActivities } from './budget';
import type { TaskQueues } from '../src/task-queues';

export type { ModelScore, ScoreRequest, EscalationRequest } from './model-scoring';
export type { PublishRequest } from './publishing';
export { createModelScoringActivities } from './model-scoring';
export { createPublishingActivities } from './publishing';
export { createBudgetActivities } from './budget';

/** Every fraudflow activity; workers register the subset for their task queue. */
export function createActivities(deps: {
  config: Config;
  models: ModelClients;
  producer: Producer;
  client: Client;
  taskQueues: TaskQueues;
}) {
  return {
    ...createModelScoringActivities(deps),
    ...createPublishingActivities(deps),
    ...createBudgetActivities(deps),
  };
}
export type FraudflowActivities = ReturnType<typeof createActivities>;
