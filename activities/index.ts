import { createBudgetActivities } from './budget';
import { createFeatureActivities } from './card-features';
import { createModelScoringActivities } from './model-scoring';
import { createPublishingActivities } from './publishing';
import { createReplayActivities } from './replay';
import { createShadowScoringActivities } from './shadow-scoring';

export type { ModelScore, ScoreRequest, EscalationRequest } from './model-scoring';
export type { PublishLabelRequest, PublishRequest } from './publishing';
export {
  createBudgetActivities,
  createFeatureActivities,
  createModelScoringActivities,
  createPublishingActivities,
  createReplayActivities,
  createShadowScoringActivities,
};

/**
 * Every fraudflow activity, as workflows proxy them (types only). Each worker role registers the factories for its
 * task queue (src/worker-set/roles.ts); no process builds them all.
 */
export type FraudflowActivities = ReturnType<typeof createFeatureActivities> &
  ReturnType<typeof createModelScoringActivities> &
  ReturnType<typeof createShadowScoringActivities> &
  ReturnType<typeof createPublishingActivities> &
  ReturnType<typeof createBudgetActivities> &
  ReturnType<typeof createReplayActivities>;
