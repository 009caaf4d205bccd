/**
 * Failure `type` strings of the feature activities, as they appear in the workflow history and docs/operations.md.
 * No retry policy lists them: a store outage is retried like any activity failure, within the decision deadline.
 */
export const FeatureFailureType = {
  /**
   * The online feature store could not be read or written (connection refused, timeout, a Redis error). Retryable:
   * Temporal retries it with backoff, so a store outage delays a transaction and never loses it.
   */
  storeUnavailable: 'FeatureStoreUnavailable',
} as const;
export type FeatureFailureType = (typeof FeatureFailureType)[keyof typeof FeatureFailureType];
