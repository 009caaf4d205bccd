/**
 * fraudflow's error taxonomy. Model-call errors (the openai SDK's hierarchy and our own output validation) are
 * classified here and turned into Temporal `ApplicationFailure`s, so Temporal owns every retry: the activity
 * retry policies list the non-retryable `type` strings below.
 */
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';

import { ModelFailureType, nonRetryableModelFailures } from './failure-types';

export { ModelFailureType, nonRetryableModelFailures } from './failure-types';

/** Which call failed: provider, model and transaction, carried by every model failure. */
export interface ModelErrorContext {
  provider: string;
  model: string;
  transactionId: string;
}

/** Thrown by scoring activities when a model call gives no usable answer. */
export class ModelCallError extends Error {
  override name = 'ModelCallError';
  constructor(
    message: string,
    readonly type: ModelFailureType,
    readonly context: ModelErrorContext & { status?: number },
    /** Milliseconds the provider asked us to wait (Retry-After), if any. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return !nonRetryableModelFailures.includes(this.type);
  }

  /** The Temporal failure the activity throws: retryability and the provider's requested delay travel with it. */
  toApplicationFailure(): ApplicationFailure {
    return ApplicationFailure.create({
      type: this.type,
      message: this.message,
      nonRetryable: !this.retryable,
      nextRetryDelay: this.retryAfterMs,
      details: [this.context],
    });
  }
}

/** Thrown when the model answers, but its content is not a valid RiskAssessment. */
export class InvalidModelOutputError extends ModelCallError {
  override name = 'InvalidModelOutputError';
  constructor(message: string, context: ModelErrorContext) {
    super(message, ModelFailureType.invalidOutput, context);
  }
}

/** Parses `Retry-After` (seconds or an HTTP date) and `retry-after-ms`; bounded so a bad header cannot stall. */
export function retryAfterMs(headers: Headers | undefined, maxMs = 60_000): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.min(Number(ms), maxMs);
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.min(Number(value) * 1000, maxMs);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - Date.now()), maxMs);
}

/** Maps whatever a model call threw into a {@link ModelCallError}. */
export function classifyModelError(err: unknown, context: ModelErrorContext): ModelCallError {
  if (err instanceof ModelCallError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ModelCallError(`${context.provider} timed out`, ModelFailureType.unavailable, context);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new ModelCallError(
      `${context.provider} connection failed: ${err.message}`,
      ModelFailureType.unavailable,
      context,
    );
  }
  if (err instanceof OpenAI.APIError) {
    const apiError = err as InstanceType<typeof OpenAI.APIError<number | undefined, Headers | undefined>>;
    const status = apiError.status;
    const headers = apiError.headers;
    const ctx = { ...context, status };
    const detail = `${context.provider} answered ${status ?? 'an error'}: ${err.message}`;
    if (status === 429) return new ModelCallError(detail, ModelFailureType.rateLimited, ctx, retryAfterMs(headers));
    if (status === undefined || status === 408 || status === 409 || status >= 500) {
      return new ModelCallError(detail, ModelFailureType.unavailable, ctx, retryAfterMs(headers));
    }
    return new ModelCallError(detail, ModelFailureType.rejected, ctx);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ModelCallError(`${context.provider} failed: ${message}`, ModelFailureType.unavailable, context);
}

/** Thrown by the ingest when a message cannot become a scoring workflow; it goes to the dead-letter topic. */
export class InvalidTransactionEventError extends Error {
  override name = 'InvalidTransactionEventError';
  constructor(
    readonly reason: 'invalid_json' | 'schema_violation' | 'oversized',
    message: string,
  ) {
    super(message);
  }
}

/** Thrown at start-up when a Kafka topic fraudflow reads or writes does not exist; says which and how to create it. */
export class MissingTopicError extends Error {
  override name = 'MissingTopicError';
  constructor(
    readonly topic: string,
    readonly variable: string,
  ) {
    super(
      `Kafka topic '${topic}' (${variable}) does not exist. \`fraudflow stack up\` creates the configured topics on ` +
        `the local broker; elsewhere create it, e.g. kafka-topics.sh --create --topic ${topic} --partitions 6, ` +
        `or point ${variable} at an existing topic.`,
    );
  }
}

/** Thrown when the stack cannot be brought up, or a tool it builds or runs fails; the message names cause and fix. */
export class StackError extends Error {
  override name = 'StackError';
}

/** Thrown by the case desk when no case exists for a transaction (it was not reviewed, or on another deployment). */
export class CaseNotFoundError extends Error {
  override name = 'CaseNotFoundError';
  readonly retryable = false;
  constructor(readonly transactionId: string) {
    super(`no case for transaction ${transactionId}: it was not sent to review, or its case is on another namespace`);
  }
}

/** Thrown when a case refuses a verdict (closed, wrong transaction, unknown verdict); the message says why. */
export class CaseVerdictRefusedError extends Error {
  override name = 'CaseVerdictRefusedError';
  readonly retryable = false;
  constructor(
    message: string,
    readonly transactionId: string,
  ) {
    super(message);
  }
}

/** Thrown when no case worker answers a case query in time (none is polling the cases task queue). */
export class CaseWorkerUnavailableError extends Error {
  override name = 'CaseWorkerUnavailableError';
  readonly retryable = true;
  constructor(readonly taskQueue: string) {
    super(`no case worker answered on task queue ${taskQueue}: start one with \`fraudflow worker cases\``);
  }
}
