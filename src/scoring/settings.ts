/**
 * ScoringSettings: everything a scoring workflow needs to decide, passed as workflow input so a replay runs with
 * exactly the policy, prompt and providers it was started with, and the history shows them.
 */
import { createHash } from 'node:crypto';
import type { Config, ScoringPolicy } from '../config';
import type { TaskQueues } from '../task-queues';
import { taskQueues } from '../task-queues';
import { promptVersion } from './prompt';

export interface ModelCallPolicy {
  /** Per-attempt start-to-close timeout, ms. */
  startToCloseMs: number;
  /** Attempts per provider before the workflow moves on. */
  maxAttempts: number;
}

export interface ScoringSettings {
  policy: ScoringPolicy;
  /** sha256 of the policy, prompt version, local model and hosted chain: equal hashes mean comparable decisions. */
  policyHash: string;
  promptVersion: string;
  taskQueues: TaskQueues;
  decisionsTopic: string;
  local: ModelCallPolicy & { model: string };
  hosted: ModelCallPolicy & { providers: string[] };
}

export function scoringSettingsFromConfig(
  config: Config,
  overrides: Partial<Pick<ScoringSettings, 'taskQueues' | 'decisionsTopic'>> = {},
): ScoringSettings {
  const base = {
    policy: config.policy,
    promptVersion,
    taskQueues: overrides.taskQueues ?? { ...taskQueues },
    decisionsTopic: overrides.decisionsTopic ?? config.kafka.topics.decisions,
    local: {
      model: config.localModel.model,
      startToCloseMs: config.localModel.timeoutMs,
      maxAttempts: config.localModel.maxAttempts,
    },
    hosted: {
      providers: config.hosted.providers.map((p) => p.name),
      startToCloseMs: config.hosted.timeoutMs,
      maxAttempts: config.hosted.maxAttempts,
    },
  };
  return { ...base, policyHash: policyHash(base) };
}

export function policyHash(settings: Omit<ScoringSettings, 'policyHash' | 'taskQueues' | 'decisionsTopic'>): string {
  const material = JSON.stringify({
    policy: settings.policy,
    promptVersion: settings.promptVersion,
    local: settings.local.model,
    hosted: settings.hosted.providers,
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}
