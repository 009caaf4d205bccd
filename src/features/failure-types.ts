/**
 * Failure `type` strings of the feature activities, free of I/O imports so workflows can name them in retry
 * policies.
 */
export const FeatureFailureType = {
  /**
   * The online feature store could not be read or written (connection refused, timeout, a Redis error). Retryable:
   * Temporal retries it with backoff, so a store outage delays a transaction and never loses it.
   */
  storeUnavailable: 'FeatureStoreUnavailable',
} as const;
export type FeatureFailureType = (typeof FeatureFailureType)[keyof typeof FeatureFailureType];
