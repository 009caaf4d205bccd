/**
 * Scoring activities: thin adapters from a transaction and its card's features to an OpenAI-compatible model and
 * back to a RiskAssessment. The local first pass embeds the transaction and calibrates a probe's log-odds with the
 * features (the policy file says how); escalation asks a hosted model for its own assessment. Failures leave as
 * typed Temporal failures (src/errors.ts); Temporal retries them.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../src/config';
import { classifyModelError, InvalidModelOutputError, ModelCallError, ModelFailureType } from '../src/errors';
import type { ModelErrorContext } from '../src/errors';
import { transientModelFailures } from '../src/failure-types';
import { logger } from '../src/observability/logger';
import { recordModelCall } from '../src/observability/metrics';
import { modelDigest } from '../src/models/clients';
import type { ModelClients, ModelTarget } from '../src/models/clients';
import type { ModelCall } from '../src/schemas/decision';
import type { RiskAssessment } from '../src/schemas/risk-assessment';
import type { TransactionEvent } from '../src/schemas/transaction-event';
import { buildScoringMessages } from '../src/scoring/prompt';
import { generateAssessment } from '../src/models/assessment';
import { calibrate } from '../src/scoring/calibration';
import { logit, predictLogit } from '../src/scoring/logistic';
import type { EmbeddingProbe, LoadedPolicy, ScoringPolicyFile } from '../src/scoring/policy-file';
import { embedFirstPass, embeddedText } from '../src/models/first-pass';
import { resolvePolicy } from '../src/models/assigned-settings';
import type { ModelAssignmentStore } from '../src/models/assignment';
import type { CardFeatures } from '../src/schemas/card-features';

export interface ModelScore {
  assessment: RiskAssessment;
  call: ModelCall;
}

export interface ScoreRequest {
  event: TransactionEvent;
  /** The card's point-in-time history features: in the first pass's input and in the hosted prompt. */
  features: CardFeatures;
  /** Hash of the scoring policy file the workflow was started with: the worker's configured one, or one promoted. */
  policyFileHash?: string;
  /**
   * The same hash under its earlier name: what workflow code before the rename sends (and what workers before it
   * read), so activities scheduled across a rolling deploy keep their policy. Read it through requestedPolicyFile.
   * @deprecated send policyFileHash
   */
  policyHash?: string;
  /** The local model the policy belongs to (a promoted champion's); @default the worker's LOCAL_MODEL_NAME */
  model?: string;
}

export interface EscalationRequest extends ScoreRequest {
  /** Hosted provider name from config. */
  provider: string;
}

/** The policy-file hash a request asks for, under either name. */
export function requestedPolicyFile(req: Pick<ScoreRequest, 'policyFileHash' | 'policyHash'>): string | undefined {
  return req.policyFileHash ?? req.policyHash;
}

function costUsd(target: ModelTarget, inputTokens: number, outputTokens: number): number {
  return (inputTokens * target.inputUsdPerMTok + outputTokens * target.outputUsdPerMTok) / 1_000_000;
}

/** The workflow asked for a policy this worker neither has nor finds in the model store: retrying cannot help. */
export function unknownPolicy(hash: string | undefined): ApplicationFailure {
  return ApplicationFailure.create({
    type: ModelFailureType.misconfigured,
    message: `the workflow asked for scoring policy ${hash}, which this worker neither has nor finds in the model store`,
    nonRetryable: true,
  });
}

export function circuitOpen(provider: string, detail: string, transactionId: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ModelFailureType.circuitOpen,
    message: `${provider}: circuit open on this worker (${detail}); failing fast`,
    nonRetryable: true,
    details: [{ provider, transactionId }],
  });
}

/** Calls one endpoint whose circuit has already admitted this call, and reports the outcome to the breaker. */
export async function scoreWith(
  target: ModelTarget,
  event: TransactionEvent,
  callModel: () => Promise<ModelScore>,
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
    const score = await callModel();
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

/** The local model's raw output for a first pass: log-odds of fraud before calibration, and what it cost. */
interface RawFirstPass {
  logit: number;
  confidence: number;
  reasons: string[];
  inputTokens: number;
  outputTokens: number;
}

/** The local model's raw output for the policy's first pass: log-odds of fraud, before calibration. */
async function rawFirstPass(
  target: ModelTarget,
  req: ScoreRequest,
  policy: ScoringPolicyFile,
  context: ModelErrorContext,
): Promise<RawFirstPass> {
  if (policy.firstPass.kind === 'generated-score') {
    const messages = buildScoringMessages(req.event, 'local', [], req.features);
    const generated = await generateAssessment(target, messages, context, Context.current().cancellationSignal);
    const { riskScore, confidence, reasons } = generated.assessment;
    const { inputTokens, outputTokens } = generated;
    return { logit: logit(riskScore), confidence, reasons, inputTokens, outputTokens };
  }
  return embeddingLogit(target, req, policy.firstPass, context);
}

/** The probe's log-odds over the model's embedding; an unusable embedding is invalid output, retried then escalated. */
async function embeddingLogit(
  target: ModelTarget,
  req: ScoreRequest,
  firstPass: EmbeddingProbe,
  context: ModelErrorContext,
): Promise<RawFirstPass> {
  const { probe } = firstPass;
  let embedded;
  try {
    const text = embeddedText(req.event, req.features, firstPass.answerCue);
    embedded = await embedFirstPass(target.client, target.model, text, Context.current().cancellationSignal);
  } catch (err) {
    throw classifyModelError(err, context).toApplicationFailure();
  }
  const { embedding, inputTokens } = embedded;
  if (embedding.length === 0 || !embedding.every(Number.isFinite)) {
    throw new InvalidModelOutputError(
      `${target.provider} returned an unusable embedding (${embedding.length} values)`,
      context,
    ).toApplicationFailure();
  }
  if (embedding.length !== probe.weights.length) {
    // Another model behind the endpoint than the policy was tuned on: retrying cannot help.
    const message = `${target.model} returned ${embedding.length} dimensions; the scoring policy's probe expects ${probe.weights.length} (tune a policy for this model)`;
    throw new ModelCallError(message, ModelFailureType.misconfigured, context).toApplicationFailure();
  }
  return { logit: predictLogit(probe, embedding), confidence: 1, reasons: [], inputTokens, outputTokens: 0 };
}

const renamed = new WeakMap<ModelTarget, Map<string, ModelTarget>>();

/**
 * The endpoint asked for another model (the one a promoted policy belongs to): the same client, with that model's
 * name and its own digest lookup, kept per endpoint and model.
 */
function withModel(endpoint: ModelTarget, model: string): ModelTarget {
  if (model === endpoint.model) return endpoint;
  let byModel = renamed.get(endpoint);
  if (!byModel) renamed.set(endpoint, (byModel = new Map<string, ModelTarget>()));
  let target = byModel.get(model);
  if (!target) byModel.set(model, (target = { ...endpoint, model, digest: undefined }));
  return target;
}

/** First pass: the local model's raw output, calibrated with the card's features into a fraud probability. */
export async function scoreFirstPass(
  endpoint: ModelTarget,
  req: ScoreRequest,
  policy: LoadedPolicy | undefined,
): Promise<ModelScore> {
  // The endpoint's model unless the workflow names the one its (promoted) policy belongs to.
  const target = req.model ? withModel(endpoint, req.model) : endpoint;
  const context = { provider: target.provider, model: target.model, transactionId: req.event.transactionId };
  if (target.misconfigured) {
    throw new ModelCallError(target.misconfigured, ModelFailureType.misconfigured, context).toApplicationFailure();
  }
  if (!policy) throw unknownPolicy(requestedPolicyFile(req));
  const started = performance.now();
  const raw = await rawFirstPass(target, req, policy.policy, context);
  const calibrated = calibrate(policy.policy.calibration, req.event, req.features, raw.logit);
  const assessment: RiskAssessment = {
    riskScore: calibrated.probability,
    confidence: raw.confidence,
    reasons: [...calibrated.drivers, ...raw.reasons.slice(0, 1)].slice(0, 5),
  };
  return {
    assessment,
    call: {
      provider: target.provider,
      model: target.model,
      tier: target.tier,
      endpoint: target.endpoint,
      modelDigest: await modelDigest(target),
      outcome: 'ok',
      latencyMs: Math.round(performance.now() - started),
      inputTokens: raw.inputTokens,
      outputTokens: raw.outputTokens,
      costUsd: 0,
      riskScore: assessment.riskScore,
      confidence: assessment.confidence,
      rawScore: Math.round(raw.logit * 1e4) / 1e4,
      attempt: Context.current().info.attempt,
    },
  };
}

/** Escalation: the hosted model's own assessment of the redacted transaction and its card's features. */
async function escalate(
  target: ModelTarget,
  req: ScoreRequest,
  redactedFields: readonly string[],
): Promise<ModelScore> {
  const context = { provider: target.provider, model: target.model, transactionId: req.event.transactionId };
  if (target.misconfigured) {
    throw new ModelCallError(target.misconfigured, ModelFailureType.misconfigured, context).toApplicationFailure();
  }
  const started = performance.now();
  const messages = buildScoringMessages(req.event, target.tier, redactedFields, req.features);
  const generated = await generateAssessment(target, messages, context, Context.current().cancellationSignal);
  const { assessment, inputTokens, outputTokens } = generated;
  return {
    assessment,
    call: {
      provider: target.provider,
      model: generated.model,
      tier: target.tier,
      endpoint: target.endpoint,
      modelDigest: await modelDigest(target),
      outcome: 'ok',
      latencyMs: Math.round(performance.now() - started),
      inputTokens,
      outputTokens,
      costUsd: costUsd(target, inputTokens, outputTokens),
      riskScore: assessment.riskScore,
      confidence: assessment.confidence,
      attempt: Context.current().info.attempt,
    },
  };
}

export function createModelScoringActivities(deps: {
  config: Config;
  models: ModelClients;
  /** Where promoted policies are found; without it, only the configured policy scores. */
  assignments?: ModelAssignmentStore;
}) {
  /** First pass on a local model server (full view of the transaction, data stays in the network). */
  const scoreWithLocalModel = async (req: ScoreRequest): Promise<ModelScore> => {
    // A store that cannot be read fails this attempt (retried); a policy that is nowhere fails for good.
    const policy = await resolvePolicy(requestedPolicyFile(req), deps.config.scoringPolicy, deps.assignments);
    const target = deps.models.local.acquire();
    if (!target) throw circuitOpen('local', 'every local endpoint is open', req.event.transactionId);
    return scoreWith(target, req.event, () => scoreFirstPass(target, req, policy));
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
    return scoreWith(target, req.event, () => escalate(target, req, deps.config.hosted.redactedFields));
  };

  return { scoreWithLocalModel, escalateToHostedModel };
}
