/**
 * ScoringSettings: everything a scoring workflow needs to decide, passed as workflow input so a replay runs with
 * exactly the policy, prompt, providers and retry policies it was started with, and the history shows them.
 */
import { createHash } from 'node:crypto';
import type { Config, ScoringPolicy } from '../config';
import type { TaskQueues } from '../task-queues';
import { taskQueuesFor } from '../task-queues';
import type { LoadedPolicy } from './policy-file';
import { policyWithThresholds } from './policy-file';
import { promptVersion } from './prompt';

/** Timeouts and retries for one model provider, as Temporal activity options. */
export interface ModelCallPolicy {
  /** Per-attempt start-to-close timeout, ms. */
  startToCloseMs: number;
  /** Attempts on this provider before the workflow moves on. */
  maxAttempts: number;
  /** Schedule-to-close: all attempts on this provider, backoff included, ms. */
  scheduleToCloseMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface ScoringSettings {
  policy: ScoringPolicy;
  /**
   * The settings hash: policy, policy file, prompt, models (sha256 of the policy, `policyFileHash`, prompt version,
   * local model and hosted chain): equal hashes mean comparable decisions. Not a policy file's hash.
   */
  policyHash: string;
  /** Hash of the scoring policy file (first pass and calibration) the local workers must score with. */
  policyFileHash: string;
  promptVersion: string;
  taskQueues: TaskQueues;
  decisionsTopic: string;
  local: ModelCallPolicy & { model: string };
  /** The escalation chain, tried in order. */
  hosted: Array<ModelCallPolicy & { provider: string; model: string }>;
  /** The decision SLA, ms from the workflow's start. */
  deadlineMs: number;
  /**
   * Where the deadline runs from: always the workflow's start since 0.3.0; said in the input from 0.4.0 on, so the
   * workflow needs no patch marker to know it. Absent in older inputs.
   */
  deadlineFrom?: 'workflow-start';
  /** Daily hosted budget (USD, 0 = no hosted calls) and what to do once it is spent. */
  budget: { dailyUsd: number; whenExhausted: 'local' | 'review' };
  /**
   * Run the local first pass as a Temporal local activity on the orchestration worker: recorded in history like
   * any activity, but without a task-queue round trip per call. Replay sets it so batch scoring is bounded by the
   * model, not by orchestration. @default false
   */
  localFirstPassAsLocalActivity?: boolean;
  /** When set, every `review` opens a case on `taskQueues.cases` (workflows/work-case.ts); absent: no cases. */
  cases?: CaseSettings;
  /** A challenger scored in shadow after the decision is published: its model, policy and time allowed. */
  shadow?: { model: string; policyFileHash: string; timeoutMs: number };
}

/** How a review's case waits and ends. */
export interface CaseSettings {
  /** How long the case waits for an analyst, ms (CASE_SLA). */
  slaMs: number;
  /** The final decision when nobody resolved it in time (CASE_EXPIRY_ACTION). */
  expiryAction: 'approve' | 'decline';
  /** Where an analyst's verdict goes as a Label. */
  labelsTopic: string;
}

function callPolicy(
  timeoutMs: number,
  maxAttempts: number,
  scheduleToCloseMs: number | undefined,
  initialBackoffMs: number,
  maxBackoffMs: number,
): ModelCallPolicy {
  // By default every attempt may time out, plus the backoff between them.
  let backoff = 0;
  for (let i = 1; i < maxAttempts; i++) backoff += Math.min(initialBackoffMs * 2 ** (i - 1), maxBackoffMs);
  return {
    startToCloseMs: timeoutMs,
    maxAttempts,
    scheduleToCloseMs: scheduleToCloseMs ?? timeoutMs * maxAttempts + backoff + 1000,
    initialBackoffMs,
    maxBackoffMs,
  };
}

export function scoringSettingsFromConfig(
  config: Config,
  overrides: Partial<Pick<ScoringSettings, 'taskQueues' | 'decisionsTopic'>> & { labelsTopic?: string } = {},
): ScoringSettings {
  const { initialBackoffMs, maxBackoffMs } = config.retry;
  const base = {
    policy: config.policy,
    promptVersion,
    taskQueues: overrides.taskQueues ?? taskQueuesFor(config.taskQueuePrefix),
    decisionsTopic: overrides.decisionsTopic ?? config.kafka.topics.decisions,
    local: {
      model: config.localModel.model,
      ...callPolicy(
        config.localModel.timeoutMs,
        config.localModel.maxAttempts,
        config.localModel.scheduleToCloseMs,
        initialBackoffMs,
        maxBackoffMs,
      ),
    },
    policyFileHash: config.scoringPolicy.hash,
    hosted: config.hosted.providers.map((p) => ({
      provider: p.name,
      model: p.model,
      ...callPolicy(
        p.timeoutMs ?? config.hosted.timeoutMs,
        p.maxAttempts ?? config.hosted.maxAttempts,
        p.scheduleToCloseMs,
        p.initialBackoffMs ?? initialBackoffMs,
        p.maxBackoffMs ?? maxBackoffMs,
      ),
    })),
    deadlineMs: config.decisionDeadlineMs,
    deadlineFrom: 'workflow-start' as const,
    budget: config.budget,
    ...(config.cases.enabled
      ? {
          cases: {
            slaMs: config.cases.slaMs,
            expiryAction: config.cases.expiryAction,
            labelsTopic: overrides.labelsTopic ?? config.kafka.topics.labels,
          },
        }
      : {}),
  };
  return { ...base, policyHash: policyHash(base) };
}

export function policyHash(
  settings: Pick<ScoringSettings, 'policy' | 'promptVersion' | 'local' | 'hosted' | 'policyFileHash'>,
): string {
  const material = JSON.stringify({
    policy: settings.policy,
    policyFile: settings.policyFileHash,
    promptVersion: settings.promptVersion,
    local: settings.local.model,
    hosted: settings.hosted.map((h) => h.provider),
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

/**
 * The settings with another local model and the policy fitted for it: what a promoted champion scores with. Its
 * thresholds are the policy file's as fitted (the SCORE_* overrides apply to the configured policy only).
 */
export function settingsWithModel(base: ScoringSettings, model: string, loaded: LoadedPolicy): ScoringSettings {
  const changed = {
    ...base,
    policy: policyWithThresholds(base.policy, loaded.policy),
    local: { ...base.local, model },
    policyFileHash: loaded.hash,
  };
  return { ...changed, policyHash: policyHash(changed) };
}
