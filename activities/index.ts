import type { Client } from '@temporalio/client';
import type { Kafka, Producer } from 'kafkajs';
import type { Config } from '../src/config';
import type { ModelClients } from '../src/models/clients';
import { createModelScoringActivities } from './model-scoring';
import { createShadowScoringActivities } from './shadow-scoring';
import { createPublishingActivities } from './publishing';
import { createBudgetActivities } from './budget';
import { createReplayActivities } from './replay';
import { createFeatureActivities } from './card-features';
import type { CardHistoryStore } from '../src/features/store';
import type { ReplayStore } from '../src/replay/store';
import type { TaskQueues } from '../src/task-queues';

export type { ModelScore, ScoreRequest, EscalationRequest } from './model-scoring';
export type { PublishRequest } from './publishing';
export { createModelScoringActivities } from './model-scoring';
export { createShadowScoringActivities } from './shadow-scoring';
export { createPublishingActivities } from './publishing';
export { createBudgetActivities } from './budget';
export { createReplayActivities } from './replay';
export { createFeatureActivities } from './card-features';

/** Every fraudflow activity; workers register the subset for their task queue. */
export function createActivities(deps: {
  config: Config;
  models: ModelClients;
  producer: Producer;
  client: Client;
  taskQueues: TaskQueues;
  store: ReplayStore;
  kafka: Kafka;
  featureStore: CardHistoryStore;
}) {
  return {
    ...createFeatureActivities({ store: deps.featureStore }),
    ...createModelScoringActivities(deps),
    ...createShadowScoringActivities(deps),
    ...createPublishingActivities(deps),
    ...createBudgetActivities(deps),
    ...createReplayActivities(deps),
  };
}
export type FraudflowActivities = ReturnType<typeof createActivities>;
