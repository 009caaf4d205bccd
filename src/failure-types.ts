/**
 * Failure `type` strings, free of I/O imports so workflows can list them in retry policies.
 */
export const ModelFailureType = {
  /** Transient: 408, 409, 5xx, Ollama's busy 503, connection reset, timeout. Retried with backoff. */
  unavailable: 'ModelUnavailable',
  /** 429. Retried after the provider's Retry-After when it sends one. */
  rateLimited: 'ModelRateLimited',
  /** 400/401/403/404/422 or context length exceeded: wrong for this provider, so fail over at once. */
  rejected: 'ModelRequestRejected',
  /** The provider is misconfigured here (no API key in the environment): fail over at once. */
  misconfigured: 'ProviderMisconfigured',
  /** The model answered, but not with a valid RiskAssessment. Retried a bounded number of times. */
  invalidOutput: 'InvalidModelOutput',
  /** The provider's circuit is open on this worker: fail fast so the workflow moves to the next provider. */
  circuitOpen: 'ProviderCircuitOpen',
} as const;
export type ModelFailureType = (typeof ModelFailureType)[keyof typeof ModelFailureType];

/** Types that must never be retried on the same provider. */
export const nonRetryableModelFailures: string[] = [
  ModelFailureType.rejected,
  ModelFailureType.misconfigured,
  ModelFailureType.circuitOpen,
];

/** Failures that say the provider is down or overloaded: they count against its circuit breaker. */
export const transientModelFailures: string[] = [ModelFailureType.unavailable, ModelFailureType.rateLimited];
