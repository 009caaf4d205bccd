/**
 * Scoring activities: thin adapters from a transaction to an OpenAI-compatible chat completion and back to a
 * validated RiskAssessment. Failures leave as typed Temporal failures (src/errors.ts); Temporal retries them.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../src/config';
import { classifyModelError, InvalidModelOutputError, ModelCallError, ModelFailureType } from '../src/errors';
import { transientModelFailures } from '../src/failure-types';
import { logger } from '../src/observability/logger';
import { recordModelCall } from '../src/observability/metrics';
import { modelDigest } from '../src/models/clients';
import type { ModelClients, ModelTarget } from '../src/models/clients';
import type { ModelCall } from '../src/schemas/decision';
import {
  localRiskAssessmentJsonSchema,
  RiskAssessment,
  riskAssessmentJsonSchema,
} from '../src/schemas/risk-assessment';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import { buildScoringMessages } from '../src/scoring/prompt';
import { z } from 'zod';

export interface ModelScore {
  assessment: RiskAssessment;
  call: ModelCall;
}

export interface ScoreRequest {
  event: TransactionEvent;
}

export interface EscalationRequest extends ScoreRequest {
  /** Hosted provider name from config. */
  provider: string;
}

/** Most answers are ~40 tokens; the cap bounds cost and latency when a model rambles. */
const maxAnswerTokens = 200;

function costUsd(target: ModelTarget, inputTokens: number, outputTokens: number): number {
  return (inputTokens * target.inputUsdPerMTok + outputTokens * target.outputUsdPerMTok) / 1_000_000;
}

function circuitOpen(provider: string, detail: string, transactionId: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ModelFailureType.circuitOpen,
    message: `${provider}: circuit open on this worker (${detail}); failing fast`,
    nonRetryable: true,
    details: [{ provider, transactionId }],
  });
}

/** Calls one endpoint whose circuit has already admitted this call, and reports the outcome to the breaker. */
async function scoreWith(
  target: ModelTarget,
  event: TransactionEvent,
  redactedFields: readonly string[],
): Promise<ModelScore> {
  const info = Context.current().info;
  const logContext = {
    transactionId: event.transactionId,
    workflowId: info.workflowExecution?.workflowId,
    provider: target.provider,
    tier: target.tier,
    endpoint: target.endpoint,
    attempt: info.attempt,
  };
  const started = performance.now();
  target.inFlight++;
  try {
    const score = await callModel(target, event, redactedFields);
    target.breaker.onSuccess();
    recordModelCall(score.call);
    return score;
  } catch (err) {
    const type = err instanceof ApplicationFailure ? err.type : undefined;
    if (type && transientModelFailures.includes(type)) target.breaker.onFailure();
    else if (type === ModelFailureType.invalidOutput) target.breaker.onSuccess();
    else target.breaker.onAbandon();
    const outcome = type === ModelFailureType.invalidOutput ? 'invalid_output' : 'error';
    const latencyMs = Math.round(performance.now() - started);
    recordModelCall({ ...logContext, outcome, latencyMs, inputTokens: 0, outputTokens: 0, costUsd: 0 });
    logger.warn({ ...logContext, failure: type, latencyMs }, 'model call failed; Temporal decides the retry');
    throw err;
  } finally {
    target.inFlight--;
  }
}

async function callModel(
  target: ModelTarget,
  event: TransactionEvent,
  redactedFields: readonly string[],
): Promise<ModelScore> {
  const context = { provider: target.provider, model: target.model, transactionId: event.transactionId };
  if (target.misconfigured) {
    throw new ModelCallError(target.misconfigured, ModelFailureType.misconfigured, context).toApplicationFailure();
  }
  const started = performance.now();
  let completion;
  try {
    completion = await target.client.chat.completions.create(
      {
        model: target.model,
        messages: buildScoringMessages(event, target.tier, redactedFields),
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'risk_assessment',
            strict: true,
            schema: target.constrainedScores ? localRiskAssessmentJsonSchema : riskAssessmentJsonSchema,
          },
        },
        temperature: 0,
        max_tokens: maxAnswerTokens,
      },
      { signal: Context.current().cancellationSignal },
    );
  } catch (err) {
    throw classifyModelError(err, context).toApplicationFailure();
  }
  const latencyMs = Math.round(performance.now() - started);
  const content = completion.choices[0]?.message?.content ?? '';
  const assessment = parseAssessment(content, context);
  const inputTokens = completion.usage?.prompt_tokens ?? 0;
  const outputTokens = completion.usage?.completion_tokens ?? 0;
  return {
    assessment,
    call: {
      provider: target.provider,
      model: completion.model || target.model,
      tier: target.tier,
      endpoint: target.endpoint,
      modelDigest: (await modelDigest(target)) ?? completion.system_fingerprint ?? undefined,
      outcome: 'ok',
      latencyMs,
      inputTokens,
      outputTokens,
      costUsd: costUsd(target, inputTokens, outputTokens),
      riskScore: assessment.riskScore,
      confidence: assessment.confidence,
      attempt: Context.current().info.attempt,
    },
  };
}

/** An LLM's answer is untrusted input: parse JSON, then the schema; either failure is InvalidModelOutput. */
function parseAssessment(
  content: string,
  context: { provider: string; model: string; transactionId: string },
): RiskAssessment {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    throw new InvalidModelOutputError(
      `${context.provider} answered non-JSON: ${content.slice(0, 200)}`,
      context,
    ).toApplicationFailure();
  }
  const parsed = RiskAssessment.safeParse(json);
  if (!parsed.success) {
    throw new InvalidModelOutputError(
      `${context.provider} answered JSON that is not a RiskAssessment:\n${z.prettifyError(parsed.error)}`,
      context,
    ).toApplicationFailure();
  }
  return parsed.data;
}

export function createModelScoringActivities(deps: { config: Config; models: ModelClients }) {
  /** First pass on a local model server (full view of the transaction, data stays in the network). */
  const scoreWithLocalModel = (req: ScoreRequest): Promise<ModelScore> => {
    const target = deps.models.local.acquire();
    if (!target) throw circuitOpen('local', 'every local endpoint is open', req.event.transactionId);
    return scoreWith(target, req.event, deps.config.hosted.redactedFields);
  };

  /** Escalation to one hosted provider (redacted view only). The workflow walks the provider chain. */
  const escalateToHostedModel = (req: EscalationRequest): Promise<ModelScore> => {
    const target = deps.models.hosted.get(req.provider);
    if (!target) {
      throw ApplicationFailure.create({
        type: ModelFailureType.misconfigured,
        message: `hosted provider ${req.provider} is not configured on this worker`,
        nonRetryable: true,
      });
    }
    if (!target.breaker.tryAcquire()) {
      throw circuitOpen(req.provider, `retry in ${target.breaker.retryInMs()}ms`, req.event.transactionId);
    }
    return scoreWith(target, req.event, deps.config.hosted.redactedFields);
  };

  return { scoreWithLocalModel, escalateToHostedModel };
}
